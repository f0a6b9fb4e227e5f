/**
 * Descriptive statistics and the seeded percentile bootstrap of a mean:
 * resample the values with replacement `resamples` times, take the mean of
 * each resample, and report the 2.5th and 97.5th percentiles of those means
 * (for the default 95% level). Pure: randomness comes from `makeRng(seed)`.
 */
import { makeRng, nextInt } from "./random.js"

/** A confidence interval `[lo, hi]`. */
export type Interval = readonly [number, number]

/** Options of the bootstrap. */
export interface BootstrapOptions {
  /** The number of resamples. @default 2000 */
  readonly resamples?: number
  /** The confidence level. @default 0.95 */
  readonly level?: number
  /** The seed of the resampling. @default 1 */
  readonly seed?: number
}

/** The default number of bootstrap resamples. */
export const DEFAULT_RESAMPLES = 2000

/** The arithmetic mean (NaN for no values). */
export const mean = (xs: ReadonlyArray<number>): number => {
  if (xs.length === 0) return Number.NaN
  let s = 0
  for (const x of xs) s += x
  return s / xs.length
}

/** The sample standard deviation (n − 1 denominator; 0 for fewer than two values). */
export const stddev = (xs: ReadonlyArray<number>): number => {
  if (xs.length < 2) return 0
  const m = mean(xs)
  let s = 0
  for (const x of xs) s += (x - m) * (x - m)
  return Math.sqrt(s / (xs.length - 1))
}

/** The `q`-quantile (0..1) of sorted values, linear interpolation between order statistics. */
export const quantileSorted = (sorted: ReadonlyArray<number>, q: number): number => {
  if (sorted.length === 0) return Number.NaN
  const pos = (sorted.length - 1) * Math.min(1, Math.max(0, q))
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  const a = sorted[lo]!
  const b = sorted[hi]!
  return a + (b - a) * (pos - lo)
}

/** The percentile interval of `stats` at `level`. */
export const percentileInterval = (stats: Array<number>, level: number): Interval => {
  stats.sort((a, b) => a - b)
  const tail = (1 - level) / 2
  return [quantileSorted(stats, tail), quantileSorted(stats, 1 - tail)]
}

/** The means of `resamples` bootstrap resamples of `xs`. */
export const bootstrapMeans = (xs: ReadonlyArray<number>, options: BootstrapOptions = {}): Array<number> => {
  const n = xs.length
  const b = options.resamples ?? DEFAULT_RESAMPLES
  const rng = makeRng(options.seed ?? 1)
  const out = new Array<number>(b)
  for (let r = 0; r < b; r++) {
    let s = 0
    for (let i = 0; i < n; i++) s += xs[nextInt(rng, n)]!
    out[r] = s / n
  }
  return out
}

/**
 * The percentile bootstrap confidence interval of the mean of `xs` (95% by
 * default). No values: `[NaN, NaN]`; one value: `[x, x]`.
 */
export const bootstrapMeanCi = (xs: ReadonlyArray<number>, options: BootstrapOptions = {}): Interval => {
  if (xs.length === 0) return [Number.NaN, Number.NaN]
  return percentileInterval(bootstrapMeans(xs, options), options.level ?? 0.95)
}

/** Mean, standard deviation and 95% bootstrap CI of scores. */
export interface Summary {
  readonly n: number
  readonly mean: number
  readonly stddev: number
  readonly ci: Interval
}

/** The summary of `xs`: n, mean, stddev and the bootstrap CI of the mean. */
export const summarize = (xs: ReadonlyArray<number>, options: BootstrapOptions = {}): Summary => ({
  n: xs.length,
  mean: mean(xs),
  stddev: stddev(xs),
  ci: bootstrapMeanCi(xs, options)
})
