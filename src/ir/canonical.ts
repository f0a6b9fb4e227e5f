/**
 * Canonical JSON: the one text form of a JSON value that identity hashes
 * (N6) and `str(x)` use. Object keys are sorted by UTF-16 code unit, there
 * is no whitespace, numbers are finite and printed in JavaScript's shortest
 * round-trip form with `-0` written as `0`, and `undefined` object fields
 * are omitted.
 *
 * Deeply nested values (past a few hundred levels) are walked with an
 * explicit stack, so they do not overflow the call stack.
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

/** Renders a deep value with an explicit stack (no recursion). */
const writeIterative = (value: unknown): string => {
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
    const keys = sortedKeys(record)
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

/** The keys of a record whose values are written, in canonical order. */
const sortedKeys = (record: { readonly [key: string]: unknown }): Array<string> => {
  const keys: Array<string> = []
  for (const k of Object.keys(record)) {
    const t = typeof record[k]
    if (t !== "undefined" && t !== "function" && t !== "symbol") keys.push(k)
  }
  return keys.sort(compareCodeUnits)
}

/** Nesting depth past which the writer switches to the explicit stack. */
const MAX_RECURSION = 500

const write = (v: unknown, depth: number): string => {
  if (v === null || typeof v !== "object") return scalarText(v, true) ?? "null"
  if (depth > MAX_RECURSION) return writeIterative(v)
  if (Array.isArray(v)) {
    let s = "["
    for (let i = 0; i < v.length; i++) s += (i > 0 ? "," : "") + write(v[i], depth + 1)
    return s + "]"
  }
  const record = v as { readonly [key: string]: unknown }
  let s = "{"
  let first = true
  for (const key of sortedKeys(record)) {
    s += (first ? "" : ",") + JSON.stringify(key) + ":" + write(record[key], depth + 1)
    first = false
  }
  return s + "}"
}

/**
 * The fast path: `JSON.stringify` with a replacer that sorts keys. A plain
 * object cannot hold integer-like keys ("1", "10") in code-unit order, so
 * when one shows up the result is `undefined` and the slow path runs.
 */
const viaStringify = (value: unknown): string | undefined => {
  let integerKeys = false
  const text = JSON.stringify(value, function(_key, v: unknown) {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return v
    const record = v as { readonly [key: string]: unknown }
    const keys = Object.keys(record)
    if (keys.length === 0) return v
    const c = keys[0]!.charCodeAt(0)
    // Integer-like keys are enumerated first; seeing a digit there is enough.
    if (c >= 48 && c <= 57) integerKeys = true
    for (let i = 1; i < keys.length; i++) {
      if (keys[i - 1]! > keys[i]!) return Object.fromEntries(keys.sort(compareCodeUnits).map((k) => [k, record[k]]))
    }
    return v
  })
  return integerKeys ? undefined : text
}

/**
 * Renders `value` as canonical JSON. `undefined`, functions and symbols are
 * omitted as object fields and written as `null` in arrays, as
 * `JSON.stringify` does. Meant for plain JSON data (objects with a
 * `toJSON` method are not canonicalized). Deeply nested values are written
 * without deep recursion.
 */
export const canonicalJson = (value: unknown): string => {
  if (value === null || typeof value !== "object") return scalarText(value, true) ?? "null"
  try {
    const fast = viaStringify(value)
    if (fast !== undefined) return fast
  } catch (e) {
    // Too deep for the native stringifier: fall through to the explicit stack.
    if (!(e instanceof RangeError)) throw e
  }
  return write(value, 0)
}
