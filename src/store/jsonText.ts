/**
 * JSON text for JSONB columns. PostgreSQL's JSONB (and TEXT) cannot hold
 * U+0000, and JSONB refuses unpaired surrogates (`\ud800`), yet both are
 * valid in the JSON Trellis accepts (a tool output, an input). `encode`
 * rewrites the JSON text of a value so that JSONB accepts it, reversibly,
 * with U+0001 as an escape character inside strings (and keys):
 * U+0001 → U+0001 `!`, U+0000 → U+0001 `0`, an unpaired surrogate `\ud` + three hex
 * digits → U+0001 `s` `d` + the same three digits; `decode` undoes it on the text JSONB gives back.
 * Text without those characters (nearly all of it) passes through unchanged.
 */

// A JSON escape preceded by an even number of backslashes (so `\\u0000`, an escaped backslash, is left alone).
const ENCODE = /\\(\\|u0000|u0001|u(d[89ab][0-9a-f]{2}|d[c-f][0-9a-f]{2}))/gi
const NEEDS_ENCODE = /\\u000[01]|\\ud[89a-f]/i
const DECODE = /\\(\\|u0001(!|0|s(d[89a-f][0-9a-f]{2})))/gi

/** The JSON text of `value`, escaped so that a JSONB column accepts it. */
export const encode = (value: unknown): string => encodeText(JSON.stringify(value))

/** Escapes JSON text (`JSON.stringify` output) so that a JSONB column accepts it. */
export const encodeText = (text: string): string => {
  if (!NEEDS_ENCODE.test(text)) return text
  return text.replace(ENCODE, (match: string, what: string, surrogate: string | undefined) => {
    if (what === "\\") return match
    if (surrogate !== undefined) return `\\u0001s${surrogate.toLowerCase()}`
    return what === "u0000" ? "\\u00010" : "\\u0001!"
  })
}

/** Undoes `encodeText` on JSON text read back from a JSONB column. */
export const decodeText = (text: string): string => {
  if (!text.includes("\\u0001")) return text
  return text.replace(DECODE, (match: string, what: string, tag: string | undefined, surrogate: string | undefined) => {
    if (what === "\\") return match
    if (surrogate !== undefined) return `\\u${surrogate}`
    return tag === "0" ? "\\u0000" : "\\u0001"
  })
}

/** Parses JSON text read back from a JSONB column (undoing `encode`). */
export const decode = (text: string): unknown => JSON.parse(decodeText(text))
