/**
 * The SQL event log on each backend: batches stored in order and
 * round-tripped exactly; a batch that repeats a stored (run_id, seq) is
 * rejected whole; `live` carries every append of this process; `stream`
 * replays then follows a run — contiguous, in order, no duplicates — with
 * concurrent appends, a reader starting mid-run, batches committed out of
 * order, and a run appended by another instance (another process) that
 * only polling can see.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Chunk, Deferred, Effect, Fiber, Stream } from "effect"
import * as Events from "../../src/store/events.js"
import * as GroupCommit from "../../src/store/groupCommit.js"
import { StoreError } from "../../src/trace/errors.js"
import { EventLog, EventSink } from "../../src/trace/events.js"
import { event, eventRange, json, nodeStarted, runCompleted, seqs, storeBackends } from "../support/store.js"

const collect = (log: EventLog["Type"], runId: string) =>
  Effect.map(Stream.runCollect(log.stream(runId)), Chunk.toReadonlyArray)

const range = (from: number, to: number): Array<number> => Array.from({ length: to - from + 1 }, (_, i) => from + i)

for (const backend of storeBackends({ events: { pollInterval: "25 millis" } })) {
  describe(backend.name, () => {
    layer(backend.layer, { excludeTestServices: true, timeout: "60 seconds" })((it) => {
      it.effect("stores a batch and reads it back in seq order, exactly", () =>
        Effect.gen(function*() {
          const sink = yield* EventSink
          const log = yield* EventLog
          const batch = [
            event({
              runId: "rt",
              seq: 0,
              at: 1,
              type: "RunStarted",
              data: { programHash: "p", inputsHash: "i", seed: null, mode: "live", inputs: { q: "héllo ☃ 𝄞" } }
            }),
            event({
              runId: "rt",
              seq: 1,
              at: 2,
              type: "NodeReady",
              node: "n1/0/n2",
              data: { kind: "tool", label: "fetch" }
            }),
            event({
              runId: "rt",
              seq: 2,
              at: 3,
              type: "ToolReturned",
              node: "n1/0/n2",
              attempt: 2,
              data: {
                tool: "std.echo",
                outputHash: "o",
                latencyMs: 1.5,
                cost: 0,
                source: "tool",
                output: [null, { a: [1, "x"] }]
              }
            }),
            event({ runId: "rt", seq: 3, at: 4, type: "RunCompleted", data: { outputHash: "h", output: null } })
          ]
          yield* sink.append(batch.slice(0, 2))
          yield* sink.append(batch.slice(2))
          yield* sink.append([])
          expect(json(yield* log.events("rt"))).toEqual(json(batch))
          expect(yield* log.events("nobody")).toEqual([])
        }))

      it.effect("rejects a batch that repeats a stored (run_id, seq) whole", () =>
        Effect.gen(function*() {
          const sink = yield* EventSink
          const log = yield* EventLog
          yield* sink.append(eventRange("dup", 0, 2))
          const error = yield* Effect.flip(
            sink.append([nodeStarted("dup", 3), nodeStarted("dup", 4), nodeStarted("dup", 2)])
          )
          expect(error).toBeInstanceOf(StoreError)
          expect(error.operation).toBe("append events")
          expect(error.message).toBe(
            "the batch of 3 event(s) of run dup (seq 2..4) was rejected whole, nothing from it stored: an event with the same (run_id, seq) is already stored or repeated in the batch — duplicate key value violates unique constraint \"run_history_seq\" (Key (run_id, seq)=(dup, 2) already exists.)"
          )
          expect(seqs(yield* log.events("dup"))).toEqual([0, 1, 2])
        }))

      it.effect("rejects a batch repeating a seq within itself, storing none of it", () =>
        Effect.gen(function*() {
          const sink = yield* EventSink
          const log = yield* EventLog
          const error = yield* Effect.flip(
            sink.append([nodeStarted("twice", 0), nodeStarted("twice", 1), nodeStarted("twice", 1)])
          )
          expect(error.message).toContain("was rejected whole, nothing from it stored")
          expect(yield* log.events("twice")).toEqual([])
        }))

      it.effect("live carries every event appended in this process", () =>
        Effect.scoped(Effect.gen(function*() {
          const sink = yield* EventSink
          const log = yield* EventLog
          const ready = yield* Deferred.make<void>()
          const reader = yield* log.live.pipe(
            Stream.onStart(Deferred.succeed(ready, undefined)),
            Stream.take(5),
            Stream.runCollect,
            Effect.fork
          )
          yield* Deferred.await(ready)
          yield* sink.append(eventRange("live-a", 0, 2))
          yield* sink.append(eventRange("live-b", 0, 1))
          const got = Chunk.toReadonlyArray(yield* Fiber.join(reader))
          expect(got.map((e) => `${e.runId}:${e.seq}`)).toEqual([
            "live-a:0",
            "live-a:1",
            "live-a:2",
            "live-b:0",
            "live-b:1"
          ])
        })))

      it.effect("stream of an ended run gives its events and ends", () =>
        Effect.gen(function*() {
          const sink = yield* EventSink
          const log = yield* EventLog
          yield* sink.append(eventRange("ended", 0, 6, true))
          expect(seqs(yield* collect(log, "ended"))).toEqual(range(0, 6))
        }))

      it.effect("stream follows concurrent appends of several runs, readers starting at any point", () =>
        Effect.gen(function*() {
          const sink = yield* EventSink
          const log = yield* EventLog
          const runs = ["c1", "c2", "c3"]
          const last = 120
          // Each run appends its own batches in order (as the runtime does); the runs race each other.
          const writer = (runId: string, midway: Deferred.Deferred<void>) =>
            Effect.gen(function*() {
              let seq = 0
              let size = 1
              while (seq <= last) {
                const to = Math.min(last, seq + size - 1)
                yield* sink.append(eventRange(runId, seq, to, to === last))
                if (seq <= 40 && to >= 40) yield* Deferred.succeed(midway, undefined)
                seq = to + 1
                size = (size % 7) + 1
                yield* Effect.yieldNow()
              }
            })
          yield* sink.append(eventRange("c1", 0, 3))
          const early = yield* Effect.fork(Effect.all(runs.map((r) => collect(log, r)), { concurrency: "unbounded" }))
          const midways = yield* Effect.all(runs.map(() => Deferred.make<void>()))
          const writers = yield* Effect.fork(
            Effect.all(runs.map((r, i) => writer(r, midways[i]!).pipe(Effect.when(() => r !== "c1"))), {
              concurrency: "unbounded"
            })
          )
          const c1 = yield* Effect.fork(
            Effect.gen(function*() {
              let seq = 4
              while (seq <= last) {
                const to = Math.min(last, seq + 4)
                yield* sink.append(eventRange("c1", seq, to, to === last))
                if (seq <= 40 && to >= 40) yield* Deferred.succeed(midways[0]!, undefined)
                seq = to + 1
              }
            })
          )
          yield* Deferred.await(midways[1]!)
          const late = yield* Effect.fork(collect(log, "c2"))
          yield* Fiber.join(writers)
          yield* Fiber.join(c1)
          const all = yield* Fiber.join(early)
          for (const got of all) expect(seqs(got)).toEqual(range(0, last))
          expect(all.map((got) => new Set(got.map((e) => e.runId)).size)).toEqual([1, 1, 1])
          expect(seqs(yield* Fiber.join(late))).toEqual(range(0, last))
        }).pipe(Effect.timeout("30 seconds")))

      it.effect("stream waits out a gap: batches committed out of order come out in order", () =>
        Effect.gen(function*() {
          const sink = yield* EventSink
          const log = yield* EventLog
          yield* sink.append(eventRange("gap", 0, 1))
          const first = yield* Deferred.make<void>()
          const reader = yield* log.stream("gap").pipe(
            Stream.tap(() => Deferred.succeed(first, undefined)),
            Stream.runCollect,
            Effect.fork
          )
          yield* Deferred.await(first)
          yield* sink.append(eventRange("gap", 5, 9, true))
          yield* sink.append(eventRange("gap", 2, 4))
          expect(seqs(Chunk.toReadonlyArray(yield* Fiber.join(reader)))).toEqual(range(0, 9))
        }).pipe(Effect.timeout("10 seconds")))

      it.effect("stream of a run appended by another instance (another process) is seen through polling", () =>
        Effect.scoped(
          Effect.gen(function*() {
            const log = yield* EventLog
            // A second event store over the same database, with its own PubSub: this log never hears of its appends.
            const other = yield* Events.make().pipe(
              Effect.provideServiceEffect(GroupCommit.GroupCommit, GroupCommit.make())
            )
            yield* other.sink.append(eventRange("remote", 0, 2))
            const first = yield* Deferred.make<void>()
            const reader = yield* log.stream("remote").pipe(
              Stream.tap(() => Deferred.succeed(first, undefined)),
              Stream.runCollect,
              Effect.fork
            )
            yield* Deferred.await(first)
            for (let seq = 3; seq <= 30; seq += 4) {
              yield* other.sink.append(eventRange("remote", seq, seq + 3, seq + 3 === 30))
            }
            const got = Chunk.toReadonlyArray(yield* Fiber.join(reader))
            expect(seqs(got)).toEqual(range(0, 30))
            expect(json(got)).toEqual(json(yield* other.log.events("remote")))
            expect(got[30]!.type).toBe("RunCompleted")
          }).pipe(Effect.timeout("10 seconds"))
        ))

      it.effect("a local stream takes this process's appends from memory and still polls for another's", () =>
        Effect.scoped(
          Effect.gen(function*() {
            const sink = yield* EventSink
            const log = yield* EventLog
            const other = yield* Events.make().pipe(
              Effect.provideServiceEffect(GroupCommit.GroupCommit, GroupCommit.make())
            )
            const first = yield* Deferred.make<void>()
            const reader = yield* log.stream("local-moved", { local: true }).pipe(
              Stream.tap(() => Deferred.succeed(first, undefined)),
              Stream.runCollect,
              Effect.fork
            )
            // Appended here: from memory. Then the run "moves": the rest is appended by another instance.
            yield* sink.append(eventRange("local-moved", 0, 2))
            yield* Deferred.await(first)
            yield* other.sink.append(eventRange("local-moved", 3, 6, true))
            const got = Chunk.toReadonlyArray(yield* Fiber.join(reader))
            expect(seqs(got)).toEqual(range(0, 6))
            expect(got[6]!.type).toBe("RunCompleted")
          }).pipe(Effect.timeout("20 seconds"))
        ))

      it.effect("a run's terminal event ends the stream even when more events follow it", () =>
        Effect.gen(function*() {
          const sink = yield* EventSink
          const log = yield* EventLog
          yield* sink.append([
            ...eventRange("after-end", 0, 2),
            runCompleted("after-end", 3),
            nodeStarted("after-end", 4)
          ])
          expect(seqs(yield* collect(log, "after-end"))).toEqual([0, 1, 2, 3])
        }))
    })
  })
}
