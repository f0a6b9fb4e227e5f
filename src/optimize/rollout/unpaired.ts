/**
 * Two-sample (unpaired) comparison of a live metric between two versions:
 * the runs of the current and the candidate version are different requests,
 * so nothing pairs them. The mean difference (candidate − current) gets a
 * percentile bootstrap CI (each group resampled on its own) and a two-sided
 * permutation p-value (group labels shuffled; Monte Carlo with the
 * (count + 1) / (draws + 1) correction, so never 0). Built on the seeded
 * generator and the mean of `eval/stats`. Pure.
 */
import { mean, percentileInterval } from "../../eval/stats/bootstrap.js"
import type { Interval } from "../../eval/stats/bootstrap.js"
import { makeRng, nextInt } from "../../eval/stats/random.js"

/** The comparison of two independent samples. */
export interface UnpairedComparison {
  readonly nA: number
  readonly nB: number
  readonly meanA: number
  readonly meanB: number
  /** mean(B) − mean(A). */
  readonly delta: number
  readonly ci: Interval
  /** Two-sided permutation p-value of "same distribution". */
  readonly pValue: number
}

/** Options of `compareUnpaired`. */
export interface UnpairedOptions {
  /** Confidence level of the CI. @default 0.95 */
  readonly level?: number
  /** Bootstrap resamples and permutations. @default 2000 */
  readonly draws?: number
  /** @default 1 */
  readonly seed?: number
}

/** The two-sided permutation p-value of mean(b) − mean(a) (labels shuffled `draws` times). */
export const permutationPValueUnpaired = (
  a: ReadonlyArray<number>,
  b: ReadonlyArray<number>,
  draws = 2000,
  seed = 1
): number => {
  const nA = a.length
  const nB = b.length
  if (nA === 0 || nB === 0) return 1
  const pooled = Float64Array.from([...a, ...b])
  const total = pooled.reduce((s, x) => s + x, 0)
  const observed = Math.abs(mean(b) - mean(a))
  const eps = 1e-9 * Math.max(1, observed)
  const rng = makeRng(seed)
  let extreme = 0
  for (let r = 0; r < draws; r++) {
    // A partial Fisher–Yates shuffle: the first nB positions are the permuted B group.
    let sumB = 0
    for (let i = 0; i < nB; i++) {
      const j = i + nextInt(rng, pooled.length - i)
      const t = pooled[i]!
      pooled[i] = pooled[j]!
      pooled[j] = t
      sumB += pooled[i]!
    }
    const d = Math.abs(sumB / nB - (total - sumB) / nA)
    if (d >= observed - eps) extreme++
  }
  return (extreme + 1) / (draws + 1)
}

/** The percentile bootstrap CI of mean(b) − mean(a), each group resampled independently. */
export const bootstrapDeltaCi = (
  a: ReadonlyArray<number>,
  b: ReadonlyArray<number>,
  draws = 2000,
  level = 0.95,
  seed = 1
): Interval => {
  if (a.length === 0 || b.length === 0) return [Number.NaN, Number.NaN]
  const rng = makeRng(seed ^ 0x5bd1e995)
  const stats = new Array<number>(draws)
  for (let r = 0; r < draws; r++) {
    let sa = 0
    let sb = 0
    for (let i = 0; i < a.length; i++) sa += a[nextInt(rng, a.length)]!
    for (let i = 0; i < b.length; i++) sb += b[nextInt(rng, b.length)]!
    stats[r] = sb / b.length - sa / a.length
  }
  return percentileInterval(stats, level)
}

/** Compares independent samples `b` (candidate) against `a` (current). */
export const compareUnpaired = (
  a: ReadonlyArray<number>,
  b: ReadonlyArray<number>,
  options: UnpairedOptions = {}
): UnpairedComparison => {
  const draws = options.draws ?? 2000
  const seed = options.seed ?? 1
  const meanA = mean(a)
  const meanB = mean(b)
  return {
    nA: a.length,
    nB: b.length,
    meanA,
    meanB,
    delta: a.length === 0 || b.length === 0 ? 0 : meanB - meanA,
    ci: bootstrapDeltaCi(a, b, draws, options.level ?? 0.95, seed),
    pValue: permutationPValueUnpaired(a, b, draws, seed)
  }
}
