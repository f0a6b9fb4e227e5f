/**
 * Document laws: the metrics (edit distance is a metric: zero exactly on
 * equal inputs, symmetric, bounded by the longer length, triangle
 * inequality; CER(x, x) = 0; IoU in [0, 1], symmetric, 1 on itself), the
 * number parser (printed numbers with thousands separators, parentheses,
 * signs, currencies and percents read back to their value) and CSV (RFC 4180
 * fields read back exactly).
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { toCsvRows } from "../src/documents/csv.js"
import type { Box } from "../src/documents/geometry.js"
import { cellAccuracy, cer, editDistance, iou, wer } from "../src/documents/metrics.js"
import { parseNumber } from "../src/documents/numbers.js"
import { LAW_CASES, numRuns } from "./settings.js"

const runs = { fastCheck: { numRuns: numRuns(LAW_CASES) } }
const text = fc.string({ maxLength: 30 })
const box: fc.Arbitrary<Box> = fc
  .tuple(
    fc.integer({ min: 0, max: 500 }),
    fc.integer({ min: 0, max: 500 }),
    fc.integer({ min: 1, max: 200 }),
    fc.integer({ min: 1, max: 200 })
  )
  .map(([x, y, w, h]) => [x, y, x + w, y + h] as const)

describe("edit distance, CER and WER", () => {
  it.prop("d(a, b) = 0 exactly when a = b; CER(x, x) = 0 and WER(x, x) = 0", [text, text], ([a, b]) => {
    expect(editDistance(Array.from(a), Array.from(a))).toBe(0)
    expect(cer(a, a)).toBe(0)
    expect(wer(a, a)).toBe(0)
    expect(editDistance(Array.from(a), Array.from(b)) === 0).toBe(a === b)
  }, runs)
  it.prop("symmetric and bounded by the longer length", [text, text], ([a, b]) => {
    const [x, y] = [Array.from(a), Array.from(b)]
    const d = editDistance(x, y)
    expect(d).toBe(editDistance(y, x))
    expect(d).toBeLessThanOrEqual(Math.max(x.length, y.length))
    expect(d).toBeGreaterThanOrEqual(Math.abs(x.length - y.length))
  }, runs)
  it.prop("triangle inequality", [text, text, text], ([a, b, c]) => {
    const [x, y, z] = [Array.from(a), Array.from(b), Array.from(c)]
    expect(editDistance(x, z)).toBeLessThanOrEqual(editDistance(x, y) + editDistance(y, z))
  }, runs)
  it.prop("CER of a non-empty reference is edits / length", [text.filter((s) => s.trim() !== ""), text], ([r, h]) => {
    const ref = Array.from(r.replace(/\s+/g, " ").trim())
    const hyp = Array.from(h.replace(/\s+/g, " ").trim())
    expect(cer(r, h)).toBeCloseTo(editDistance(ref, hyp) / ref.length, 12)
  }, runs)
})

describe("IoU", () => {
  it.prop("in [0, 1], symmetric, 1 on itself", [box, box], ([a, b]) => {
    const v = iou(a, b)
    expect(v).toBeGreaterThanOrEqual(0)
    expect(v).toBeLessThanOrEqual(1)
    expect(v).toBe(iou(b, a))
    expect(iou(a, a)).toBe(1)
  }, runs)
  it.prop("a box inside another: IoU = inner area / outer area", [box], ([a]) => {
    const outer: Box = [a[0] - 10, a[1] - 10, a[2] + 10, a[3] + 10]
    const area = (b: Box) => (b[2] - b[0]) * (b[3] - b[1])
    expect(iou(a, outer)).toBeCloseTo(area(a) / area(outer), 12)
  }, runs)
})

describe("cell accuracy", () => {
  const grid = fc
    .tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }))
    .chain(([r, c]) => fc.array(fc.array(text, { minLength: c, maxLength: c }), { minLength: r, maxLength: r }))
  it.prop("1 on itself, symmetric, and one changed cell of n costs 1/n", [grid, grid, fc.nat()], ([a, b, k]) => {
    expect(cellAccuracy(a, a)).toBe(1)
    expect(cellAccuracy(a, b)).toBe(cellAccuracy(b, a))
    const n = a.length * a[0]!.length
    const r = Math.floor((k % n) / a[0]!.length)
    const c = (k % n) % a[0]!.length
    const changed = a.map((row, i) => row.map((t, j) => (i === r && j === c ? `${t.trim()}x` : t)))
    expect(cellAccuracy(a, changed)).toBeCloseTo((n - 1) / n, 12)
  }, runs)
})

/** Digits grouped by three with a separator. */
const group = (n: number, sep: string) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, sep)

describe("parseNumber", () => {
  it.prop(
    "reads back printed integers and decimals (separators, signs, parentheses, currency, percent)",
    [
      fc.integer({ min: 0, max: 10_000_000_000 }),
      fc.integer({ min: 0, max: 99 }),
      fc.constantFrom(",", " ", "\u2009", ""),
      fc.constantFrom("plain", "minus", "parens", "unicode-minus"),
      fc.constantFrom("", "$", "€", "%", " kg")
    ],
    ([whole, cents, sep, sign, unit]) => {
      const magnitude = group(whole, sep) + (cents === 0 ? "" : `.${String(cents).padStart(2, "0")}`)
      const expected = whole + cents / 100
      const prefix = unit === "$" || unit === "€" ? unit : ""
      const suffix = unit === "%" || unit === " kg" ? unit : ""
      const body = `${prefix}${magnitude}${suffix}`
      const printed = sign === "plain"
        ? body
        : sign === "minus"
        ? `-${body}`
        : sign === "parens"
        ? `(${body})`
        : `\u2212${body}`
      const parsed = parseNumber(printed)
      expect(parsed).not.toBeNull()
      const negative = sign !== "plain" && expected !== 0
      expect(parsed!.value).toBeCloseTo(negative ? -expected : expected, 6)
      expect(parsed!.unit).toBe(unit === "" ? null : unit.trim())
    },
    runs
  )
  it.prop("(x) reads as -x for every number x reads as", [fc.string({ maxLength: 12 })], ([s]) => {
    const a = parseNumber(s)
    const b = parseNumber(`(${s.trim()})`)
    if (a !== null && a.value >= 0 && !s.trim().startsWith("(") && !/^[-+\u2212]/.test(s.trim())) {
      expect(b).not.toBeNull()
      expect(b!.value).toBe(a.value === 0 ? 0 : -a.value)
    }
  }, runs)
  it("refuses what is not one number", () => {
    for (const s of ["", "abc", "1,23", "12,34,567", "1.2.3", "--1", "(-1)", "1 2", "$%1"]) {
      expect(parseNumber(s)).toBeNull()
    }
  })
})

/** A strict RFC 4180 reader for the law (records end with CRLF). */
const readCsv = (csv: string): Array<Array<string>> => {
  const rows: Array<Array<string>> = []
  let row: Array<string> = []
  let field = ""
  let i = 0
  let quoted = false
  while (i < csv.length) {
    const ch = csv[i]!
    if (quoted) {
      if (ch === "\"" && csv[i + 1] === "\"") {
        field += "\""
        i += 2
      } else if (ch === "\"") {
        quoted = false
        i++
      } else {
        field += ch
        i++
      }
    } else if (ch === "\"" && field === "") {
      quoted = true
      i++
    } else if (ch === ",") {
      row.push(field)
      field = ""
      i++
    } else if (ch === "\r" && csv[i + 1] === "\n") {
      row.push(field)
      rows.push(row)
      row = []
      field = ""
      i += 2
    } else {
      field += ch
      i++
    }
  }
  return rows
}

describe("CSV", () => {
  it.prop(
    "RFC 4180 rows read back exactly",
    [fc.array(
      fc.array(fc.string({ unit: fc.constantFrom("a", ",", "\"", "\r", "\n", " ", "é"), maxLength: 6 }), {
        minLength: 1,
        maxLength: 4
      }),
      { maxLength: 5 }
    )],
    ([rows]) => {
      expect(readCsv(toCsvRows(rows))).toEqual(rows)
    },
    runs
  )
})
