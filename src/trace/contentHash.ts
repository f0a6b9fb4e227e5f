/**
 * Content hashes carried by run events (args, outputs, inputs): a fast
 * 64-bit non-cryptographic hash of a value's canonical JSON, as 16 hex
 * digits. They detect divergence on replay; identities that must resist
 * collisions (program hashes, idempotency and cache keys) use sha256.
 *
 * `hashJson(v)` equals `hashText(canonicalJson(v))` but feeds the canonical
 * text to the hash piece by piece instead of building it: hashing is on the
 * scheduler's hot path, and the intermediate strings were most of its cost.
 */
import { canonicalJson, compareCodeUnits } from "../ir/canonical.js"

const HEX_DIGITS = "0123456789abcdef"

/** Two murmur3-style 32-bit lanes over UTF-16 code units, fed incrementally (module state: hashing never re-enters). */
let lane1 = 0
let lane2 = 0
let fed = 0

const reset = (): void => {
  lane1 = 0x9e3779b9
  lane2 = 0x85ebca6b
  fed = 0
}

const code = (c: number): void => {
  let h1 = Math.imul(lane1 ^ c, 0xcc9e2d51)
  h1 = (h1 << 15) | (h1 >>> 17)
  let h2 = Math.imul(lane2 ^ c, 0x1b873593)
  h2 = (h2 << 13) | (h2 >>> 19)
  lane1 = h1
  lane2 = (Math.imul(h2, 5) + 0xe6546b64) | 0
  fed++
}

const text = (s: string): void => {
  for (let i = 0; i < s.length; i++) code(s.charCodeAt(i))
}

const nibble = (h: number, shift: number): number => HEX_DIGITS.charCodeAt((h >>> shift) & 15)

/** Finishes the lanes (length mixed in, avalanche) as 16 hex digits, built as one string. */
const digest = (): string => {
  let h1 = lane1 ^ fed
  let h2 = lane2 ^ fed
  h1 ^= h2 >>> 16
  h1 = Math.imul(h1 ^ (h1 >>> 16), 0x85ebca6b)
  h1 = Math.imul(h1 ^ (h1 >>> 13), 0xc2b2ae35)
  h1 ^= h1 >>> 16
  h2 ^= h1
  h2 = Math.imul(h2 ^ (h2 >>> 16), 0x85ebca6b)
  h2 = Math.imul(h2 ^ (h2 >>> 13), 0xc2b2ae35)
  h2 ^= h2 >>> 16
  return String.fromCharCode(
    nibble(h1, 28),
    nibble(h1, 24),
    nibble(h1, 20),
    nibble(h1, 16),
    nibble(h1, 12),
    nibble(h1, 8),
    nibble(h1, 4),
    nibble(h1, 0),
    nibble(h2, 28),
    nibble(h2, 24),
    nibble(h2, 20),
    nibble(h2, 16),
    nibble(h2, 12),
    nibble(h2, 8),
    nibble(h2, 4),
    nibble(h2, 0)
  )
}

/** A 64-bit hash of a string (two murmur3-style 32-bit lanes over UTF-16 code units), as 16 hex digits. */
export const hashText = (s: string): string => {
  reset()
  text(s)
  return digest()
}

const OPEN_BRACKET = 0x5b
const CLOSE_BRACKET = 0x5d
const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d
const COMMA = 0x2c
const COLON = 0x3a

/** Nesting depth past which `hashJson` falls back to hashing `canonicalJson`'s text (which never recurses deeply). */
const MAX_DEPTH = 200

/** Feeds the canonical JSON text of `v` to the lanes; false when the value is too deep to walk recursively. */
const feed = (v: unknown, inArray: boolean, depth: number): boolean => {
  switch (typeof v) {
    case "string":
      text(JSON.stringify(v))
      return true
    case "number":
      text(Number.isFinite(v) ? (v === 0 ? "0" : String(v)) : "null")
      return true
    case "boolean":
      text(v ? "true" : "false")
      return true
    case "bigint":
      text(v.toString())
      return true
    case "object":
      break
    default:
      if (inArray) text("null")
      return true
  }
  if (v === null) {
    text("null")
    return true
  }
  if (depth > MAX_DEPTH) return false
  if (Array.isArray(v)) {
    code(OPEN_BRACKET)
    for (let i = 0; i < v.length; i++) {
      if (i > 0) code(COMMA)
      if (!feed(v[i], true, depth + 1)) return false
    }
    code(CLOSE_BRACKET)
    return true
  }
  const record = v as { readonly [key: string]: unknown }
  const keys: Array<string> = []
  for (const k in record) {
    if (!Object.prototype.hasOwnProperty.call(record, k)) continue
    const t = typeof record[k]
    if (t !== "undefined" && t !== "function" && t !== "symbol") keys.push(k)
  }
  if (keys.length > 1) keys.sort(compareCodeUnits)
  code(OPEN_BRACE)
  for (let i = 0; i < keys.length; i++) {
    if (i > 0) code(COMMA)
    const k = keys[i]!
    text(JSON.stringify(k))
    code(COLON)
    if (!feed(record[k], false, depth + 1)) return false
  }
  code(CLOSE_BRACE)
  return true
}

/** The content hash of a JSON value: `hashText` of its canonical JSON, computed without building that text. */
export const hashJson = (value: unknown): string => {
  reset()
  return feed(value, true, 0) ? digest() : hashText(canonicalJson(value))
}
