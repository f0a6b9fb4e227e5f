/**
 * `fmt` keeps comments (src/language/comments.ts): for every example, and
 * for the examples and printed random programs with comments and blank
 * lines inserted at random line ends, between lines or after random tokens,
 * `format` gives text that
 *
 * - lowers to the same program as the source (comments never change meaning),
 * - holds exactly the source's comments (the same multiset of texts),
 * - has at most one blank line in a row, and
 * - formats to itself (fmt is idempotent).
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { readdirSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { compileSource, format, lex, print } from "../src/language/index.js"
import { arbProgram } from "./arbitrary.js"
import { numRuns } from "./settings.js"

const dir = fileURLToPath(new URL("../examples/", import.meta.url))
const EXAMPLES: ReadonlyArray<readonly [string, string]> = readdirSync(dir)
  .filter((f) => f.endsWith(".tr"))
  .sort()
  .map((f) => [f, readFileSync(dir + f, "utf8")] as const)

/** Shapes the examples lack: `return null`, `else <step>`, a block else holding an if, quoted option labels, … */
const EDGE = `# Edge cases for fmt.
signature Empty { # nothing yet
  # no fields
}

signature Mixed {
  output o: string # an output first
  # an input after it
  input i: number
}

program helper( # no params
) {
  return null # explicit null
}

program main(a: number = 1) {
  b = if a > 1 { return 1 } else { # a block else holding an if
    return if a > 0 { return 2 } else tool pick(a: a) # else <step>
  }
  c = if a > 2 {
    return 3
  } else 4 # else <expression>

  d = choose "k" with { label: "d" } { # choose line
    "quoted label": { return 1 } # option
    # before plain
    plain: {
      return run helper()
    }
    # after the options
  }
  -a # a bare expression
  return { b: b, c: c, d: d } # the result
}
`

/** The examples and the edge cases. */
const SAMPLES: ReadonlyArray<readonly [string, string]> = [...EXAMPLES, ["edge cases", EDGE]]

const commentTexts = (source: string): Array<string> => lex(source).comments.map((c) => c.value).sort()

/** The law, for a source free of syntax errors. */
const formatsFaithfully = (source: string): void => {
  const before = compileSource(source)
  expect(before.syntaxErrors).toEqual([])
  const formatted = format(source)
  expect(formatted.errors).toEqual([])
  const text = formatted.text as string
  const after = compileSource(text)
  expect(after.syntaxErrors).toEqual([])
  expect(after.program).toEqual(before.program)
  expect(commentTexts(text)).toEqual(commentTexts(source))
  // At most one blank line in a row, and blank lines are empty.
  expect(text).not.toMatch(/\n\n\n/)
  expect(text).not.toMatch(/^[ \t]+$/m)
  expect(format(text).text).toBe(text)
}

/** A comment text: anything but a line break. */
const arbText = fc.string({ unit: "grapheme", maxLength: 12 }).map((s) => s.replace(/[\r\n]/g, " "))

/** What to insert at one line: an end-of-line comment, an own-line comment (indented), or a blank line. */
const arbInsertion = fc.record({
  line: fc.nat(),
  kind: fc.constantFrom("end", "own", "blank"),
  indent: fc.constantFrom("", "  ", "\t", "      "),
  text: arbText
})
type Insertion = typeof arbInsertion extends fc.Arbitrary<infer T> ? T : never

/** Applies insertions by line (each counted modulo the lines of the text so far). */
const insertByLine = (source: string, insertions: ReadonlyArray<Insertion>): string => {
  const lines = source.split("\n")
  for (const ins of insertions) {
    const i = ins.line % (lines.length + 1)
    if (ins.kind === "end") {
      const at = Math.min(i, lines.length - 1)
      lines[at] = `${lines[at] ?? ""} #${ins.text}`
    } else {
      lines.splice(i, 0, ins.kind === "blank" ? "" : `${ins.indent}#${ins.text}`)
    }
  }
  return lines.join("\n")
}

/** Where to put a comment among the tokens: after the n-th (0: before the first), on that line or on a line of its own. */
const arbTokenComment = fc.tuple(fc.nat(), fc.boolean(), arbText)

/** Puts `#text` and a line break right after random tokens, at the end of the token's line or on a new line. */
const insertAfterTokens = (source: string, at: ReadonlyArray<readonly [number, boolean, string]>): string => {
  const ends = [0, ...lex(source).tokens.slice(0, -1).map((t) => t.span.end.offset)]
  const points = at.map(([n, ownLine, text]) =>
    [ends[n % ends.length] as number, ownLine ? `\n#${text}\n` : ` #${text}\n`] as const
  )
  let out = source
  for (const [offset, comment] of [...points].sort((a, b) => b[0] - a[0])) {
    out = out.slice(0, offset) + comment + out.slice(offset)
  }
  return out
}

describe("fmt keeps comments", () => {
  it("for every example (and the edge cases): same program, same comments, idempotent", () => {
    expect(EXAMPLES.length).toBeGreaterThanOrEqual(5)
    expect(lex(SAMPLES.find(([name]) => name === "kitchen-sink.tr")?.[1] ?? "").comments.length).toBeGreaterThan(20)
    for (const [, source] of SAMPLES) formatsFaithfully(source)
  })

  it.prop(
    "examples with comments and blank lines inserted at line ends and between lines",
    [fc.nat({ max: SAMPLES.length - 1 }), fc.array(arbInsertion, { minLength: 1, maxLength: 25 })],
    ([k, insertions]) => formatsFaithfully(insertByLine(SAMPLES[k]![1], insertions)),
    { fastCheck: { numRuns: numRuns(300) } }
  )

  it.prop(
    "examples with comments after random tokens (inside expressions, records, params, policies)",
    [fc.nat({ max: SAMPLES.length - 1 }), fc.array(arbTokenComment, { minLength: 1, maxLength: 25 })],
    ([k, at]) => formatsFaithfully(insertAfterTokens(SAMPLES[k]![1], at)),
    { fastCheck: { numRuns: numRuns(300) } }
  )

  it.prop(
    "printed random programs with comments inserted",
    [arbProgram, fc.array(arbInsertion, { minLength: 1, maxLength: 15 }), fc.array(arbTokenComment, { maxLength: 10 })],
    ([p, insertions, at]) => formatsFaithfully(insertAfterTokens(insertByLine(print(p), insertions), at)),
    { fastCheck: { numRuns: numRuns(200) } }
  )
})
