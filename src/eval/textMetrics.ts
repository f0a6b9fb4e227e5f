/**
 * The pure built-in scorers (docs/evaluation.md defines each): exact match
 * on canonical JSON, SQuAD-style normalized exact match and token F1,
 * containment, and numeric tolerance. Each returns a score in [0, 1].
 */
import { canonicalJson } from "../ir/canonical.js"
import type { Json } from "../ir/eval.js"

/** A value as text: strings as they are, anything else as its canonical JSON. */
export const asText = (value: Json | undefined): string =>
  value === undefined ? "" : typeof value === "string" ? value : canonicalJson(value)

/**
 * SQuAD normalization: lower case, punctuation removed, the articles a/an/the
 * removed, whitespace collapsed.
 */
export const normalizeText = (text: string): string =>
  text
    .toLowerCase()
    .replace(/[\p{P}\p{S}]/gu, " ")
    .replace(/\b(a|an|the)\b/g, " ")
    .replace(/\s+/g, " ")
    .trim()

/** 1 when the canonical JSON of output and expected are equal, else 0. */
export const exact = (output: Json | undefined, expected: Json): number =>
  output !== undefined && canonicalJson(output) === canonicalJson(expected) ? 1 : 0

/** 1 when the normalized texts are equal, else 0. */
export const normalizedExact = (output: Json | undefined, expected: Json): number =>
  normalizeText(asText(output)) === normalizeText(asText(expected)) ? 1 : 0

/** The tokens of a normalized text. */
const tokens = (value: Json | undefined): Array<string> => {
  const t = normalizeText(asText(value))
  return t === "" ? [] : t.split(" ")
}

/**
 * Token F1 (SQuAD): harmonic mean of precision and recall of the bag of
 * normalized tokens; 1 when both are empty, 0 when only one is.
 */
export const tokenF1 = (output: Json | undefined, expected: Json): number => {
  const out = tokens(output)
  const exp = tokens(expected)
  if (out.length === 0 || exp.length === 0) return out.length === exp.length ? 1 : 0
  const counts = new Map<string, number>()
  for (const t of exp) counts.set(t, (counts.get(t) ?? 0) + 1)
  let common = 0
  for (const t of out) {
    const c = counts.get(t) ?? 0
    if (c > 0) {
      common++
      counts.set(t, c - 1)
    }
  }
  if (common === 0) return 0
  const precision = common / out.length
  const recall = common / exp.length
  return (2 * precision * recall) / (precision + recall)
}

/** 1 when the normalized output contains the normalized expected text (or each of an expected list), else 0. */
export const contains = (output: Json | undefined, expected: Json): number => {
  const text = ` ${normalizeText(asText(output))} `
  const needles = Array.isArray(expected) ? (expected as ReadonlyArray<Json>) : [expected]
  return needles.every((n) => text.includes(` ${normalizeText(asText(n))} `)) ? 1 : 0
}

/** A number from a value: a number, or a string holding one; undefined otherwise. */
export const toNumber = (value: Json | undefined): number | undefined => {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined
  if (typeof value === "string" && value.trim() !== "") {
    const n = Number(value.trim())
    return Number.isFinite(n) ? n : undefined
  }
  return undefined
}

/**
 * 1 when |output − expected| ≤ tolerance (absolute), or ≤ tolerance × |expected|
 * when `relative`; 0 otherwise, and 0 when the output is not a number.
 */
export const numericClose = (
  output: Json | undefined,
  expected: Json,
  tolerance: number,
  relative: boolean
): number => {
  const o = toNumber(output)
  const e = toNumber(expected)
  if (o === undefined || e === undefined) return 0
  const bound = relative ? tolerance * Math.abs(e) : tolerance
  return Math.abs(o - e) <= bound + 1e-12 ? 1 : 0
}
