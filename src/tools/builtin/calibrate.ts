/**
 * `calibrate(calibrator, score)`: applies a fitted calibrator artifact (from
 * `trellis eval calibrate`) to a score at run time — isotonic knots
 * (linear interpolation, clamped) or Platt's sigmoid σ(a·score + b). The
 * artifact is content-addressed: when it carries an `id`, the tool checks
 * it against the hash of `{ kind, version, params }` and refuses a
 * calibrator that was edited. Pure and idempotent.
 */
import { Effect, Schema } from "effect"
import { canonicalJson } from "../../ir/canonical.js"
import { sha256Hex } from "../../ir/hash.js"
import { Permanent } from "../errors.js"
import { make } from "../tool.js"

/** Isotonic knots: `x` increasing, `y` non-decreasing, as many of each (at least one). */
export interface IsotonicParams {
  readonly x: ReadonlyArray<number>
  readonly y: ReadonlyArray<number>
}

/** The calibrator format version this build writes and reads. */
export const CALIBRATOR_VERSION = 1

/** A calibrator artifact: kind, format version, parameters; `id` is its content address when present. */
export const Calibrator = Schema.Union(
  Schema.Struct({
    kind: Schema.Literal("isotonic"),
    version: Schema.Literal(CALIBRATOR_VERSION),
    params: Schema.Struct({
      x: Schema.NonEmptyArray(Schema.Finite),
      y: Schema.NonEmptyArray(Schema.Finite)
    }),
    id: Schema.optional(Schema.String),
    /** How it was fitted (written by the CLI; not used to apply it). */
    fit: Schema.optional(Schema.Unknown)
  }),
  Schema.Struct({
    kind: Schema.Literal("platt"),
    version: Schema.Literal(CALIBRATOR_VERSION),
    params: Schema.Struct({ a: Schema.Finite, b: Schema.Finite }),
    id: Schema.optional(Schema.String),
    fit: Schema.optional(Schema.Unknown)
  })
).annotations({ identifier: "Calibrator" })
export type Calibrator = typeof Calibrator.Type

/** The content address of a calibrator: `sha256:` + the SHA-256 of the canonical JSON of `{ kind, version, params }`. */
export const calibratorId = (c: Pick<Calibrator, "kind" | "version" | "params">): string =>
  `sha256:${sha256Hex(canonicalJson({ kind: c.kind, version: c.version, params: c.params }))}`

/** Applies isotonic knots to a score: linear interpolation between knots, the end values outside them. */
export const applyIsotonic = (params: IsotonicParams, score: number): number => {
  const { x, y } = params
  const last = x.length - 1
  if (score <= x[0]!) return y[0]!
  if (score >= x[last]!) return y[last]!
  let lo = 0
  let hi = last
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1
    if (x[mid]! <= score) lo = mid
    else hi = mid
  }
  const t = (score - x[lo]!) / (x[hi]! - x[lo]!)
  return y[lo]! + t * (y[hi]! - y[lo]!)
}

/** σ(a·score + b), computed without overflow. */
export const applyPlatt = (params: { readonly a: number; readonly b: number }, score: number): number => {
  const z = params.a * score + params.b
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z))
}

/** A calibrator's calibrated probability for `score`. */
export const applyCalibrator = (c: Calibrator, score: number): number =>
  c.kind === "isotonic" ? applyIsotonic(c.params, score) : applyPlatt(c.params, score)

/** Why a decoded calibrator cannot be applied, or undefined when it can. */
export const calibratorProblem = (c: Calibrator): string | undefined => {
  if (c.kind === "isotonic") {
    const { x, y } = c.params
    if (x.length !== y.length) return `isotonic knots: ${x.length} x values but ${y.length} y values`
    for (let i = 1; i < x.length; i++) {
      if (!(x[i]! > x[i - 1]!)) return `isotonic knots: x[${i}] = ${x[i]} is not above x[${i - 1}] = ${x[i - 1]}`
      if (y[i]! < y[i - 1]!) return `isotonic knots: y[${i}] = ${y[i]} is below y[${i - 1}] = ${y[i - 1]}`
    }
  }
  if (c.id !== undefined && c.id !== calibratorId(c)) {
    return `the calibrator's id ${c.id} is not the hash of its content (${calibratorId(c)}): it was edited`
  }
  return undefined
}

/** The `calibrate` built-in: a calibrated probability from a calibrator artifact and a score. */
export const calibrate = make({
  name: "calibrate",
  description: "Applies a calibrator artifact (isotonic or platt, from `trellis eval calibrate`) to a score.",
  input: Schema.Struct({ calibrator: Calibrator, score: Schema.Finite }),
  output: Schema.Number,
  idempotent: true,
  handler: (args) => {
    const problem = calibratorProblem(args.calibrator)
    return problem === undefined
      ? Effect.succeed(applyCalibrator(args.calibrator, args.score))
      : Effect.fail(new Permanent({ message: `calibrate: ${problem}` }))
  }
})
