/**
 * Parser fuzzing: `parse` never throws. On any text — arbitrary unicode,
 * token soup, deep brackets, or an example with random tokens or characters
 * deleted, inserted, duplicated or swapped — it returns either a syntax
 * tree (and then lowering and printing round-trip) or a non-empty list of
 * located errors.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { readdirSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { compileSource, lex, lower, parse, print } from "../src/language/index.js"
import { numRuns } from "./settings.js"

const dir = fileURLToPath(new URL("../examples/", import.meta.url))
const EXAMPLES: ReadonlyArray<string> = readdirSync(dir)
  .filter((f) => f.endsWith(".tr"))
  .sort()
  .map((f) => readFileSync(dir + f, "utf8"))

/** Pieces of DSL text to insert or to build token soup from. */
const ALPHABET = [
  "program",
  "signature",
  "input",
  "output",
  "tool",
  "llm",
  "run",
  "map",
  "in",
  "if",
  "else",
  "choose",
  "return",
  "with",
  "true",
  "false",
  "null",
  "and",
  "or",
  "not",
  "main",
  "x",
  "y",
  "len",
  "a.b",
  "(",
  ")",
  "{",
  "}",
  "[",
  "]",
  ",",
  ":",
  ".",
  "=",
  "==",
  "!=",
  "<",
  "<=",
  ">",
  ">=",
  "+",
  "-",
  "*",
  "/",
  "%",
  "0",
  "1.5",
  "2e3",
  "1e",
  "\"s\"",
  "\"\\q\"",
  "\"open",
  "#c\n",
  "\n",
  "@",
  "!",
  "\\",
  "é",
  "🎉",
  "\u0000",
  "\r\n"
] as const

/** One edit of a source, by token or by character. */
interface Edit {
  readonly op: "delete" | "insert" | "duplicate" | "swap" | "deleteChar" | "insertChar" | "replaceChar"
  readonly at: number
  readonly other: number
  readonly piece: string
}

const arbEdit: fc.Arbitrary<Edit> = fc.record({
  op: fc.constantFrom("delete", "insert", "duplicate", "swap", "deleteChar", "insertChar", "replaceChar"),
  at: fc.nat(),
  other: fc.nat(),
  piece: fc.oneof(fc.constantFrom(...ALPHABET), fc.string({ unit: "binary", minLength: 1, maxLength: 2 }))
})

/** Splits a source into token-sized pieces (each with its trailing blanks and comments). */
const pieces = (source: string): Array<string> => {
  const starts = lex(source).tokens.map((t) => t.span.start.offset)
  return starts.map((s, i) => source.slice(i === 0 ? 0 : s, starts[i + 1] ?? source.length))
}

const applyEdit = (source: string, e: Edit): string => {
  if (e.op === "deleteChar" || e.op === "insertChar" || e.op === "replaceChar") {
    const i = source.length === 0 ? 0 : e.at % (source.length + 1)
    const drop = e.op === "insertChar" ? 0 : 1
    return source.slice(0, i) + (e.op === "deleteChar" ? "" : e.piece) + source.slice(i + drop)
  }
  const ps = pieces(source)
  if (ps.length === 0) return e.piece
  const i = e.at % ps.length
  const j = e.other % ps.length
  switch (e.op) {
    case "delete":
      ps.splice(i, 1)
      break
    case "insert":
      ps.splice(i, 0, e.piece + " ")
      break
    case "duplicate":
      ps.splice(i, 0, ps[j] as string)
      break
    case "swap": {
      const t = ps[i] as string
      ps[i] = ps[j] as string
      ps[j] = t
      break
    }
  }
  return ps.join("")
}

/** Valid examples with 1–4 random edits. */
const arbMutated: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(...EXAMPLES), fc.array(arbEdit, { minLength: 1, maxLength: 4 }))
  .map(([source, edits]) => edits.reduce(applyEdit, source))

const arbText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 200 }),
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.array(fc.constantFrom(...ALPHABET), { maxLength: 80 }).map((ts) => ts.join(" ")),
  fc
    .tuple(
      fc.constantFrom("(", "[", "{", "-", "not ", "{ a: ", "[[", "map x in y { return "),
      fc.integer({ min: 0, max: 3000 })
    )
    .map(([open, n]) => `program p() { a = ${open.repeat(n)}1 }`)
)

/** The law: a tree, or located errors; never an exception. */
const checkParse = (source: string): void => {
  const r = parse(source)
  if (r.file === undefined) {
    expect(r.errors.length).toBeGreaterThan(0)
    expect(r.errors.length).toBeLessThanOrEqual(100)
    for (const e of r.errors) {
      expect(e.span.start.line).toBeGreaterThanOrEqual(1)
      expect(e.span.start.column).toBeGreaterThanOrEqual(1)
      expect(e.span.start.offset).toBeLessThanOrEqual(source.length)
      expect(e.span.end.offset).toBeGreaterThanOrEqual(e.span.start.offset)
      expect(e.message.length).toBeGreaterThan(0)
      expect(e.excerpt).toContain("^")
    }
    return
  }
  expect(r.errors).toEqual([])
  const lowered = lower(r.file)
  if (lowered.violations.length === 0) {
    // Whatever parsed cleanly prints back to the same IR.
    const again = compileSource(print(lowered.program))
    expect(again.syntaxErrors).toEqual([])
    expect(again.program).toEqual(lowered.program)
  }
}

describe("parser fuzz", () => {
  it.prop("arbitrary text never throws", [arbText], ([source]) => checkParse(source), {
    fastCheck: { numRuns: numRuns(600) }
  })

  it.prop("mutated examples never throw", [arbMutated], ([source]) => checkParse(source), {
    fastCheck: { numRuns: numRuns(900) }
  })

  it("the mutations are not vacuous: some still parse, most do not", () => {
    const samples = fc.sample(arbMutated, { numRuns: 300, seed: 42 })
    const parsed = samples.filter((s) => parse(s).file !== undefined).length
    expect(parsed).toBeGreaterThan(0)
    expect(parsed).toBeLessThan(samples.length)
  })
})
