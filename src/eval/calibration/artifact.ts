/**
 * Calibrator artifacts: fit an isotonic or Platt calibrator on one split of
 * the forecasts, measure it on the other, and package it as a versioned,
 * content-addressed JSON artifact `{ kind, version, params, id, fit }` that
 * the `calibrate` built-in tool applies at run time. Pure.
 */
import { applyCalibrator, CALIBRATOR_VERSION, calibratorId } from "../../tools/builtin/calibrate.js"
import type { Calibrator } from "../../tools/builtin/calibrate.js"
import { makeRng } from "../stats/random.js"
import { fitIsotonic } from "./isotonic.js"
import { brier, ece } from "./metrics.js"
import type { Forecast } from "./metrics.js"
import { fitPlatt } from "./platt.js"

export { applyCalibrator, Calibrator, calibratorId, calibratorProblem } from "../../tools/builtin/calibrate.js"

/** How to recalibrate. */
export type CalibratorKind = "isotonic" | "platt"

/** Scores of forecasts before and after calibration. */
export interface SplitScores {
  readonly n: number
  readonly brierBefore: number
  readonly brierAfter: number
  readonly eceBefore: number
  readonly eceAfter: number
}

/** A calibrator artifact, as written by `trellis eval calibrate -o`: the calibrator plus how it was fitted. */
export type CalibratorArtifact = Calibrator & {
  readonly id: string
  readonly fit: {
    readonly train: SplitScores
    /** Scores on the held-out split (absent when nothing was held out). */
    readonly test?: SplitScores
    readonly bins: number
    readonly holdout: number
    readonly seed: number
  }
}

/** Options of `fitCalibrator`. */
export interface FitOptions {
  /** Fraction of the forecasts held out to measure the calibrator (0 keeps none). @default 0.3 */
  readonly holdout?: number
  /** Seed of the split. @default 0 */
  readonly seed?: number
  /** ECE bins. @default 10 */
  readonly bins?: number
}

/** Splits forecasts in a seeded random order: the first ⌊holdout·n⌋ are held out (at least one stays to fit). */
export const splitForecasts = (
  forecasts: ReadonlyArray<Forecast>,
  holdout: number,
  seed: number
): { readonly train: ReadonlyArray<Forecast>; readonly test: ReadonlyArray<Forecast> } => {
  const u = makeRng(seed)
  const order = forecasts.map((_, i) => i)
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(u() * (i + 1))
    const t = order[i]!
    order[i] = order[j]!
    order[j] = t
  }
  const held = Math.min(forecasts.length - 1, Math.max(0, Math.floor(holdout * forecasts.length)))
  return {
    test: order.slice(0, held).map((i) => forecasts[i]!),
    train: order.slice(held).map((i) => forecasts[i]!)
  }
}

/** The calibrator of `kind` fitted on `forecasts` (non-empty), with its content address. */
export const fitKind = (
  kind: CalibratorKind,
  forecasts: ReadonlyArray<Forecast>
): Calibrator & { readonly id: string } => {
  const base = kind === "isotonic"
    ? { kind, version: CALIBRATOR_VERSION, params: fitIsotonic(forecasts) } as const
    : { kind, version: CALIBRATOR_VERSION, params: fitPlatt(forecasts) } as const
  // Knot arrays are non-empty because the forecasts are.
  const calibrator = base as Calibrator
  return { ...calibrator, id: calibratorId(calibrator) }
}

const scoresOf = (c: Calibrator, forecasts: ReadonlyArray<Forecast>, bins: number): SplitScores => {
  const after = forecasts.map((f) => ({ p: applyCalibrator(c, f.p), y: f.y }))
  return {
    n: forecasts.length,
    brierBefore: brier(forecasts),
    brierAfter: brier(after),
    eceBefore: ece(forecasts, bins),
    eceAfter: ece(after, bins)
  }
}

/** Fits a calibrator of `kind` on the training split of `forecasts` (non-empty) and scores it on both splits. */
export const fitCalibrator = (
  kind: CalibratorKind,
  forecasts: ReadonlyArray<Forecast>,
  options: FitOptions = {}
): CalibratorArtifact => {
  const holdout = options.holdout ?? 0.3
  const seed = options.seed ?? 0
  const bins = options.bins ?? 10
  const { test, train } = splitForecasts(forecasts, holdout, seed)
  const calibrator = fitKind(kind, train)
  return {
    ...calibrator,
    fit: {
      train: scoresOf(calibrator, train, bins),
      ...(test.length > 0 ? { test: scoresOf(calibrator, test, bins) } : {}),
      bins,
      holdout,
      seed
    }
  }
}
