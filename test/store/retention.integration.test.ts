/**
 * Retention and compaction on each backend: a workspace's policy selects its ended runs by age and count (and
 * status); compacting keeps the record and the last events, drops the rest (counted, bytes measured; a dry run
 * drops nothing); a run that can still continue is refused; a compacted run's replay says so plainly.
 */
import { SqlClient } from "@effect/sql/SqlClient"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer, TestClock } from "effect"
import * as Durable from "../../src/runtime/durable.js"
import { collect } from "../../src/store/gc.js"
import { compactRun, selectRuns } from "../../src/store/retention.js"
import { ToolRegistry } from "../../src/tools/index.js"
import { EventLog, EventSink } from "../../src/trace/events.js"
import { eventRange, seqs, storeBackends } from "../support/store.js"

const DAY = 86_400_000
const NOW = 100 * DAY

const insertRun = (runId: string, workspace: string, status: string, createdAt: number) =>
  Effect.flatMap(SqlClient, (sql) =>
    sql.unsafe(
      `INSERT INTO runs (run_id, workspace, program_hash, program_name, status, inputs, seed, options, created_at,
         updated_at, ended_at, output, state)
       VALUES ($1, $2, 'h', 'main', $3, '{}'::jsonb, NULL, '{}'::jsonb, $4, $4, $4, '{"ok":true}'::jsonb, '{}'::jsonb)`,
      [runId, workspace, status, createdAt]
    ))

for (const backend of storeBackends()) {
  describe(backend.name, () => {
    layer(Layer.merge(backend.layer, ToolRegistry.layerBuiltins), { timeout: "60 seconds" })((it) => {
      it.effect("retention selects, compaction keeps the tail, refuses live runs; replay says compacted", () =>
        Effect.gen(function*() {
          const sink = yield* EventSink
          const log = yield* EventLog
          const runs = [
            ["old-done", "completed", NOW - 40 * DAY],
            ["old-failed", "failed", NOW - 35 * DAY],
            ["new-1", "completed", NOW - 2 * DAY],
            ["new-2", "completed", NOW - DAY],
            ["live", "running", NOW - 50 * DAY],
            ["parked", "waiting", NOW - 50 * DAY]
          ] as const
          for (const [id, status, at] of runs) {
            yield* insertRun(id, "ws-r", status, at)
            yield* sink.append(eventRange(id, 0, 29, status !== "running" && status !== "waiting"))
          }
          yield* insertRun("other-ws", "ws-other", "completed", NOW - 90 * DAY)
          yield* sink.append(eventRange("other-ws", 0, 29, true))

          expect(yield* selectRuns("ws-r", { maxAgeDays: 30 }, NOW)).toEqual(["old-done", "old-failed"])
          expect(yield* selectRuns("ws-r", { keepRuns: 1 }, NOW)).toEqual(["old-done", "old-failed", "new-1"])
          expect(yield* selectRuns("ws-r", { maxAgeDays: 30, statuses: ["failed"] }, NOW)).toEqual(["old-failed"])
          expect(yield* selectRuns("ws-r", {}, NOW)).toEqual([])

          const refused = yield* Effect.flip(compactRun("live", { now: NOW }))
          expect(refused.message).toBe("run live is running: it can still continue, so it is not compacted")
          expect((yield* Effect.flip(compactRun("parked", { now: NOW }))).message).toContain("is waiting")

          const retention = [{ workspace: "ws-r", retention: { maxAgeDays: 30, keepEvents: 5 } }]
          yield* TestClock.setTime(NOW)
          const dry = yield* collect({ dryRun: true, retention })
          expect(dry.runs).toMatchObject({ runs: 2, events: 50 })
          expect(dry.runs.bytes).toBeGreaterThan(0)
          expect(seqs(yield* log.events("old-done"))).toHaveLength(30)
          const done = yield* collect({ retention })
          expect(done.runs).toEqual(dry.runs)
          expect(done.bytes).toBe(dry.cache.bytes + dry.runs.bytes)
          expect(seqs(yield* log.events("old-done"))).toEqual([25, 26, 27, 28, 29])
          expect(seqs(yield* log.events("new-1"))).toHaveLength(30)
          expect(seqs(yield* log.events("other-ws"))).toHaveLength(30)
          // Compacted once: the next pass finds nothing.
          expect((yield* collect({ retention })).runs).toEqual({ runs: 0, events: 0, bytes: 0 })
          const sql = yield* SqlClient
          const noted = yield* sql.unsafe<{ readonly kept_from_seq: number; readonly dropped_events: number }>(
            `SELECT kept_from_seq, dropped_events FROM run_compactions WHERE run_id = 'old-done'`
          )
          expect(noted).toEqual([{ kept_from_seq: 25, dropped_events: 25 }])

          const replay = yield* Effect.flip(Durable.replay({ _tag: "Stored", runId: "old-done" }))
          expect(replay.message).toBe(
            "run old-done was compacted: its events before seq 25 were dropped by retention (its summary, output and last events are kept), so it cannot be replayed"
          )
        }))
    })
  })
}
