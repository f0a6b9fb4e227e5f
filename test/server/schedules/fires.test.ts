/** Cron parsing (croner) and the missed-run plan (pure). */
import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { latestBetween, nextAfter, parse } from "../../../src/server/schedules/cron.js"
import type { CronSpec } from "../../../src/server/schedules/cron.js"
import { MAX_CATCH_UP, planFires } from "../../../src/server/schedules/fires.js"

const MIN = 60_000
const spec = (cron: string, tz = "UTC"): CronSpec => {
  const r = parse(cron, tz)
  if (Either.isLeft(r)) throw new Error(r.left.message)
  return r.right
}

describe("cron expressions", () => {
  it("reads five and six fields and nicknames", () => {
    expect(nextAfter(spec("*/5 * * * *"), 0)).toBe(5 * MIN)
    expect(nextAfter(spec("*/10 * * * * *"), 0)).toBe(10_000)
    expect(nextAfter(spec("@daily"), 0)).toBe(24 * 60 * MIN)
  })

  it("honours the time zone: 02:00 in Paris is 01:00 UTC in winter", () => {
    expect(new Date(nextAfter(spec("0 2 * * *", "Europe/Paris"), Date.UTC(2026, 0, 1))!).toISOString())
      .toBe("2026-01-01T01:00:00.000Z")
  })

  it("refuses bad expressions and zones, naming the field", () => {
    const bad = (cron: string, tz = "UTC") => {
      const r = parse(cron, tz)
      return Either.isLeft(r) ? r.left : undefined
    }
    expect(bad("61 * * * *")).toEqual({ field: "cron", message: expect.stringMatching(/minute: 61/) })
    expect(bad("every day")).toEqual({ field: "cron", message: expect.stringMatching(/^bad cron expression/) })
    expect(bad("")).toEqual({ field: "cron", message: expect.stringMatching(/1-256 characters/) })
    expect(bad("0 0 30 2 *")).toEqual({ field: "cron", message: expect.stringMatching(/never matches/) })
    expect(bad("* * * * *", "Mars/Olympus")).toEqual({ field: "timezone", message: expect.stringMatching(/unknown/) })
  })

  it("lists the latest occurrences in a closed interval, oldest first", () => {
    expect(latestBetween(spec("*/5 * * * *"), 5 * MIN, 20 * MIN, 10)).toEqual([5, 10, 15, 20].map((m) => m * MIN))
    expect(latestBetween(spec("*/5 * * * *"), 5 * MIN, 20 * MIN, 2)).toEqual([15 * MIN, 20 * MIN])
  })
})

describe("the missed-run plan", () => {
  const every5 = spec("*/5 * * * *")
  it("an on-time occurrence fires under every policy", () => {
    for (const policy of ["skip", "run-once", "catch-up"] as const) {
      expect(planFires(every5, 5 * MIN, 5 * MIN + 300, { policy })).toEqual({ fire: [5 * MIN], dropped: 0 })
    }
  })

  it("nothing is due before the stored time", () => {
    expect(planFires(every5, 5 * MIN, 5 * MIN - 1, { policy: "run-once" })).toEqual({ fire: [], dropped: 0 })
  })

  it("after downtime: skip drops, run-once fires the latest, catch-up the latest max", () => {
    const now = 31 * MIN + 30_000
    expect(planFires(every5, 5 * MIN, now, { policy: "skip" })).toEqual({ fire: [], dropped: 2 })
    expect(planFires(every5, 5 * MIN, now, { policy: "run-once" }).fire).toEqual([30 * MIN])
    expect(planFires(every5, 5 * MIN, now, { policy: "catch-up", max: 2 })).toEqual({
      fire: [25 * MIN, 30 * MIN],
      dropped: 2
    })
    expect(planFires(every5, 5 * MIN, now, { policy: "catch-up", max: 50 }).fire).toEqual(
      [5, 10, 15, 20, 25, 30].map((m) => m * MIN)
    )
  })

  it(`catch-up never fires more than ${MAX_CATCH_UP} missed occurrences`, () => {
    // Hourly, half an hour after the last occurrence: all of them were missed (none on time).
    const HOUR = 60 * MIN
    const plan = planFires(spec("0 * * * *"), HOUR, 1000 * HOUR + 30 * MIN, { policy: "catch-up", max: 10_000 })
    expect(plan.fire).toHaveLength(MAX_CATCH_UP)
    expect(plan.fire[0]).toBe(901 * HOUR)
    expect(plan.fire[plan.fire.length - 1]).toBe(1000 * HOUR)
    expect(plan.dropped).toBeGreaterThan(0)
  })
})
