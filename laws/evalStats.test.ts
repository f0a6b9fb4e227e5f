/**
 * Laws (SPEC §9, issue 19) of the off-policy estimators, the calibration
 * metrics and fits, and Holm's correction: IPS is unbiased on a simulated
 * logged bandit, SNIPS and DR are consistent; PAV is monotone, idempotent and
 * optimal among monotone fits; a perfect forecaster has Brier 0 and a
 * calibrated one a small ECE; Holm's adjusted p-values are ≥ the raw ones,
 * monotone in rank, and Bonferroni for one hypothesis. Every simulation is
 * seeded.
 */
import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import * as fc from "fast-check"
import { pav } from "../src/eval/calibration/isotonic.js"
import { brier, ece } from "../src/eval/calibration/metrics.js"
import { evaluatePolicy } from "../src/eval/ope/estimators.js"
import type { LoggedDecision } from "../src/eval/ope/estimators.js"
import type { TargetPolicy } from "../src/eval/ope/target.js"
import { holm } from "../src/eval/stats/holm.js"
import { makeRng } from "../src/eval/stats/random.js"
import { LAW_CASES, numRuns } from "./settings.js"

const OPTIONS = ["a", "b", "c"] as const

/** A logged bandit: a logging distribution over 3 options, Bernoulli rewards with the given means. */
const simulateLog = (
  logging: ReadonlyArray<number>,
  means: ReadonlyArray<number>,
  n: number,
  seed: number
): ReadonlyArray<LoggedDecision> => {
  const u = makeRng(seed)
  const out: Array<LoggedDecision> = []
  for (let i = 0; i < n; i++) {
    const r = u()
    let arm = 0
    let acc = logging[0]!
    while (r >= acc && arm < logging.length - 1) acc += logging[++arm]!
    out.push({
      runId: `r${i}`,
      option: OPTIONS[arm]!,
      propensity: logging[arm]!,
      policy: "sim",
      reward: u() < means[arm]! ? 1 : 0
    })
  }
  return out
}

/** A distribution over 3 options with every probability ≥ 0.1. */
const distribution = fc.tuple(
  fc.integer({ min: 1, max: 10 }),
  fc.integer({ min: 1, max: 10 }),
  fc.integer({ min: 1, max: 10 })
)
  .map(([x, y, z]) => [x, y, z].map((v) => 0.1 + (0.7 * v) / (x + y + z)))
const means = fc.tuple(
  fc.double({ min: 0, max: 1, noNaN: true }),
  fc.double({ min: 0, max: 1, noNaN: true }),
  fc.double({ min: 0, max: 1, noNaN: true })
)
const target: fc.Arbitrary<TargetPolicy> = fc.oneof(
  fc.constantFrom(...OPTIONS).map((option): TargetPolicy => ({ kind: "fixed", option })),
  fc.constant<TargetPolicy>({ kind: "uniform" })
)
const trueValue = (t: TargetPolicy, mu: ReadonlyArray<number>): number =>
  t.kind === "fixed" ? mu[OPTIONS.indexOf(t.option as typeof OPTIONS[number])]! : (mu[0]! + mu[1]! + mu[2]!) / 3

const estimate = (log: ReadonlyArray<LoggedDecision>, t: TargetPolicy) =>
  Either.getOrThrow(evaluatePolicy(log, t, { options: OPTIONS, resamples: 1 }))

describe("off-policy estimators", () => {
  // 200 replications of 50 decisions per case: a case costs a few milliseconds, so 1/20 of LAW_CASES.
  it("IPS is unbiased: its mean over seeded replications is within tolerance of the true value", () => {
    fc.assert(
      fc.property(distribution, means, target, fc.integer(), (logging, mu, t, seed) => {
        const reps = 200
        let sum = 0
        for (let k = 0; k < reps; k++) sum += estimate(simulateLog(logging, mu, 50, seed + k * 7919), t).ips.estimate
        // Propensities ≥ 0.1 + 0.7/21 ≈ 0.133, so Var(w·r) ≤ E[w²] = Σ π²/μ ≤ 7.5: the mean of 200 × 50 draws has
        // sd ≤ √(7.5/10000) ≈ 0.027, and 0.15 is over 5 sd of the worst case.
        expect(Math.abs(sum / reps - trueValue(t, mu))).toBeLessThan(0.15)
        return true
      }),
      { numRuns: numRuns(LAW_CASES / 20) }
    )
  })

  it("IPS is unbiased on a fixed bandit: the mean of 400 replications is within 0.03 of the truth", () => {
    const logging = [0.5, 0.3, 0.2]
    const mu = [0.2, 0.5, 0.8]
    for (const t of [{ kind: "fixed", option: "c" }, { kind: "uniform" }] as const) {
      let sum = 0
      for (let k = 0; k < 400; k++) sum += estimate(simulateLog(logging, mu, 100, 1000 + k), t).ips.estimate
      expect(Math.abs(sum / 400 - trueValue(t, mu))).toBeLessThan(0.03)
    }
  })

  it("SNIPS and DR are consistent: on 20,000 decisions they are within 0.05 of the true value", () => {
    fc.assert(
      fc.property(distribution, means, target, fc.integer(), (logging, mu, t, seed) => {
        const e = estimate(simulateLog(logging, mu, 20_000, seed), t)
        expect(Math.abs(e.snips.estimate - trueValue(t, mu))).toBeLessThan(0.05)
        expect(Math.abs(e.dr.estimate - trueValue(t, mu))).toBeLessThan(0.05)
        return true
      }),
      // 20,000 decisions per case: 1/50 of LAW_CASES.
      { numRuns: numRuns(LAW_CASES / 50) }
    )
  })

  it("when the target is the logging distribution itself, every estimate's CI contains the logged mean", () => {
    const log = simulateLog([1 / 3, 1 / 3, 1 / 3], [0.1, 0.6, 0.9], 2000, 42)
    const e = Either.getOrThrow(evaluatePolicy(log, { kind: "uniform" }, { options: OPTIONS, resamples: 200 }))
    for (const x of [e.ips, e.snips, e.dr]) {
      expect(x.ci[0]).toBeLessThanOrEqual(e.logged.estimate)
      expect(x.ci[1]).toBeGreaterThanOrEqual(e.logged.estimate)
    }
    expect(e.snips.estimate).toBeCloseTo(e.logged.estimate, 10)
  })
})

/** Weighted squared error of a fit. */
const sse = (fit: ReadonlyArray<number>, ys: ReadonlyArray<number>, ws: ReadonlyArray<number>) =>
  fit.reduce((s, f, i) => s + ws[i]! * (f - ys[i]!) ** 2, 0)

const isMonotone = (xs: ReadonlyArray<number>) => xs.every((x, i) => i === 0 || xs[i - 1]! <= x + 1e-12)

const values = fc.array(fc.double({ min: -100, max: 100, noNaN: true }), { minLength: 0, maxLength: 40 })

describe("PAV", () => {
  it("its output is monotone and as long as its input", () => {
    fc.assert(
      fc.property(values, (ys) => {
        const fit = pav(ys)
        expect(fit.length).toBe(ys.length)
        expect(isMonotone(fit)).toBe(true)
      }),
      { numRuns: numRuns(LAW_CASES) }
    )
  })

  it("is idempotent: PAV(PAV(x)) = PAV(x)", () => {
    fc.assert(
      fc.property(values, (ys) => {
        const once = pav(ys)
        expect(pav(once)).toEqual(once)
      }),
      { numRuns: numRuns(LAW_CASES) }
    )
  })

  /**
   * Brute force on small cases: the optimal monotone fit is constant on blocks of consecutive points, each block
   * at its weighted mean; try every partition into blocks (2^(n−1)), keep the monotone ones, take the least error.
   */
  const bruteForce = (ys: ReadonlyArray<number>, ws: ReadonlyArray<number>): number => {
    const n = ys.length
    let best = Infinity
    for (let mask = 0; mask < 1 << (n - 1); mask++) {
      const fit: Array<number> = []
      let start = 0
      for (let i = 0; i < n; i++) {
        if (i === n - 1 || (mask & (1 << i)) !== 0) {
          let sw = 0
          let sy = 0
          for (let j = start; j <= i; j++) {
            sw += ws[j]!
            sy += ws[j]! * ys[j]!
          }
          for (let j = start; j <= i; j++) fit.push(sy / sw)
          start = i + 1
        }
      }
      if (isMonotone(fit)) best = Math.min(best, sse(fit, ys, ws))
    }
    return best
  }

  it("minimizes the weighted squared error among monotone fits (brute force on ≤ 8 points)", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.double({ min: -10, max: 10, noNaN: true }), fc.double({ min: 0.1, max: 5, noNaN: true })),
          {
            minLength: 1,
            maxLength: 8
          }
        ),
        (pairs) => {
          const ys = pairs.map((p) => p[0])
          const ws = pairs.map((p) => p[1])
          const fit = pav(ys, ws)
          expect(isMonotone(fit)).toBe(true)
          expect(sse(fit, ys, ws)).toBeLessThanOrEqual(bruteForce(ys, ws) + 1e-9)
        }
      ),
      // Up to 128 partitions per case: 1/5 of LAW_CASES.
      { numRuns: numRuns(LAW_CASES / 5) }
    )
  })
})

describe("calibration metrics", () => {
  it("a perfect forecaster has Brier score 0 and ECE 0", () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 1, maxLength: 200 }), (outcomes) => {
        const forecasts = outcomes.map((o) => ({ p: o ? 1 : 0, y: o ? 1 : 0 }))
        expect(brier(forecasts)).toBe(0)
        expect(ece(forecasts)).toBe(0)
      }),
      { numRuns: numRuns(LAW_CASES) }
    )
  })

  it("a perfectly calibrated simulated forecaster has a small ECE (< 0.05 on 20,000 forecasts)", () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 5, max: 20 }), (seed, bins) => {
        const u = makeRng(seed)
        const forecasts = Array.from({ length: 20_000 }, () => {
          const p = u()
          return { p, y: u() < p ? 1 : 0 }
        })
        expect(ece(forecasts, bins)).toBeLessThan(0.05)
      }),
      // 20,000 forecasts per case: 1/50 of LAW_CASES.
      { numRuns: numRuns(LAW_CASES / 50) }
    )
  })
})

describe("Holm", () => {
  const pvalues = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 30 })

  it("adjusted p-values are ≥ the raw ones and ≤ 1", () => {
    fc.assert(
      fc.property(pvalues, (ps) => {
        holm(ps).forEach((q, i) => {
          expect(q).toBeGreaterThanOrEqual(ps[i]!)
          expect(q).toBeLessThanOrEqual(1)
        })
      }),
      { numRuns: numRuns(LAW_CASES) }
    )
  })

  it("adjusted p-values are monotone in the rank of the raw ones", () => {
    fc.assert(
      fc.property(pvalues, (ps) => {
        const adjusted = holm(ps)
        const order = ps.map((_, i) => i).sort((a, b) => ps[a]! - ps[b]! || a - b)
        expect(isMonotone(order.map((i) => adjusted[i]!))).toBe(true)
      }),
      { numRuns: numRuns(LAW_CASES) }
    )
  })

  it("equals Bonferroni for one hypothesis, and Holm's first step is Bonferroni", () => {
    fc.assert(
      fc.property(pvalues, (ps) => {
        expect(holm([ps[0]!])).toEqual([ps[0]!])
        const m = ps.length
        expect(Math.min(...holm(ps))).toBeCloseTo(Math.min(1, m * Math.min(...ps)), 12)
      }),
      { numRuns: numRuns(LAW_CASES) }
    )
  })
})
