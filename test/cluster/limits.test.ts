/**
 * Shared limits on the in-memory `RateLimiter` store, on `TestClock`: two
 * `ToolLimiter`s (two replicas) taking from one shared bucket admit no more
 * than one limiter alone would; a quota bucket refuses beyond its capacity
 * and says when to come back; a spent token budget is refused until it
 * refills; Redis URLs parse.
 */
import { describe, expect, it } from "@effect/vitest"
import { Clock, Context, Duration, Effect, Fiber, Layer, Option, Ref, Schema, TestClock } from "effect"
import { layerMemory, redisOptions } from "../../src/cluster/limits.js"
import { ToolLimiter } from "../../src/runtime/policy/limiter.js"
import { SharedLimits } from "../../src/runtime/policy/sharedLimits.js"
import { make } from "../../src/tools/tool.js"

const tool = make({
  name: "rated",
  description: "test",
  input: Schema.Struct({}),
  output: Schema.Null,
  limits: { rate: { perSecond: 10, burst: 3 } },
  handler: () => Effect.succeed(null)
})

describe("shared limits", () => {
  it.scoped("two replicas' tool limiters share one bucket: burst once, then the declared rate in total", () =>
    Effect.gen(function*() {
      const shared = yield* SharedLimits
      const replica = Effect.provideService(
        Effect.map(Layer.build(ToolLimiter.layerShared), (ctx) => Context.get(ctx, ToolLimiter)),
        SharedLimits,
        shared
      )
      const a = yield* replica
      const b = yield* replica
      const admitted = yield* Ref.make<ReadonlyArray<number>>([])
      const stamp = Effect.flatMap(Clock.currentTimeMillis, (t) => Ref.update(admitted, (xs) => [...xs, t]))
      const calls = Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).guard(tool)(stamp))
      const fiber = yield* Effect.fork(Effect.all(calls, { concurrency: "unbounded" }))
      yield* TestClock.adjust(Duration.zero)
      expect((yield* Ref.get(admitted)).length).toBe(3)
      yield* TestClock.adjust(Duration.millis(700))
      yield* Fiber.join(fiber)
      // One limiter alone admits 3 at 0 then one per 100 ms; two replicas together do the same, not twice as many.
      expect([...(yield* Ref.get(admitted))].sort((x, y) => x - y)).toEqual([
        0,
        0,
        0,
        100,
        200,
        300,
        400,
        500,
        600,
        700
      ])
    }).pipe(Effect.provide(layerMemory)))

  it.effect("a quota bucket admits its capacity, then refuses with the wait until the next token", () =>
    Effect.gen(function*() {
      const shared = yield* SharedLimits
      const bucket = { limit: 3, windowMs: 60_000 }
      const takes = yield* Effect.forEach([1, 2, 3, 4], () => shared.tryAcquire("runs:ws", bucket))
      expect(takes.slice(0, 3).every(Option.isNone)).toBe(true)
      expect(takes[3]).toEqual(Option.some(20_000))
      yield* TestClock.adjust(Duration.seconds(20))
      expect(yield* shared.tryAcquire("runs:ws", bucket)).toEqual(Option.none())
      // Another key has a bucket of its own.
      expect(yield* shared.tryAcquire("runs:other", { limit: 1, windowMs: 1000 })).toEqual(Option.none())
    }).pipe(Effect.provide(layerMemory)))

  it.effect("a spent token budget waits until it refills", () =>
    Effect.gen(function*() {
      const shared = yield* SharedLimits
      const bucket = { limit: 600, windowMs: 60_000 }
      expect(yield* shared.waitMs("tpm:ws", bucket)).toBe(0)
      yield* shared.charge("tpm:ws", bucket, 5_000)
      const wait = yield* shared.waitMs("tpm:ws", bucket)
      expect(wait).toBe(100)
      yield* TestClock.adjust(Duration.millis(wait))
      expect(yield* shared.waitMs("tpm:ws", bucket)).toBe(0)
    }).pipe(Effect.provide(layerMemory)))

  it("parses Redis URLs and refuses others", () => {
    expect(redisOptions("redis://127.0.0.1:6380/2")).toEqual(Option.some({ host: "127.0.0.1", port: 6380, db: 2 }))
    expect(redisOptions("redis://:s%40cret@cache")).toEqual(
      Option.some({ host: "cache", port: 6379, db: 0, password: "s@cret" })
    )
    expect(redisOptions("http://127.0.0.1:6379")).toEqual(Option.none())
    expect(redisOptions("redis://h/x")).toEqual(Option.none())
    expect(redisOptions("not a url")).toEqual(Option.none())
  })
})
