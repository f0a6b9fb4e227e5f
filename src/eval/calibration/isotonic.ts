/**
 * Isotonic regression by the pool-adjacent-violators algorithm (PAV), and an
 * isotonic calibrator fitted with it: the non-decreasing fit that minimizes
 * the (weighted) squared error. Pure.
 */
import type { IsotonicParams } from "../../tools/builtin/calibrate.js"
import type { Forecast } from "./metrics.js"

export { applyIsotonic } from "../../tools/builtin/calibrate.js"
export type { IsotonicParams } from "../../tools/builtin/calibrate.js"

/**
 * PAV: the non-decreasing sequence closest to `values` in weighted squared error (weights default to 1; they
 * must be positive). Adjacent violators are pooled into their weighted mean, so the result is monotone, and
 * PAV of a monotone sequence is itself (idempotent).
 */
export const pav = (values: ReadonlyArray<number>, weights?: ReadonlyArray<number>): ReadonlyArray<number> => {
  const mean: Array<number> = []
  const weight: Array<number> = []
  const size: Array<number> = []
  values.forEach((v, i) => {
    let m = v
    let w = weights?.[i] ?? 1
    let s = 1
    while (mean.length > 0 && mean[mean.length - 1]! > m) {
      const pm = mean.pop()!
      const pw = weight.pop()!
      const ps = size.pop()!
      m = (pm * pw + m * w) / (pw + w)
      w = pw + w
      s = ps + s
    }
    mean.push(m)
    weight.push(w)
    size.push(s)
  })
  const out: Array<number> = []
  mean.forEach((m, b) => {
    for (let j = 0; j < size[b]!; j++) out.push(m)
  })
  return out
}

/**
 * Fits the isotonic map from forecasts: sort by `p`, pool equal `p` (their mean outcome, weighted by their
 * count), PAV, then keep each pooled block's lowest and highest `p` as knots (so a block is flat and blocks are
 * joined by straight lines). Needs at least one forecast.
 */
export const fitIsotonic = (forecasts: ReadonlyArray<Forecast>): IsotonicParams => {
  const sorted = [...forecasts].sort((a, b) => a.p - b.p)
  const xs: Array<number> = []
  const ys: Array<number> = []
  const ws: Array<number> = []
  for (const f of sorted) {
    const last = xs.length - 1
    if (last >= 0 && xs[last] === f.p) {
      ys[last] = (ys[last]! * ws[last]! + f.y) / (ws[last]! + 1)
      ws[last]! += 1
    } else {
      xs.push(f.p)
      ys.push(f.y)
      ws.push(1)
    }
  }
  const fitted = pav(ys, ws)
  const x: Array<number> = []
  const y: Array<number> = []
  fitted.forEach((v, i) => {
    const startsBlock = i === 0 || fitted[i - 1] !== v
    const endsBlock = i === fitted.length - 1 || fitted[i + 1] !== v
    if (startsBlock || endsBlock) {
      x.push(xs[i]!)
      y.push(v)
    }
  })
  return { x, y }
}
