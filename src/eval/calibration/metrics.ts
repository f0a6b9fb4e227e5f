/**
 * Calibration metrics of probabilistic forecasts `p` of binary outcomes `y`:
 * the Brier score, the expected calibration error over equal-width bins and
 * the reliability table behind the reliability diagram. Pure.
 */

/** One forecast: a probability and the outcome (0 or 1; a value in [0, 1] is accepted as a soft label). */
export interface Forecast {
  readonly p: number
  readonly y: number
}

/** One equal-width bin of the reliability table. */
export interface ReliabilityBin {
  /** The bin is [lo, hi) — the last one [lo, 1]. */
  readonly lo: number
  readonly hi: number
  readonly count: number
  /** Mean forecast in the bin (undefined when empty). */
  readonly meanPredicted: number | undefined
  /** Mean outcome in the bin (undefined when empty). */
  readonly observed: number | undefined
}

/** The Brier score: the mean of (p − y)²; 0 for a perfect forecaster, 0.25 for a constant ½. NaN when empty. */
export const brier = (forecasts: ReadonlyArray<Forecast>): number => {
  let s = 0
  for (const f of forecasts) s += (f.p - f.y) * (f.p - f.y)
  return s / forecasts.length
}

/** The bin of `p` among `bins` equal-width bins of [0, 1]: ⌊p·bins⌋, with p = 1 in the last bin. */
export const binOf = (p: number, bins: number): number => Math.min(bins - 1, Math.max(0, Math.floor(p * bins)))

/** The reliability table over `bins` equal-width bins (default 10). */
export const reliability = (forecasts: ReadonlyArray<Forecast>, bins = 10): ReadonlyArray<ReliabilityBin> => {
  const b = Math.max(1, Math.floor(bins))
  const count = new Array<number>(b).fill(0)
  const sumP = new Array<number>(b).fill(0)
  const sumY = new Array<number>(b).fill(0)
  for (const f of forecasts) {
    const i = binOf(f.p, b)
    count[i]! += 1
    sumP[i]! += f.p
    sumY[i]! += f.y
  }
  return count.map((c, i) => ({
    lo: i / b,
    hi: (i + 1) / b,
    count: c,
    meanPredicted: c > 0 ? sumP[i]! / c : undefined,
    observed: c > 0 ? sumY[i]! / c : undefined
  }))
}

/**
 * The expected calibration error over `bins` equal-width bins (default 10): Σ_b (n_b / n)·|mean p_b − mean y_b|,
 * empty bins contributing 0. NaN when there are no forecasts.
 */
export const ece = (forecasts: ReadonlyArray<Forecast>, bins = 10): number => {
  const n = forecasts.length
  let s = 0
  for (const bin of reliability(forecasts, bins)) {
    if (bin.count > 0) s += (bin.count / n) * Math.abs(bin.meanPredicted! - bin.observed!)
  }
  return s / (n > 0 ? 1 : NaN)
}
