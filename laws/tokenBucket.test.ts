/**
 * Law (SPEC §9): the token bucket admits at most burst + rate·t calls in any
 * window of length t — for any rate, burst and arrival pattern, on the
 * TestClock — and every call is admitted eventually.
 */
import { describe, expect, it } from "@effect/vitest"
import { Clock, Duration, Effect, Fiber, Schema, TestClock } from "effect"
import * as fc from "fast-check"
import { ToolLimiter } from "../src/runtime/policy/limiter.js"
import { make } from "../src/tools/tool.js"
import type { AnyTool } from "../src/tools/tool.js"
import { numRuns } from "./settings.js"

const rated = (perSecond: number, burst: number): AnyTool =>
  make({
    name: "rated",
    description: "a rate-limited no-op",
    input: Schema.Struct({}),
    output: Schema.Null,
    limits: { rate: { perSecond, burst } },
    handler: () => Effect.succeed(null)
  })

/** The largest count of admissions in a window [a_i, a_j] minus what the bound allows there (≤ 0 when the law holds). */
const worstExcess = (admitted: ReadonlyArray<number>, perSecond: number, burst: number): number => {
  const ts = [...admitted].sort((a, b) => a - b)
  let worst = -Infinity
  for (let i = 0; i < ts.length; i++) {
    for (let j = i; j < ts.length; j++) {
      const t = ts[j]! - ts[i]!
      worst = Math.max(worst, j - i + 1 - (burst + (perSecond * t) / 1000))
    }
  }
  return worst
}

const perSecond = fc.oneof(
  fc.integer({ min: 1, max: 50 }),
  fc.double({ min: 0.5, max: 50, noNaN: true, noDefaultInfinity: true })
)
const burst = fc.integer({ min: 1, max: 6 })
/** Arrival times in ms: scattered, or in clumps. */
const arrivals = fc.oneof(
  fc.array(fc.integer({ min: 0, max: 1_500 }), { minLength: 1, maxLength: 24 }),
  fc.array(fc.tuple(fc.integer({ min: 0, max: 1_500 }), fc.integer({ min: 1, max: 8 })), { minLength: 1, maxLength: 4 })
    .map((clumps) => clumps.flatMap(([t, n]) => Array.from({ length: n }, () => t)))
)

describe("token bucket law", () => {
  it.scoped.prop(
    "in any window of length t, admitted ≤ burst + rate·t",
    [perSecond, burst, arrivals],
    ([rate, capacity, times]) =>
      Effect.gen(function*() {
        const limiter = yield* ToolLimiter
        const admitted: Array<number> = []
        const call = limiter.guard(rated(rate, capacity))(
          Effect.map(Clock.currentTimeMillis, (t) => {
            admitted.push(t)
          })
        )
        const sorted = [...times].sort((a, b) => a - b)
        const fibers: Array<Fiber.RuntimeFiber<void>> = []
        let now = 0
        for (const t of sorted) {
          if (t > now) {
            yield* TestClock.adjust(Duration.millis(t - now))
            now = t
          }
          fibers.push(yield* Effect.fork(call))
        }
        const millisPerToken = Math.ceil(1000 / rate)
        yield* TestClock.adjust(Duration.millis(sorted.length * millisPerToken + 1))
        yield* Fiber.joinAll(fibers)
        expect(admitted).toHaveLength(sorted.length)
        expect(worstExcess(admitted, rate, capacity)).toBeLessThanOrEqual(1e-9)
      }).pipe(Effect.provide(ToolLimiter.layer)),
    { fastCheck: { numRuns: numRuns(60) } }
  )

  it("the checker itself catches a bucket that admits too much", () => {
    // 3 admissions at t = 0 with burst 2 break the law
    expect(worstExcess([0, 0, 0], 10, 2)).toBeGreaterThan(0)
    // 2 at once, then one per 100 ms at 10/s holds it exactly
    expect(worstExcess([0, 0, 100, 200, 300], 10, 2)).toBeLessThanOrEqual(0)
  })
})
