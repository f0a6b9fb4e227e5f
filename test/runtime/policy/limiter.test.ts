/**
 * Per-tool limits: a burst is admitted at once and then throttled to the
 * sustained rate; an instrumented tool proves the concurrency cap is never
 * exceeded; tools without limits pass straight through.
 */
import { describe, expect, it } from "@effect/vitest"
import { Clock, Duration, Effect, Fiber, Ref, Schema, TestClock } from "effect"
import { bucketOptions, ToolLimiter } from "../../../src/runtime/policy/limiter.js"
import { make } from "../../../src/tools/tool.js"
import type { AnyTool, ToolLimits } from "../../../src/tools/tool.js"

const toolWith = (name: string, limits: ToolLimits): AnyTool =>
  make({
    name,
    description: "test",
    input: Schema.Struct({}),
    output: Schema.Null,
    limits,
    handler: () => Effect.succeed(null)
  })

describe("ToolLimiter", () => {
  it.scoped("admits the burst at once, then one call per 1/rate", () =>
    Effect.gen(function*() {
      const limiter = yield* ToolLimiter
      const tool = toolWith("rated", { rate: { perSecond: 10, burst: 3 } })
      const admitted = yield* Ref.make<ReadonlyArray<number>>([])
      const call = limiter.guard(tool)(
        Effect.flatMap(Clock.currentTimeMillis, (t) => Ref.update(admitted, (xs) => [...xs, t]))
      )
      const fiber = yield* Effect.fork(Effect.all(Array.from({ length: 10 }, () => call), { concurrency: "unbounded" }))
      yield* TestClock.adjust(Duration.zero)
      expect(yield* Ref.get(admitted)).toEqual([0, 0, 0])
      yield* TestClock.adjust(Duration.millis(99))
      expect((yield* Ref.get(admitted)).length).toBe(3)
      yield* TestClock.adjust(Duration.millis(1))
      expect((yield* Ref.get(admitted)).length).toBe(4)
      yield* TestClock.adjust(Duration.millis(600))
      yield* Fiber.join(fiber)
      expect(yield* Ref.get(admitted)).toEqual([0, 0, 0, 100, 200, 300, 400, 500, 600, 700])
    }).pipe(Effect.provide(ToolLimiter.layer)))

  it.scoped("sustains the declared rate over a long run", () =>
    Effect.gen(function*() {
      const limiter = yield* ToolLimiter
      const tool = toolWith("sustained", { rate: { perSecond: 50, burst: 5 } })
      const count = yield* Ref.make(0)
      const call = limiter.guard(tool)(Ref.update(count, (n) => n + 1))
      // two callers keep the tool saturated (few fibers keep TestClock fast)
      yield* Effect.fork(Effect.all([Effect.forever(call), Effect.forever(call)], { concurrency: "unbounded" }))
      yield* TestClock.adjust(Duration.zero)
      expect(yield* Ref.get(count)).toBe(5)
      yield* TestClock.adjust(Duration.seconds(4))
      // 5 at once, then 50 per second: 5 + 200 after 4s
      expect(yield* Ref.get(count)).toBe(205)
    }).pipe(Effect.provide(ToolLimiter.layer)))

  it.scoped("never runs more calls at once than the concurrency cap", () =>
    Effect.gen(function*() {
      const limiter = yield* ToolLimiter
      const tool = toolWith("capped", { concurrency: 3 })
      const inFlight = yield* Ref.make(0)
      const peak = yield* Ref.make(0)
      const done = yield* Ref.make(0)
      const call = (i: number) =>
        limiter.guard(tool)(
          Effect.gen(function*() {
            const now = yield* Ref.updateAndGet(inFlight, (n) => n + 1)
            yield* Ref.update(peak, (p) => Math.max(p, now))
            yield* Effect.sleep(Duration.millis(10 + (i % 7) * 5))
            yield* Ref.update(inFlight, (n) => n - 1)
            yield* Ref.update(done, (n) => n + 1)
          })
        )
      const fiber = yield* Effect.fork(
        Effect.forEach(Array.from({ length: 40 }, (_, i) => i), call, { concurrency: "unbounded" })
      )
      yield* TestClock.adjust(Duration.zero)
      expect(yield* Ref.get(inFlight)).toBe(3)
      yield* TestClock.adjust(Duration.seconds(5))
      yield* Fiber.join(fiber)
      expect(yield* Ref.get(peak)).toBe(3)
      expect(yield* Ref.get(done)).toBe(40)
    }).pipe(Effect.provide(ToolLimiter.layer)))

  it.scoped("shares one bucket per tool name across guards, separate ones across tools", () =>
    Effect.gen(function*() {
      const limiter = yield* ToolLimiter
      const a = toolWith("a", { rate: { perSecond: 1, burst: 2 } })
      const b = toolWith("b", { rate: { perSecond: 1, burst: 2 } })
      const count = yield* Ref.make(0)
      const bump = Ref.update(count, (n) => n + 1)
      yield* Effect.fork(
        Effect.all([limiter.guard(a)(bump), limiter.guard(a)(bump), limiter.guard(a)(bump)], {
          concurrency: "unbounded"
        })
      )
      yield* Effect.fork(Effect.all([limiter.guard(b)(bump), limiter.guard(b)(bump)], { concurrency: "unbounded" }))
      yield* TestClock.adjust(Duration.zero)
      expect(yield* Ref.get(count)).toBe(4)
    }).pipe(Effect.provide(ToolLimiter.layer)))

  it.effect("passes a tool without limits straight through", () =>
    Effect.gen(function*() {
      const limiter = yield* ToolLimiter
      const eff = Effect.succeed(1)
      expect(limiter.guard(toolWith("free", {}))(eff)).toBe(eff)
      expect(limiter.guard(toolWith("timed", { timeout: "1s" }))(eff)).toBe(eff)
    }).pipe(Effect.provide(ToolLimiter.layer)))

  it("derives the bucket from perSecond and burst", () => {
    expect(bucketOptions({ perSecond: 10, burst: 3 })).toEqual({
      limit: 3,
      interval: "300 millis",
      algorithm: "token-bucket"
    })
    expect(bucketOptions({ perSecond: 0.5, burst: 1 })).toEqual({
      limit: 1,
      interval: "2000 millis",
      algorithm: "token-bucket"
    })
    // 3/s cannot be refilled in whole ms: ⌈333.3⌉ = 334 ms per token, slightly under the rate
    expect(bucketOptions({ perSecond: 3, burst: 2 })).toEqual({
      limit: 2,
      interval: "668 millis",
      algorithm: "token-bucket"
    })
  })
})
