/**
 * Laws of the evaluation statistics (issue 19 item 8), on simulated data
 * from a seeded generator: the 95% percentile bootstrap CI of a mean covers
 * the true mean about 95% of the time, and the sign-flip permutation test
 * rejects a true null about α of the time. Each law counts its repetitions
 * from `numRuns` (default 1,000 repetitions; a repetition costs a bootstrap
 * of 1,000 resamples), so a deeper soak only narrows the estimate.
 */
import { describe, expect, it } from "vitest"
import { bootstrapMeanCi } from "../src/eval/stats/bootstrap.js"
import { permutationPValue } from "../src/eval/stats/paired.js"
import { makeRng, nextNormal } from "../src/eval/stats/random.js"
import { LAW_CASES, numRuns } from "./settings.js"

describe("bootstrap and permutation laws", () => {
  it("the 95% bootstrap CI covers the true mean of normal data 92–98% of the time", () => {
    const reps = numRuns(LAW_CASES)
    const rng = makeRng(2026)
    const trueMean = 3
    let covered = 0
    for (let r = 0; r < reps; r++) {
      const xs = Array.from({ length: 40 }, () => trueMean + 2 * nextNormal(rng))
      const [lo, hi] = bootstrapMeanCi(xs, { resamples: 1000, seed: r + 1 })
      if (lo <= trueMean && trueMean <= hi) covered++
    }
    const rate = covered / reps
    expect(rate).toBeGreaterThanOrEqual(0.92)
    expect(rate).toBeLessThanOrEqual(0.98)
  })

  it("the permutation test's type-I error under the null is α ± 0.025 (α = 0.05)", () => {
    const reps = numRuns(LAW_CASES)
    const rng = makeRng(19)
    let rejected = 0
    for (let r = 0; r < reps; r++) {
      const diffs = Array.from({ length: 30 }, () => nextNormal(rng))
      if (permutationPValue(diffs, { permutations: 1000, seed: r + 1 }) <= 0.05) rejected++
    }
    const rate = rejected / reps
    expect(rate).toBeGreaterThanOrEqual(0.025)
    expect(rate).toBeLessThanOrEqual(0.075)
  })

  it("the permutation test has power against a real shift", () => {
    const reps = numRuns(200)
    const rng = makeRng(5)
    let rejected = 0
    for (let r = 0; r < reps; r++) {
      const diffs = Array.from({ length: 30 }, () => 0.8 + nextNormal(rng))
      if (permutationPValue(diffs, { permutations: 1000, seed: r + 1 }) <= 0.05) rejected++
    }
    expect(rejected / reps).toBeGreaterThan(0.9)
  })
})
