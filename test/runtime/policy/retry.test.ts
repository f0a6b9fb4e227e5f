/**
 * Retry policies: attempt counts, delay bounds per jitter mode, `maxElapsed`,
 * retry-only-listed-kinds, `RateLimited` retry-after, seeded reproducibility.
 */
import { describe, expect, it } from "@effect/vitest"
import { Clock, Duration, Effect, Exit, Fiber, Random, Ref, TestClock } from "effect"
import type { RetryPolicy } from "../../../src/ir/schema.js"
import {
  jitterBounds,
  nominalDelayMs,
  resolveRetry,
  retrying,
  retrySchedule
} from "../../../src/runtime/policy/retry.js"
import { Permanent, RateLimited, Transient } from "../../../src/tools/errors.js"
import type { ToolError } from "../../../src/tools/errors.js"

interface Trace {
  readonly attempts: ReadonlyArray<number>
  readonly startedAt: ReadonlyArray<number>
  readonly retries: ReadonlyArray<{ readonly attempt: number; readonly delayMs: number; readonly kind: string }>
  readonly exit: Exit.Exit<string, ToolError>
}

/** Runs `retrying(policy)` over an attempt that fails with `fail(attempt)` (or succeeds when it returns undefined), driving the TestClock. */
const runRetry = (
  policy: RetryPolicy,
  fail: (attempt: number) => ToolError | undefined,
  attemptMs = 0
): Effect.Effect<Trace> =>
  Effect.gen(function*() {
    const attempts = yield* Ref.make<ReadonlyArray<number>>([])
    const startedAt = yield* Ref.make<ReadonlyArray<number>>([])
    const retries = yield* Ref.make<Trace["retries"]>([])
    const fiber = yield* retrying(policy, (attempt, delayMs, error) =>
      Ref.update(retries, (xs) => [...xs, { attempt, delayMs, kind: error._tag }]))((attempt) =>
        Effect.gen(function*() {
          yield* Ref.update(attempts, (xs) => [...xs, attempt])
          const now = yield* Clock.currentTimeMillis
          yield* Ref.update(startedAt, (xs) => [...xs, now])
          if (attemptMs > 0) {
            yield* Effect.sleep(Duration.millis(attemptMs))
          }
          const error = fail(attempt)
          return error === undefined ? yield* Effect.succeed(`ok@${attempt}`) : yield* Effect.fail(error)
        })
      ).pipe(Effect.fork)
    yield* TestClock.adjust(Duration.hours(24))
    const exit = yield* Fiber.await(fiber)
    return {
      attempts: yield* Ref.get(attempts),
      startedAt: yield* Ref.get(startedAt),
      retries: yield* Ref.get(retries),
      exit
    }
  })

const transient = () => new Transient({ message: "flaky" })
const seeded = (seed: number) => <A, E, R>(eff: Effect.Effect<A, E, R>) => Effect.withRandom(eff, Random.make(seed))

describe("retrying", () => {
  it.effect("makes times + 1 attempts, then fails with the last error", () =>
    Effect.gen(function*() {
      const t = yield* runRetry({ times: 3, backoff: "none" }, transient)
      expect(t.attempts).toEqual([1, 2, 3, 4])
      expect(t.retries.map((r) => r.attempt)).toEqual([1, 2, 3])
      expect(t.exit).toEqual(Exit.fail(transient()))
    }))

  it.effect("stops retrying at the first success and returns its value", () =>
    Effect.gen(function*() {
      const t = yield* runRetry({ times: 5, backoff: "fixed", base: "10ms" }, (n) => (n < 3 ? transient() : undefined))
      expect(t.attempts).toEqual([1, 2, 3])
      expect(t.exit).toEqual(Exit.succeed("ok@3"))
    }))

  it.effect("times: 0 means a single attempt", () =>
    Effect.gen(function*() {
      const t = yield* runRetry({ times: 0 }, transient)
      expect(t.attempts).toEqual([1])
      expect(t.retries).toEqual([])
    }))

  it.effect("does not retry kinds outside `on` (Permanent by default)", () =>
    Effect.gen(function*() {
      const t = yield* runRetry({ times: 3 }, () => new Permanent({ message: "bad args" }))
      expect(t.attempts).toEqual([1])
      expect(Exit.isFailure(t.exit)).toBe(true)
      const listed = yield* runRetry({ times: 2, backoff: "none", on: ["Permanent"] }, () =>
        new Permanent({ message: "x" }))
      expect(listed.attempts).toEqual([1, 2, 3])
      const notListed = yield* runRetry({ times: 2, backoff: "none", on: ["Timeout"] }, transient)
      expect(notListed.attempts).toEqual([1])
    }))

  it.effect("without jitter, waits exactly the exponential curve, capped by max", () =>
    Effect.gen(function*() {
      const t = yield* runRetry({
        times: 5,
        backoff: "exponential",
        base: "100ms",
        factor: 2,
        max: "500ms",
        jitter: "none"
      }, transient)
      expect(t.retries.map((r) => r.delayMs)).toEqual([100, 200, 400, 500, 500])
      expect(t.startedAt).toEqual([0, 100, 300, 700, 1200, 1700])
    }))

  it.effect("fixed backoff waits `base` every time", () =>
    Effect.gen(function*() {
      const t = yield* runRetry({ times: 3, backoff: "fixed", base: "250ms", jitter: "none" }, transient)
      expect(t.retries.map((r) => r.delayMs)).toEqual([250, 250, 250])
    }))

  for (const jitter of ["full", "equal"] as const) {
    it.effect(`${jitter} jitter keeps each delay within its bounds and actually varies`, () =>
      Effect.gen(function*() {
        const policy: RetryPolicy = { times: 8, base: "100ms", factor: 2, max: "2s", jitter }
        const t = yield* runRetry(policy, transient).pipe(seeded(7))
        const p = resolveRetry(policy)
        expect(t.retries).toHaveLength(8)
        t.retries.forEach((r, i) => {
          const [lo, hi] = jitterBounds(jitter, nominalDelayMs(p, i))
          expect(r.delayMs).toBeGreaterThanOrEqual(lo)
          expect(r.delayMs).toBeLessThanOrEqual(hi)
          // the clock really waited that long
          expect(t.startedAt[i + 1]! - t.startedAt[i]!).toBeCloseTo(r.delayMs, 6)
        })
        const ratios = t.retries.map((r, i) => r.delayMs / nominalDelayMs(p, i))
        expect(new Set(ratios).size).toBeGreaterThan(1)
      }))
  }

  it.effect("the same seed gives the same delays; another seed gives others", () =>
    Effect.gen(function*() {
      const policy: RetryPolicy = { times: 6, base: "100ms" }
      const a = yield* runRetry(policy, transient).pipe(seeded(42))
      const b = yield* runRetry(policy, transient).pipe(seeded(42))
      const c = yield* runRetry(policy, transient).pipe(seeded(43))
      expect(a.retries).toEqual(b.retries)
      expect(a.retries).not.toEqual(c.retries)
    }))

  it.effect("maxElapsed stops retries that would start after it", () =>
    Effect.gen(function*() {
      // delays 100, 200, 400 start attempts at 100, 300, 700; the next would start at 1500 > 1000
      const t = yield* runRetry({ times: 100, base: "100ms", jitter: "none", maxElapsed: "1s" }, transient)
      expect(t.startedAt).toEqual([0, 100, 300, 700])
      expect(Exit.isFailure(t.exit)).toBe(true)
    }))

  it.effect("maxElapsed counts the attempts' own time from the first attempt's start", () =>
    Effect.gen(function*() {
      // each attempt takes 300ms: starts at 0, 400, 900 (300 + 100, then 700 + 200); next at 1600 > 1s
      const t = yield* runRetry({ times: 100, base: "100ms", jitter: "none", maxElapsed: "1s" }, transient, 300)
      expect(t.startedAt).toEqual([0, 400, 900])
    }))

  it.effect("RateLimited waits at least its retryAfterMs", () =>
    Effect.gen(function*() {
      const t = yield* runRetry(
        { times: 2, base: "10ms", jitter: "full" },
        () => new RateLimited({ message: "slow down", retryAfterMs: 5_000 })
      )
      expect(t.retries.map((r) => r.delayMs)).toEqual([5_000, 5_000])
      expect(t.startedAt).toEqual([0, 5_000, 10_000])
      expect(t.retries.map((r) => r.kind)).toEqual(["RateLimited", "RateLimited"])
    }))

  it.effect("a retry-after shorter than the backoff does not shorten it", () =>
    Effect.gen(function*() {
      const t = yield* runRetry(
        { times: 1, base: "1s", jitter: "none" },
        () => new RateLimited({ message: "slow down", retryAfterMs: 10 })
      )
      expect(t.retries.map((r) => r.delayMs)).toEqual([1_000])
    }))
})

describe("retrySchedule", () => {
  it.effect("is an ordinary Schedule usable with Effect.retry", () =>
    Effect.gen(function*() {
      const count = yield* Ref.make(0)
      const fiber = yield* Ref.updateAndGet(count, (n) => n + 1).pipe(
        Effect.flatMap((n) => (n < 3 ? Effect.fail(transient()) : Effect.succeed(n))),
        Effect.retry(retrySchedule({ times: 5, base: "100ms", jitter: "none" })),
        Effect.fork
      )
      yield* TestClock.adjust(Duration.millis(299))
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust(Duration.millis(1))
      expect(yield* Fiber.join(fiber)).toBe(3)
    }))
})
