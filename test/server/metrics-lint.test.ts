/**
 * `/metrics` text against the exposition-format rules `promtool check
 * metrics` applies (test/support/promlint.ts): the linter itself catches
 * the old rendering's faults, and the renderer's output — Effect's
 * `effect_fiber_*` runtime metrics included — passes, with counters that
 * never go down between scrapes.
 */
import { Effect, Fiber } from "effect"
import { describe, expect, it } from "vitest"
import { errorsTotal, recordRequest, renderMetrics } from "../../src/server/observability/metrics.js"
import { decreasedCounters, lint } from "../support/promlint.js"

describe("the Prometheus linter", () => {
  it("finds what promtool finds in Effect's raw runtime metrics", () => {
    const raw = [
      "# TYPE effect_fiber_active counter",
      "effect_fiber_active 1",
      "# TYPE effect_fiber_lifetimes histogram",
      "effect_fiber_lifetimes_bucket{time_unit=\"milliseconds\",le=\"0.5\"} 3",
      "effect_fiber_lifetimes_sum{time_unit=\"milliseconds\"} 1",
      "effect_fiber_lifetimes_count{time_unit=\"milliseconds\"} 3",
      ""
    ].join("\n")
    const messages = lint(raw).map((p) => `${p.metric}: ${p.message}`)
    expect(messages).toContain("effect_fiber_active: no HELP text")
    expect(messages).toContain("effect_fiber_active: counter metrics should have \"_total\" suffix")
    expect(messages).toContain("effect_fiber_lifetimes: a unit in a label: put it in the name")
    expect(messages.some((m) => m.includes("+Inf"))).toBe(true)
    const down = decreasedCounters("# TYPE a_total counter\na_total 5\n", "# TYPE a_total counter\na_total 4\n")
    expect(down).toHaveLength(1)
  })
})

describe("renderMetrics", () => {
  it("passes the linter, Effect's fiber metrics included, and its counters never go down", async () => {
    recordRequest({ method: "GET", route: "/healthz", status: 200, workspace: "acme", seconds: 0.002 })
    errorsTotal.unsafeUpdate(1, [])
    // Fibers start and end: effect_fiber_active goes up and down between the scrapes.
    const { first, second } = await Effect.runPromise(Effect.gen(function*() {
      const fibers = yield* Effect.forEach([1, 2, 3, 4], (n) => Effect.fork(Effect.sleep(n)))
      const first = yield* renderMetrics
      yield* Fiber.joinAll(fibers)
      yield* Effect.sleep(5)
      return { first, second: yield* renderMetrics }
    }))
    expect(first).toContain("# TYPE effect_fiber_active gauge")
    expect(second).toMatch(/^effect_fiber_lifetime_seconds_bucket\{le="0\.0005"\} \d+$/m)
    expect(lint(first)).toEqual([])
    expect(lint(second)).toEqual([])
    expect(decreasedCounters(first, second)).toEqual([])
  })
})
