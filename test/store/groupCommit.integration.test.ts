/**
 * Group commit on each backend: the writes of many concurrent runs (records,
 * event batches, endings) share commits, each acknowledged once committed
 * and readable right after; a write that fails (a repeated `(run_id, seq)`,
 * an ending of an unknown run) fails alone, with its own message, while the
 * writes queued with it commit.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Context, Effect, Either, Layer, Option } from "effect"
import * as Durable from "../../src/runtime/durable.js"
import { ResultCache } from "../../src/runtime/policy/cache.js"
import { ToolLimiter } from "../../src/runtime/policy/limiter.js"
import { RunStore } from "../../src/runtime/runStore.js"
import type { RunRecord } from "../../src/runtime/runStore.js"
import { GroupCommit } from "../../src/store/groupCommit.js"
import { ToolRegistry } from "../../src/tools/registry.js"
import { EventLog, EventSink } from "../../src/trace/events.js"
import { compileProgram } from "../support/runtime.js"
import { eventRange, seqs, storeBackends } from "../support/store.js"

const FIVE = `
program main(n: number) {
  a = tool std.echo(value: n)
  b = tool std.echo(value: [n, 1])
  c = tool std.echo(value: [n, 2])
  d = tool std.echo(value: [n, 3])
  j = tool std.echo(value: { a: a, b: b, c: c, d: d })
  return j
}
`

/** The run services besides the store's. */
const others = Layer.mergeAll(ResultCache.layerMemory, ToolLimiter.layer, ToolRegistry.layerBuiltins)

const record = (runId: string): RunRecord => ({
  runId,
  workspace: "w",
  programHash: "p",
  programName: "main",
  status: "running",
  inputs: { n: 1 },
  seed: null,
  options: {},
  createdAt: 1,
  updatedAt: 1,
  endedAt: null,
  state: {}
})

for (const backend of storeBackends()) {
  describe(backend.name, () => {
    layer(backend.layer, { excludeTestServices: true, timeout: "180 seconds" })((it) => {
      it.effect("concurrent runs share commits; each write is readable once acknowledged", () =>
        Effect.gen(function*() {
          const store = yield* RunStore
          const sink = yield* EventSink
          const log = yield* EventLog
          // The writer is in the store layer's output (not in its type).
          const ctx = (yield* Effect.context<never>()) as unknown as Context.Context<GroupCommit>
          const stats = Context.unsafeGet(ctx, GroupCommit).stats
          const before = { ...stats }
          const ids = Array.from({ length: 24 }, (_, i) => `gc-${i}`)
          yield* Effect.forEach(ids, (id) =>
            Effect.gen(function*() {
              yield* store.create(record(id))
              yield* sink.append(eventRange(id, 0, 3))
              yield* sink.append(eventRange(id, 4, 6, true))
              yield* store.finish(id, { status: "completed", endedAt: 5, output: null, state: { ok: true } })
              // No read-back needed by the writer; a reader sees everything acknowledged.
              expect(seqs(yield* log.events(id))).toEqual([0, 1, 2, 3, 4, 5, 6])
              const got = yield* store.get(id)
              expect(Option.map(got, (r) => [r.status, r.output, r.endedAt])).toEqual(
                Option.some(["completed", null, 5])
              )
            }), { concurrency: "unbounded", discard: true })
          const writes = stats.writes - before.writes
          const commits = stats.commits - before.commits
          expect(writes).toBe(24 * 4)
          // Shared: fewer commits than writes.
          expect(commits).toBeLessThan(writes)
        }))

      it.effect("a failing write fails alone, with its message; the writes queued with it commit", () =>
        Effect.gen(function*() {
          const store = yield* RunStore
          const sink = yield* EventSink
          const log = yield* EventLog
          yield* store.create(record("gc-dup"))
          yield* sink.append(eventRange("gc-dup", 0, 1))
          const [dup, fine, unknown, created] = yield* Effect.all([
            Effect.either(sink.append(eventRange("gc-dup", 1, 2))),
            Effect.either(sink.append(eventRange("gc-ok", 0, 2))),
            Effect.either(store.finish("gc-none", { status: "failed", endedAt: 1, state: {} })),
            Effect.either(store.create(record("gc-new")))
          ], { concurrency: "unbounded" })
          expect(Either.isLeft(dup) && dup.left.message).toMatch(/rejected whole, nothing from it stored/)
          expect(Either.isLeft(unknown) && unknown.left.message).toBe("no run gc-none")
          expect(Either.isRight(fine)).toBe(true)
          expect(Either.isRight(created)).toBe(true)
          expect(seqs(yield* log.events("gc-dup"))).toEqual([0, 1])
          expect(seqs(yield* log.events("gc-ok"))).toEqual([0, 1, 2])
          expect(Option.isSome(yield* store.get("gc-new"))).toBe(true)
          const again = yield* Effect.either(store.create(record("gc-new")))
          expect(Either.isLeft(again) && again.left.message).toBe("run gc-new exists")
        }))

      it.effect("a run's last events and its ending: one write, one commit, atomic", () =>
        Effect.gen(function*() {
          const store = yield* RunStore
          const sink = yield* EventSink
          const log = yield* EventLog
          const ctx = (yield* Effect.context<never>()) as unknown as Context.Context<GroupCommit>
          const stats = Context.unsafeGet(ctx, GroupCommit).stats
          expect(sink.appendClosing).toBeDefined()
          const closing = sink.appendClosing!
          yield* store.create(record("gc-close"))
          const before = stats.commits
          yield* closing(eventRange("gc-close", 0, 4, true), {
            runId: "gc-close",
            status: "completed",
            endedAt: 7,
            output: { n: 1 },
            state: { ok: true }
          })
          expect(stats.commits - before).toBe(1)
          expect(seqs(yield* log.events("gc-close"))).toEqual([0, 1, 2, 3, 4])
          const got = yield* store.get("gc-close")
          expect(Option.map(got, (r) => [r.status, r.output, r.endedAt])).toEqual(
            Option.some(["completed", { n: 1 }, 7])
          )

          // A batch the store rejects takes the ending with it: still running, no terminal event.
          yield* store.create(record("gc-torn"))
          yield* sink.append(eventRange("gc-torn", 0, 1))
          const torn = yield* Effect.either(
            closing(eventRange("gc-torn", 1, 3, true), { runId: "gc-torn", status: "completed", endedAt: 9, state: {} })
          )
          expect(Either.isLeft(torn) && torn.left.message).toMatch(/rejected whole, nothing from it stored/)
          expect(seqs(yield* log.events("gc-torn"))).toEqual([0, 1])
          expect(Option.map(yield* store.get("gc-torn"), (r) => r.status)).toEqual(Option.some("running"))
        }))

      it.effect("a durable 5-node run costs 2 commits: its record, then all its events with its ending", () =>
        Effect.gen(function*() {
          const store = yield* RunStore
          const log = yield* EventLog
          const ctx = (yield* Effect.context<never>()) as unknown as Context.Context<GroupCommit>
          const stats = Context.unsafeGet(ctx, GroupCommit).stats
          const program = compileProgram(FIVE)
          // The program is stored once per hash (not through the writer): a first run stores it.
          yield* Durable.start(program, { n: 1 }).pipe(Effect.provide(others))
          const before = stats.commits
          const result = yield* Durable.start(program, { n: 2 }).pipe(Effect.provide(others))
          expect(stats.commits - before).toBe(2)
          expect(result.status).toBe("completed")
          const events = yield* log.events(result.runId)
          expect(events[events.length - 1]!.type).toBe("RunCompleted")
          expect(seqs(events)).toEqual(events.map((_, i) => i))
          expect(Option.map(yield* store.get(result.runId), (r) => r.status)).toEqual(Option.some("completed"))
        }))
    })
  })
}
