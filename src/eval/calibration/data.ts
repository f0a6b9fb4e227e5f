/**
 * Forecasts from JSONL text: one JSON object per line carrying a
 * probability (default field `p`) and an outcome (default field `y`: 0, 1,
 * true, false, or a soft label in [0, 1]); fields may be dotted paths
 * (`output.confidence`). Blank lines are skipped. A bad line is a
 * `ForecastError` naming the file and line. Pure.
 */
import { Data, Either } from "effect"
import type { Forecast } from "./metrics.js"

/** A line that is not a forecast, with where it is. */
export class ForecastError extends Data.TaggedError("ForecastError")<{
  readonly file: string
  readonly line: number
  readonly message: string
}> {}

/** Which fields hold the probability and the outcome. */
export interface ForecastFields {
  /** @default "p" */
  readonly score?: string
  /** @default "y" */
  readonly label?: string
}

const at = (value: unknown, path: string): unknown => {
  let v = value
  for (const part of path.split(".")) {
    if (v === null || typeof v !== "object" || Array.isArray(v) || !Object.prototype.hasOwnProperty.call(v, part)) {
      return undefined
    }
    v = (v as Record<string, unknown>)[part]
  }
  return v
}

/** Parses forecasts from JSONL `text` read from `file`. */
export const parseForecasts = (
  file: string,
  text: string,
  fields: ForecastFields = {}
): Either.Either<ReadonlyArray<Forecast>, ForecastError> => {
  const score = fields.score ?? "p"
  const label = fields.label ?? "y"
  const out: Array<Forecast> = []
  const lines = text.split("\n")
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim()
    if (raw === "") continue
    const fail = (message: string) => Either.left(new ForecastError({ file, line: i + 1, message }))
    let value: unknown
    try {
      value = JSON.parse(raw)
    } catch (e) {
      return fail(`not JSON (${e instanceof Error ? e.message : String(e)})`)
    }
    const p = at(value, score)
    if (typeof p !== "number" || !(p >= 0 && p <= 1)) {
      return fail(`"${score}" must be a number in [0, 1], got ${JSON.stringify(p) ?? "nothing"}`)
    }
    const y0 = at(value, label)
    const y = y0 === true ? 1 : y0 === false ? 0 : y0
    if (typeof y !== "number" || !(y >= 0 && y <= 1)) {
      return fail(`"${label}" must be 0, 1, true, false or a number in [0, 1], got ${JSON.stringify(y0) ?? "nothing"}`)
    }
    out.push({ p, y })
  }
  if (out.length === 0) return Either.left(new ForecastError({ file, line: 0, message: "no forecasts" }))
  return Either.right(out)
}
