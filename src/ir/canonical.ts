/**
 * Canonical JSON: the one text form of a JSON value that identity hashes
 * (N6) and `str(x)` use. Object keys are sorted by UTF-16 code unit, there
 * is no whitespace, numbers are finite and printed in JavaScript's shortest
 * round-trip form with `-0` written as `0`, and `undefined` object fields
 * are omitted.
 *
 * Walks the value with an explicit stack, so deeply nested values do not
 * overflow the call stack.
 */

/** Compares two strings by UTF-16 code units (the canonical key order). */
export const compareCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

type Frame =
  | { readonly tag: "text"; readonly text: string }
  | { readonly tag: "value"; readonly value: unknown; readonly inArray: boolean }

const scalarText = (value: unknown, inArray: boolean): string | undefined => {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value)
    case "number":
      // Non-finite numbers are not JSON; like JSON.stringify they print as null.
      return Number.isFinite(value) ? (value === 0 ? "0" : String(value)) : "null"
    case "boolean":
      return value ? "true" : "false"
    case "bigint":
      return value.toString()
    case "undefined":
    case "function":
    case "symbol":
      return inArray ? "null" : undefined
    default:
      return value === null ? "null" : undefined
  }
}

/**
 * Renders `value` as canonical JSON. `undefined`, functions and symbols are
 * omitted as object fields and written as `null` in arrays, as
 * `JSON.stringify` does; a value with a `toJSON` method is not special.
 */
export const canonicalJson = (value: unknown): string => {
  const top = scalarText(value, true)
  if (top !== undefined && (value === null || typeof value !== "object")) return top
  const out: Array<string> = []
  const stack: Array<Frame> = [{ tag: "value", value, inArray: true }]
  while (stack.length > 0) {
    const frame = stack.pop()!
    if (frame.tag === "text") {
      out.push(frame.text)
      continue
    }
    const v = frame.value
    if (v === null || typeof v !== "object") {
      out.push(scalarText(v, true) ?? "null")
      continue
    }
    if (Array.isArray(v)) {
      stack.push({ tag: "text", text: "]" })
      for (let i = v.length - 1; i >= 0; i--) {
        stack.push({ tag: "value", value: v[i], inArray: true })
        if (i > 0) stack.push({ tag: "text", text: "," })
      }
      out.push("[")
      continue
    }
    const record = v as { readonly [key: string]: unknown }
    const keys = Object.keys(record)
      .filter((k) => {
        const t = typeof record[k]
        return t !== "undefined" && t !== "function" && t !== "symbol"
      })
      .sort(compareCodeUnits)
    stack.push({ tag: "text", text: "}" })
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i]!
      stack.push({ tag: "value", value: record[key], inArray: false })
      stack.push({ tag: "text", text: (i > 0 ? "," : "") + JSON.stringify(key) + ":" })
    }
    out.push("{")
  }
  return out.join("")
}
