/**
 * Platt scaling: the logistic fit P(y = 1 | s) = σ(a·s + b) of outcomes on
 * scores, by Newton's method (iteratively reweighted least squares) on the
 * log-likelihood, with Platt's smoothed targets so that separable data
 * still has a finite fit. Pure.
 */
import { applyPlatt } from "../../tools/builtin/calibrate.js"

export { applyPlatt } from "../../tools/builtin/calibrate.js"

/** A score with its outcome (0 or 1, or a soft label in [0, 1]). */
export interface Scored {
  readonly p: number
  readonly y: number
}

/** Platt's parameters: P(y = 1 | s) = σ(a·s + b). */
export interface PlattParams {
  readonly a: number
  readonly b: number
}

const MAX_ITERATIONS = 100
const TOLERANCE = 1e-10

/**
 * Fits (a, b) by Newton–Raphson on the mean log-loss against Platt's targets (positives (N₊ + 1)/(N₊ + 2),
 * negatives 1/(N₋ + 2)), halving a step that does not lower the loss; stops when the step is below 1e-10 or
 * after 100 iterations. Needs at least one score.
 */
export const fitPlatt = (data: ReadonlyArray<Scored>): PlattParams => {
  let positives = 0
  for (const d of data) positives += d.y
  const negatives = data.length - positives
  const hi = (positives + 1) / (positives + 2)
  const lo = 1 / (negatives + 2)
  const targets = data.map((d) => d.y * hi + (1 - d.y) * lo)
  const loss = (a: number, b: number): number => {
    let s = 0
    data.forEach((d, i) => {
      const z = a * d.p + b
      // log(1 + e^z) − t·z, stable for large |z|.
      s += (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z))) - targets[i]! * z
    })
    return s
  }
  let a = 0
  let b = Math.log((positives + 1) / (negatives + 1))
  let current = loss(a, b)
  for (let it = 0; it < MAX_ITERATIONS; it++) {
    let ga = 0
    let gb = 0
    let haa = 1e-12
    let hab = 0
    let hbb = 1e-12
    data.forEach((d, i) => {
      const q = applyPlatt({ a, b }, d.p)
      const r = q - targets[i]!
      const w = q * (1 - q)
      ga += r * d.p
      gb += r
      haa += w * d.p * d.p
      hab += w * d.p
      hbb += w
    })
    const det = haa * hbb - hab * hab
    if (!(Math.abs(det) > 0)) break
    let da = (hbb * ga - hab * gb) / det
    let db = (haa * gb - hab * ga) / det
    let step = 1
    let next = loss(a - da, b - db)
    while (next > current && step > 1e-8) {
      step /= 2
      next = loss(a - da * step, b - db * step)
    }
    da *= step
    db *= step
    a -= da
    b -= db
    current = next
    if (Math.abs(da) + Math.abs(db) < TOLERANCE) break
  }
  return { a, b }
}
