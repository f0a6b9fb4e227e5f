/**
 * Law (SPEC §9): for any retry policy, attempts ≤ times + 1; every delay is
 * within its jitter bounds (and at least a RateLimited error's retry-after);
 * the time from the first attempt's start to the last's is ≤ maxElapsed.
 */
import { describe, expect, it } from "@effect/vitest"
import { Clock, Duration, Effect, Fiber, Random, TestClock } from "effect"
import * as fc from "fast-check"
import type { ErrorKind, RetryPolicy } from "../src/ir/schema.js"
import { jitterBounds, nominalDelayMs, resolveRetry, retrying } from "../src/runtime/policy/retry.js"
import { fromKind } from "../src/tools/errors.js"
import type { ToolError } from "../src/tools/errors.js"
import { numRuns } from "./settings.js"

const KINDS: ReadonlyArray<ErrorKind> = [
  "Timeout",
  "RateLimited",
  "Transient",
  "Permanent",
  "Cancelled",
  "BudgetExceeded",
  "Defect"
]
const ms = (n: number) => `${n}ms`

const policy: fc.Arbitrary<RetryPolicy> = fc.record(
  {
    times: fc.integer({ min: 0, max: 8 }),
    backoff: fc.constantFrom("exponential" as const, "fixed" as const, "none" as const),
    base: fc.integer({ min: 0, max: 500 }).map(ms),
    factor: fc.double({ min: 1, max: 3, noNaN: true }),
    max: fc.integer({ min: 0, max: 5_000 }).map(ms),
    jitter: fc.constantFrom("full" as const, "equal" as const, "none" as const),
    maxElapsed: fc.integer({ min: 0, max: 20_000 }).map(ms),
    on: fc.subarray([...KINDS])
  },
  { requiredKeys: [] }
)

/** One failed attempt: how long it runs, and the error it ends with. */
const failure = fc.record({
  durationMs: fc.integer({ min: 0, max: 300 }),
  kind: fc.constantFrom(...KINDS),
  retryAfterMs: fc.option(fc.integer({ min: 0, max: 3_000 }), { nil: undefined })
})

describe("retry schedule law", () => {
  it.effect.prop(
    "attempts ≤ times + 1, delays within jitter bounds, total ≤ maxElapsed",
    [policy, fc.array(failure, { minLength: 1, maxLength: 12 }), fc.integer()],
    ([p, failures, seed]) =>
      Effect.gen(function*() {
        const resolved = resolveRetry(p)
        const errorAt = (attempt: number): ToolError => {
          const f = failures[(attempt - 1) % failures.length]!
          return fromKind(f.kind, `attempt ${attempt}`, f.retryAfterMs)
        }
        const starts: Array<number> = []
        const ends: Array<number> = []
        const delays: Array<{ readonly delayMs: number; readonly error: ToolError }> = []
        const fiber = yield* retrying(p, (_, delayMs, error) => Effect.sync(() => delays.push({ delayMs, error })))(
          (attempt) =>
            Effect.gen(function*() {
              starts.push(yield* Clock.currentTimeMillis)
              yield* Effect.sleep(Duration.millis(failures[(attempt - 1) % failures.length]!.durationMs))
              ends.push(yield* Clock.currentTimeMillis)
              return yield* Effect.fail(errorAt(attempt))
            })
        ).pipe(Effect.withRandom(Random.make(seed)), Effect.fork)
        yield* TestClock.adjust(Duration.days(1))
        yield* Fiber.await(fiber)

        const attempts = starts.length
        expect(attempts).toBeGreaterThanOrEqual(1)
        expect(attempts).toBeLessThanOrEqual(resolved.times + 1)
        expect(delays).toHaveLength(attempts - 1)
        delays.forEach(({ delayMs, error }, i) => {
          expect(resolved.on.has(error._tag)).toBe(true)
          const [lo, hi] = jitterBounds(resolved.jitter, nominalDelayMs(resolved, i))
          // Clock times are floats: a delay read back from the schedule may differ from its nominal value by an ulp
          const after = error._tag === "RateLimited" ? error.retryAfterMs ?? 0 : 0
          expect(delayMs).toBeGreaterThanOrEqual(Math.max(lo, after) - 1e-6)
          expect(delayMs).toBeLessThanOrEqual(Math.max(hi, after) + 1e-6)
          // the next attempt starts exactly `delay` after the failure
          expect(starts[i + 1]! - ends[i]!).toBeCloseTo(delayMs, 6)
        })
        if (resolved.maxElapsedMs !== undefined) {
          expect(starts[attempts - 1]! - starts[0]!).toBeLessThanOrEqual(resolved.maxElapsedMs + 1e-6)
        }
        // it stops only for a reason: times spent, a kind not retried, or maxElapsed reached
        const last = errorAt(attempts)
        const stoppedByKind = !resolved.on.has(last._tag)
        const stoppedByTimes = attempts === resolved.times + 1
        const stoppedByElapsed = resolved.maxElapsedMs !== undefined
        expect(stoppedByKind || stoppedByTimes || stoppedByElapsed).toBe(true)
      }),
    { fastCheck: { numRuns: numRuns(200) } }
  )
})
