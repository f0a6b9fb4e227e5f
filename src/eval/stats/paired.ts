/**
 * Paired comparison of two score vectors over the same examples (B minus
 * A per example): the mean difference with a paired bootstrap CI, a
 * two-sided sign-flip permutation test, an exact two-sided sign test,
 * Cohen's d_z, and the count of wins, losses and ties. Pure and seeded.
 */
import { bootstrapMeanCi, mean, stddev } from "./bootstrap.js"
import type { BootstrapOptions, Interval } from "./bootstrap.js"
import { makeRng } from "./random.js"

/** Wins (B > A), losses (B < A) and ties of paired scores. */
export interface Record3 {
  readonly wins: number
  readonly losses: number
  readonly ties: number
}

/** The differences `b[i] − a[i]`; the arrays must have the same length. */
export const differences = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): Array<number> => {
  if (a.length !== b.length) throw new RangeError(`paired scores of different lengths (${a.length}, ${b.length})`)
  return a.map((x, i) => b[i]! - x)
}

/** Wins, losses and ties of differences (|d| ≤ `tolerance` is a tie). */
export const winsLossesTies = (diffs: ReadonlyArray<number>, tolerance = 1e-12): Record3 => {
  let wins = 0
  let losses = 0
  let ties = 0
  for (const d of diffs) {
    if (d > tolerance) wins++
    else if (d < -tolerance) losses++
    else ties++
  }
  return { wins, losses, ties }
}

/** The paired bootstrap CI of the mean difference (resampling examples, keeping pairs together). */
export const pairedBootstrapCi = (diffs: ReadonlyArray<number>, options: BootstrapOptions = {}): Interval =>
  bootstrapMeanCi(diffs, options)

/** Options of the permutation test. */
export interface PermutationOptions {
  /** Random sign flips. @default 10000 */
  readonly permutations?: number
  /** @default 1 */
  readonly seed?: number
}

/**
 * The two-sided p-value of the paired sign-flip permutation test of "mean
 * difference = 0": under the null each difference's sign is exchangeable,
 * so the observed |mean| is compared with the |mean| of random sign flips.
 * Exact (all 2^n flips) for n ≤ 16; otherwise Monte Carlo with the
 * (count + 1) / (draws + 1) correction, which never reports 0.
 */
export const permutationPValue = (diffs: ReadonlyArray<number>, options: PermutationOptions = {}): number => {
  const n = diffs.length
  if (n === 0) return 1
  const observed = Math.abs(diffs.reduce((s, d) => s + d, 0))
  const eps = 1e-9 * Math.max(1, observed)
  if (n <= 16) {
    let extreme = 0
    const total = 1 << n
    for (let mask = 0; mask < total; mask++) {
      let s = 0
      for (let i = 0; i < n; i++) s += (mask & (1 << i)) !== 0 ? -diffs[i]! : diffs[i]!
      if (Math.abs(s) >= observed - eps) extreme++
    }
    return extreme / total
  }
  const draws = options.permutations ?? 10_000
  const rng = makeRng(options.seed ?? 1)
  let extreme = 0
  for (let r = 0; r < draws; r++) {
    let s = 0
    for (let i = 0; i < n; i++) s += rng() < 0.5 ? -diffs[i]! : diffs[i]!
    if (Math.abs(s) >= observed - eps) extreme++
  }
  return (extreme + 1) / (draws + 1)
}

/** log C(n, k). */
const logChoose = (n: number, k: number): number => {
  let s = 0
  for (let i = 1; i <= k; i++) s += Math.log(n - k + i) - Math.log(i)
  return s
}

/** The exact two-sided sign test p-value (ties dropped): P(|W − n/2| ≥ observed) for W ~ Binomial(n, 1/2). */
export const signTestPValue = (record: Record3): number => {
  const n = record.wins + record.losses
  if (n === 0) return 1
  const k = Math.min(record.wins, record.losses)
  let tail = 0
  for (let i = 0; i <= k; i++) tail += Math.exp(logChoose(n, i) - n * Math.LN2)
  return Math.min(1, 2 * tail)
}

/** Cohen's d_z: the mean difference over the standard deviation of the differences (0 when both are 0). */
export const cohensDz = (diffs: ReadonlyArray<number>): number => {
  const m = mean(diffs)
  const s = stddev(diffs)
  if (s === 0) return m === 0 ? 0 : m > 0 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY
  return m / s
}

/** The full paired comparison of B against A. */
export interface PairedComparison extends Record3 {
  readonly n: number
  readonly meanA: number
  readonly meanB: number
  /** mean(B − A). */
  readonly delta: number
  readonly ci: Interval
  /** Two-sided permutation p-value. */
  readonly pValue: number
  /** Two-sided sign test p-value. */
  readonly signPValue: number
  readonly effectSize: number
}

/** Compares paired scores `b` against `a` (same examples, same order). */
export const comparePaired = (
  a: ReadonlyArray<number>,
  b: ReadonlyArray<number>,
  options: BootstrapOptions & PermutationOptions = {}
): PairedComparison => {
  const diffs = differences(a, b)
  const record = winsLossesTies(diffs)
  return {
    n: diffs.length,
    meanA: mean(a),
    meanB: mean(b),
    delta: diffs.length === 0 ? 0 : mean(diffs),
    ci: pairedBootstrapCi(diffs, options),
    pValue: permutationPValue(diffs, options),
    signPValue: signTestPValue(record),
    effectSize: diffs.length === 0 ? 0 : cohensDz(diffs),
    ...record
  }
}
