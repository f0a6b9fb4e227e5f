/**
 * History records on each backend: a batch becomes records cut at 1,000 events; reads of "after seq N, at most
 * L" across record boundaries give exactly the slice; a stream with a small read batch crosses records; a
 * record sharing a seq with a stored one is refused whole (also when many inserts of one run race, on
 * PostgreSQL: exactly one wins); compaction re-stores the record it cuts; and the data migration `pack-history`
 * moves events stored one row each (by a build before records) into records — dry run, a migration stopped after
 * its first batch (every run still reads whole meanwhile), resumed, verified. A store migrated by the build before
 * history records (its events in `run_events`, one row each) reads whole once migrated, takes appends, and packs.
 */
import * as Migrator from "@effect/sql/Migrator"
import { SqlClient } from "@effect/sql/SqlClient"
import { describe, expect, layer } from "@effect/vitest"
import { Chunk, Effect, Exit, Layer, Stream } from "effect"
import { migrateData } from "../../src/store/dataMigrations.js"
import { storedEvents } from "../../src/store/events.js"
import { insertRecords, pack } from "../../src/store/history.js"
import * as Store from "../../src/store/layer.js"
import { migrations, MIGRATIONS_TABLE } from "../../src/store/migrations.js"
import { packHistory } from "../../src/store/packHistory.js"
import { compactRun } from "../../src/store/retention.js"
import { ToolRegistry } from "../../src/tools/index.js"
import { EventLog, EventSink } from "../../src/trace/events.js"
import type { RunEvent } from "../../src/trace/events.js"
import { testBackends } from "../support/db.js"
import { eventRange, json, seqs, storeBackends } from "../support/store.js"

const records = (runId: string) =>
  Effect.flatMap(SqlClient, (sql) =>
    sql.unsafe<{ readonly first_seq: number; readonly last_seq: number }>(
      `SELECT first_seq, last_seq FROM run_history WHERE run_id = $1 ORDER BY first_seq`,
      [runId]
    )).pipe(Effect.map((rows) => rows.map((r) => [Number(r.first_seq), Number(r.last_seq)])))

const insertRun = (runId: string) =>
  Effect.flatMap(SqlClient, (sql) =>
    sql.unsafe(
      `INSERT INTO runs (run_id, workspace, program_hash, program_name, status, inputs, seed, options, created_at,
         updated_at, ended_at, output, state)
       VALUES ($1, 'ws', 'h', 'main', 'completed', '{}'::jsonb, NULL, '{}'::jsonb, 1, 1, 1, 'null'::jsonb, '{}'::jsonb)`,
      [runId]
    ))

/** Events stored as a build before history records stored them: one row each. */
const insertLegacy = (events: ReadonlyArray<RunEvent>) =>
  Effect.flatMap(SqlClient, (sql) =>
    sql.unsafe(
      `INSERT INTO run_event_rows (run_id, seq, at, type, node, attempt, body)
       SELECT e->>'runId', (e->>'seq')::int, (e->>'at')::float8::bigint, e->>'type', e->>'node', (e->>'attempt')::int, e
       FROM jsonb_array_elements($1::jsonb) AS e`,
      [JSON.stringify(events)]
    ))

const count = (table: string) =>
  Effect.flatMap(SqlClient, (sql) => sql.unsafe<{ readonly n: number | string }>(`SELECT count(*) AS n FROM ${table}`))
    .pipe(Effect.map((r) => Number(r[0]!.n)))

for (const backend of storeBackends({ events: { readBatch: 300 } })) {
  describe(backend.name, () => {
    layer(Layer.merge(backend.layer, ToolRegistry.layerBuiltins), { timeout: "120 seconds" })((it) => {
      it.effect("a batch is cut into records of 1,000; reads across record boundaries are exact slices", () =>
        Effect.gen(function*() {
          const sink = yield* EventSink
          const log = yield* EventLog
          const all = eventRange("big", 0, 2_508, true)
          yield* sink.append(all.slice(0, 2_500))
          yield* sink.append(all.slice(2_500, 2_507))
          yield* sink.append(all.slice(2_507))
          expect(yield* records("big")).toEqual([[0, 999], [1_000, 1_999], [2_000, 2_499], [2_500, 2_506], [
            2_507,
            2_508
          ]])
          expect(json(yield* log.events("big"))).toEqual(json(all))
          for (
            const [after, limit] of [[-1, 5], [998, 3], [999, 1_000], [1_500, 1_200], [2_498, 4], [2_506, 10], [
              2_508,
              10
            ], [0, 1]] as const
          ) {
            const got = yield* storedEvents("big", after, limit)
            expect(seqs(got)).toEqual(seqs(all.filter((e) => e.seq > after).slice(0, limit)))
          }
          // The stream reads 300 at a time (this layer's readBatch), crossing every record.
          const streamed = Chunk.toReadonlyArray(yield* Stream.runCollect(log.stream("big")))
          expect(json(streamed)).toEqual(json(all))
          // The view shows one row per event.
          const sql = yield* SqlClient
          const view = yield* sql.unsafe<{ readonly n: number | string; readonly s: number | string }>(
            `SELECT count(*) AS n, sum(seq) AS s FROM run_events WHERE run_id = 'big'`
          )
          expect([Number(view[0]!.n), Number(view[0]!.s)]).toEqual([2_509, (2_508 * 2_509) / 2])
        }))

      it.effect("a record sharing a seq with a stored record is refused whole; racing inserts: one wins", () =>
        Effect.gen(function*() {
          const sink = yield* EventSink
          const log = yield* EventLog
          yield* sink.append(eventRange("ov", 0, 9))
          const error = yield* Effect.flip(sink.append(eventRange("ov", 5, 12)))
          expect(error.message).toContain("(Key (run_id, seq)=(ov, 5) already exists.)")
          // Inside a stored record, and straddling its end.
          expect((yield* Effect.flip(sink.append(eventRange("ov", 3, 4)))).message).toContain("=(ov, 3)")
          expect((yield* Effect.flip(sink.append(eventRange("ov", 9, 9)))).message).toContain("=(ov, 9)")
          yield* sink.append(eventRange("ov", 10, 12))
          expect(seqs(yield* log.events("ov"))).toEqual(eventRange("ov", 0, 12).map((e) => e.seq))
          // Many transactions inserting records of one run at once (separate connections on PostgreSQL):
          // each seq is stored once whoever wins.
          for (let round = 0; round < 5; round++) {
            const runId = `race-${round}`
            const tries = Array.from(
              { length: 6 },
              (_, i) =>
                Effect.exit(insertRecords(pack(eventRange(runId, i % 2, 3 + (i % 3))))).pipe(Effect.map(Exit.isSuccess))
            )
            const won = (yield* Effect.all(tries, { concurrency: "unbounded" })).filter(Boolean).length
            // Every range holds seqs 1..3: exactly one insert can be stored.
            expect(won).toBe(1)
            const stored = seqs(yield* log.events(runId))
            expect(new Set(stored).size).toBe(stored.length)
            const ranges = yield* records(runId)
            for (let i = 1; i < ranges.length; i++) expect(ranges[i]![0]!).toBeGreaterThan(ranges[i - 1]![1]!)
          }
        }))

      it.effect("compaction keeps the tail, storing again the record it cuts (legacy rows dropped too)", () =>
        Effect.gen(function*() {
          const sink = yield* EventSink
          const log = yield* EventLog
          yield* insertRun("cut")
          const all = eventRange("cut", 0, 1_599, true)
          yield* insertLegacy(all.slice(0, 100))
          yield* sink.append(all.slice(100))
          const sql = yield* SqlClient
          const legacyBytes = Number(
            (yield* sql.unsafe<{ readonly b: number | string }>(
              `SELECT sum(octet_length(body::text)) AS b FROM run_event_rows WHERE run_id = 'cut'`
            ))[0]!.b
          )
          const report = yield* compactRun("cut", { keepEvents: 250, now: 5 })
          expect(report.events).toBe(1_350)
          // Bytes of JSON: the records' events as stored, and the legacy rows' text.
          expect(report.bytes).toBe(
            legacyBytes + all.slice(100, 1_350).reduce((n, e) => n + JSON.stringify(e).length, 0)
          )
          expect(yield* records("cut")).toEqual([[1_350, 1_599]])
          expect(json(yield* log.events("cut"))).toEqual(json(all.slice(1_350)))
          expect(yield* count("run_event_rows WHERE run_id = 'cut'")).toBe(0)
        }))

      it.effect("pack-history: dry run, stopped after a batch (runs read whole meanwhile), resumed, verified", () =>
        Effect.gen(function*() {
          const sink = yield* EventSink
          const log = yield* EventLog
          const runs = ["a-0", "a-1", "a-2", "a-3", "a-4"]
          const before = new Map<string, Array<RunEvent>>()
          for (const runId of runs) {
            yield* insertRun(runId)
            const all = eventRange(runId, 0, 1_059, true)
            // 1,050 events from an earlier build (one row each), then 10 appended by this one.
            yield* insertLegacy(all.slice(0, 1_050))
            yield* sink.append(all.slice(1_050))
            before.set(runId, all)
            expect(json(yield* log.events(runId))).toEqual(json(all))
          }
          const dry = yield* migrateData(packHistory, { dryRun: true })
          expect(dry).toMatchObject({ dryRun: true, runs: 5, events: 5 * 1_050, verified: 0 })
          expect(dry.bytesBefore).toBe(dry.bytesAfter)
          expect(yield* count("run_event_rows")).toBe(5 * 1_050)

          const stopped = yield* Effect.exit(
            migrateData(packHistory, { batch: 2, onBatch: () => Effect.die(new Error("stopped")) })
          )
          expect(Exit.isFailure(stopped)).toBe(true)
          expect(yield* count("run_event_rows")).toBe(3 * 1_050)
          expect(yield* records("a-0")).toEqual([[0, 999], [1_000, 1_049], [1_050, 1_059]])
          // Half done: every run reads whole, moved or not; the view shows each event once.
          for (const runId of runs) expect(json(yield* log.events(runId))).toEqual(json(before.get(runId)!))
          expect(yield* count("run_events WHERE run_id LIKE 'a-%'")).toBe(5 * 1_060)

          const done = yield* migrateData(packHistory, { batch: 2 })
          expect(done).toMatchObject({ resumed: true, runs: 5, events: 5 * 1_050, verified: 5 })
          expect(yield* count("run_event_rows")).toBe(0)
          for (const runId of runs) {
            expect(json(yield* log.events(runId))).toEqual(json(before.get(runId)!))
            expect(yield* records(runId)).toEqual([[0, 999], [1_000, 1_049], [1_050, 1_059]])
          }
          // Run again: only verifies.
          expect(yield* migrateData(packHistory)).toMatchObject({ runs: 5, verified: 5, resumed: false })
        }))
    })
  })
}

for (const backend of testBackends()) {
  describe(`${backend.name}: a store of the build before history records`, () => {
    layer(Layer.merge(backend.layer, ToolRegistry.layerBuiltins), { timeout: "120 seconds" })((it) => {
      it.effect("migrates: its events read whole, new ones go to records, pack-history moves the old ones", () =>
        Effect.gen(function*() {
          // The schema as the previous build left it (migrations up to 0017), with a run and its events.
          const before = Object.fromEntries(Object.entries(migrations).filter(([id]) => Number(id.split("_")[0]) < 18))
          yield* Migrator.make({})({ loader: Migrator.fromRecord(before), table: MIGRATIONS_TABLE })
          yield* insertRun("old")
          const all = eventRange("old", 0, 1_239, true)
          const sql = yield* SqlClient
          yield* sql.unsafe(
            `INSERT INTO run_events (run_id, seq, at, type, node, attempt, body)
             SELECT e->>'runId', (e->>'seq')::int, (e->>'at')::float8::bigint, e->>'type', e->>'node',
               (e->>'attempt')::int, e
             FROM jsonb_array_elements($1::jsonb) AS e`,
            [JSON.stringify(all.slice(0, 1_230))]
          )
          yield* Effect.gen(function*() {
            const sink = yield* EventSink
            const log = yield* EventLog
            expect(json(yield* log.events("old"))).toEqual(json(all.slice(0, 1_230)))
            // A stored seq is still refused, across the two tables.
            expect((yield* Effect.flip(sink.append(eventRange("old", 1_229, 1_231)))).message).toContain(
              "(Key (run_id, seq)=(old, 1229) already exists.)"
            )
            yield* sink.append(all.slice(1_230))
            expect(json(yield* log.events("old"))).toEqual(json(all))
            expect(yield* count("run_event_rows")).toBe(1_230)
            expect(yield* migrateData(packHistory)).toMatchObject({ runs: 1, events: 1_230, verified: 1 })
            expect(yield* count("run_event_rows")).toBe(0)
            expect(yield* records("old")).toEqual([[0, 999], [1_000, 1_229], [1_230, 1_239]])
            expect(json(yield* log.events("old"))).toEqual(json(all))
          }).pipe(Effect.provide(Store.layer))
        }))
    })
  })
}
