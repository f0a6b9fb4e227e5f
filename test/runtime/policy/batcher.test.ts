/**
 * Async batching: flush by size and by time, one output per caller in
 * order, errors to every caller of the batch, nothing dropped when the
 * scope closes, backpressure when the queue is full, cancellation.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Exit, Fiber, Ref, Schema, Scope, TestClock } from "effect"
import { makeBatcher } from "../../../src/runtime/policy/batcher.js"
import { Cancelled, Transient } from "../../../src/tools/errors.js"
import type { ToolError } from "../../../src/tools/errors.js"
import { make, makeContext } from "../../../src/tools/tool.js"

const ctx = makeContext()

/** A doubling tool that records each batch it serves (and can be held or made to fail). */
const doubler = (
  batches: Ref.Ref<ReadonlyArray<ReadonlyArray<number>>>,
  options: {
    readonly hold?: Deferred.Deferred<void>
    readonly fail?: ToolError
    readonly onInterrupt?: Ref.Ref<number>
  } = {}
) =>
  make({
    name: "double",
    description: "doubles numbers in batches",
    input: Schema.Number,
    output: Schema.Number,
    batch: { size: 3, window: "100ms" },
    handler: (n: number) => Effect.succeed(n * 2),
    batchHandler: (ns: ReadonlyArray<number>) =>
      Effect.gen(function*() {
        yield* Ref.update(batches, (bs) => [...bs, ns])
        if (options.hold !== undefined) {
          const counter = options.onInterrupt
          yield* Deferred.await(options.hold).pipe(
            Effect.onInterrupt(() => (counter === undefined ? Effect.void : Ref.update(counter, (k) => k + 1)))
          )
        }
        if (options.fail !== undefined) return yield* Effect.fail(options.fail)
        return ns.map((n) => n * 2)
      })
  })

describe("makeBatcher", () => {
  it.scoped("flushes a full batch at once, without waiting for the window", () =>
    Effect.gen(function*() {
      const batches = yield* Ref.make<ReadonlyArray<ReadonlyArray<number>>>([])
      const tool = doubler(batches)
      const call = yield* makeBatcher(tool, tool.batch!)
      const fiber = yield* Effect.fork(Effect.forEach([1, 2, 3], (n) => call(n, ctx), { concurrency: "unbounded" }))
      yield* TestClock.adjust(Duration.zero)
      const out = yield* Fiber.join(fiber)
      expect(out).toEqual([2, 4, 6])
      expect(yield* Ref.get(batches)).toEqual([[1, 2, 3]])
    }))

  it.scoped("flushes a partial batch when the window has passed", () =>
    Effect.gen(function*() {
      const batches = yield* Ref.make<ReadonlyArray<ReadonlyArray<number>>>([])
      const tool = doubler(batches)
      const call = yield* makeBatcher(tool, tool.batch!)
      const fiber = yield* Effect.fork(Effect.forEach([5, 6], (n) => call(n, ctx), { concurrency: "unbounded" }))
      yield* TestClock.adjust(Duration.millis(50))
      expect(fiber.unsafePoll()).toBeNull()
      expect(yield* Ref.get(batches)).toEqual([])
      yield* TestClock.adjust(Duration.millis(50))
      expect(yield* Fiber.join(fiber)).toEqual([10, 12])
      expect(yield* Ref.get(batches)).toEqual([[5, 6]])
    }))

  it.scoped("splits many concurrent calls into batches of at most `size`, every caller getting its own output", () =>
    Effect.gen(function*() {
      const batches = yield* Ref.make<ReadonlyArray<ReadonlyArray<number>>>([])
      const tool = doubler(batches)
      const call = yield* makeBatcher(tool, tool.batch!)
      const inputs = Array.from({ length: 10 }, (_, i) => i)
      const fiber = yield* Effect.fork(Effect.forEach(inputs, (n) => call(n, ctx), { concurrency: "unbounded" }))
      yield* TestClock.adjust(Duration.millis(100))
      expect(yield* Fiber.join(fiber)).toEqual(inputs.map((n) => n * 2))
      const served = yield* Ref.get(batches)
      expect(served.every((b) => b.length <= 3)).toBe(true)
      expect(served.flat().sort((a, b) => a - b)).toEqual(inputs)
    }))

  it.scoped("gives a batch's failure to each of its callers", () =>
    Effect.gen(function*() {
      const batches = yield* Ref.make<ReadonlyArray<ReadonlyArray<number>>>([])
      const tool = doubler(batches, { fail: new Transient({ message: "upstream 503" }) })
      const call = yield* makeBatcher(tool, tool.batch!)
      const fiber = yield* Effect.fork(
        Effect.forEach([1, 2, 3], (n) => Effect.exit(call(n, ctx)), { concurrency: "unbounded" })
      )
      yield* TestClock.adjust(Duration.zero)
      const exits = yield* Fiber.join(fiber)
      expect(exits).toEqual([1, 2, 3].map(() => Exit.fail(new Transient({ message: "upstream 503" }))))
    }))

  it.effect("drops nothing when its scope closes: queued calls are still served", () =>
    Effect.gen(function*() {
      const batches = yield* Ref.make<ReadonlyArray<ReadonlyArray<number>>>([])
      const tool = doubler(batches)
      const scope = yield* Scope.make()
      const call = yield* Scope.extend(makeBatcher(tool, tool.batch!), scope)
      const fiber = yield* Effect.fork(
        Effect.forEach([1, 2, 3, 4, 5], (n) => call(n, ctx), { concurrency: "unbounded" })
      )
      yield* TestClock.adjust(Duration.millis(1))
      // the first 3 went as a full batch; 4 and 5 wait for the window, but the scope closes now
      yield* Scope.close(scope, Exit.void)
      expect(yield* Fiber.join(fiber)).toEqual([2, 4, 6, 8, 10])
      expect((yield* Ref.get(batches)).flat()).toEqual([1, 2, 3, 4, 5])
      // calls after close are refused, not lost silently
      expect(yield* Effect.exit(call(9, ctx))).toEqual(
        Exit.fail(new Cancelled({ message: `batcher of tool "double" is closed` }))
      )
    }))

  it.scoped("holds callers back when the queue is full (backpressure)", () =>
    Effect.gen(function*() {
      const batches = yield* Ref.make<ReadonlyArray<ReadonlyArray<number>>>([])
      const hold = yield* Deferred.make<void>()
      const tool = doubler(batches, { hold })
      const call = yield* makeBatcher(tool, { size: 1, window: "10ms" }, { capacity: 2, concurrency: 1 })
      // closing the scope waits for queued calls: release the handler first, even when an assertion fails
      yield* Effect.addFinalizer(() => Deferred.succeed(hold, undefined))
      const total = 50
      const fiber = yield* Effect.fork(
        Effect.forEach(Array.from({ length: total }, (_, i) => i), (n) => call(n, ctx), { concurrency: "unbounded" })
      )
      yield* TestClock.adjust(Duration.millis(100))
      // one batch is being served (held); the rest wait, most of them in `offer`, not in memory
      expect((yield* Ref.get(batches)).length).toBe(1)
      const backlog = yield* call.backlog
      expect(backlog).toBeGreaterThan(0)
      expect(backlog).toBeLessThanOrEqual(8)
      yield* Deferred.succeed(hold, undefined)
      yield* TestClock.adjust(Duration.seconds(5))
      expect(yield* Fiber.join(fiber)).toEqual(Array.from({ length: total }, (_, i) => i * 2))
      expect(yield* call.backlog).toBe(0)
    }))

  it.scoped("interrupts a batch (and aborts its signal) when all its callers are interrupted", () =>
    Effect.gen(function*() {
      const batches = yield* Ref.make<ReadonlyArray<ReadonlyArray<number>>>([])
      const hold = yield* Deferred.make<void>()
      const interrupted = yield* Ref.make(0)
      const tool = doubler(batches, { hold, onInterrupt: interrupted })
      const call = yield* makeBatcher(tool, tool.batch!)
      yield* Effect.addFinalizer(() => Deferred.succeed(hold, undefined))
      const fiber = yield* Effect.fork(Effect.forEach([1, 2, 3], (n) => call(n, ctx), { concurrency: "unbounded" }))
      yield* TestClock.adjust(Duration.zero)
      expect((yield* Ref.get(batches)).length).toBe(1)
      yield* Fiber.interrupt(fiber)
      yield* TestClock.adjust(Duration.zero)
      expect(yield* Ref.get(interrupted)).toBe(1)
    }))
})
