/** Timeouts: fail with `Timeout` naming what timed out, interrupt the effect (finalizers run), compose with retries. */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Ref, TestClock } from "effect"
import { retrying } from "../../../src/runtime/policy/retry.js"
import { timeoutMessage, withTimeout } from "../../../src/runtime/policy/timeout.js"
import { Timeout } from "../../../src/tools/errors.js"

describe("withTimeout", () => {
  it.effect("fails with Timeout after the deadline and runs the effect's finalizers", () =>
    Effect.gen(function*() {
      const finalized = yield* Ref.make(false)
      const fiber = yield* Effect.never.pipe(
        Effect.ensuring(Ref.set(finalized, true)),
        withTimeout(250, `tool "search" (node fetch)`),
        Effect.fork
      )
      yield* TestClock.adjust(Duration.millis(249))
      expect(fiber.unsafePoll()).toBeNull()
      expect(yield* Ref.get(finalized)).toBe(false)
      yield* TestClock.adjust(Duration.millis(1))
      const exit = yield* Fiber.await(fiber)
      expect(exit).toEqual(Exit.fail(new Timeout({ message: `tool "search" (node fetch) timed out after 250ms` })))
      expect(yield* Ref.get(finalized)).toBe(true)
    }))

  it.effect("returns the value when the effect finishes in time", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.sleep(Duration.millis(99)).pipe(Effect.as(7), withTimeout(100, "x"), Effect.fork)
      yield* TestClock.adjust(Duration.millis(99))
      expect(yield* Fiber.join(fiber)).toBe(7)
    }))

  it.effect("keeps the effect's own failure", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.fail("boom" as const).pipe(withTimeout(100, "x"), Effect.exit)
      expect(exit).toEqual(Exit.fail("boom"))
    }))

  it("formats durations in the message", () => {
    expect(timeoutMessage("node a", 1500)).toBe("node a timed out after 1.5s")
    expect(timeoutMessage("node a", 5000)).toBe("node a timed out after 5s")
    expect(timeoutMessage("node a", 30)).toBe("node a timed out after 30ms")
  })

  it.effect("per-attempt timeouts are retried; a per-node timeout bounds the whole", () =>
    Effect.gen(function*() {
      const attempts = yield* Ref.make(0)
      const finalizers = yield* Ref.make(0)
      const attempt = (n: number) =>
        Ref.set(attempts, n).pipe(
          Effect.zipRight(n < 3 ? Effect.never : Effect.succeed(`ok@${n}`)),
          Effect.ensuring(Ref.update(finalizers, (k) => k + 1)),
          withTimeout(100, `attempt ${n}`)
        )
      const fiber = yield* retrying({ times: 5, backoff: "fixed", base: "50ms", jitter: "none" }, () => Effect.void)(
        attempt
      ).pipe(
        withTimeout(1_000, "node"),
        Effect.fork
      )
      yield* TestClock.adjust(Duration.millis(300))
      expect(yield* Fiber.join(fiber)).toBe("ok@3")
      expect(yield* Ref.get(finalizers)).toBe(3)

      const node = yield* retrying({ times: 100, backoff: "fixed", base: "50ms", jitter: "none" }, () => Effect.void)(
        () => Effect.never.pipe(withTimeout(100, "attempt"))
      ).pipe(withTimeout(500, "node n"), Effect.fork)
      yield* TestClock.adjust(Duration.millis(500))
      expect(yield* Fiber.await(node)).toEqual(Exit.fail(new Timeout({ message: "node n timed out after 500ms" })))
    }))
})
