import { readdirSync, readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import type { Program } from "../../src/ir/schema.js"
import { builtinTools } from "../../src/tools/builtin/index.js"
import type { ValidationRule } from "../../src/validate/index.js"
import { MAX_ERRORS, specifiedRules, validate } from "../../src/validate/index.js"
import { compile, T, tools, violationsOf } from "../support/validate.js"

const examplesDir = new URL("../../examples/", import.meta.url)
const examples = readdirSync(examplesDir).filter((f) => f.endsWith(".tr"))
const read = (file: string) => readFileSync(new URL(file, examplesDir), "utf8")

const page = T.record({ url: T.string, title: T.string, text: T.string })

/** The tools the examples call, with the types a real registry would declare. */
const exampleTools = tools([
  { name: "search", input: { query: T.string, "k?": T.number }, output: T.list(page), idempotent: true },
  { name: "rerank", input: { query: T.string, docs: T.list(page) }, output: T.list(page), idempotent: true },
  { name: "summarize", input: { text: T.string }, output: T.string, idempotent: true },
  { name: "escalate", input: { question: T.string }, output: T.string },
  { name: "audit.log", input: { event: T.string, "question?": T.string, "query?": T.string }, output: T.null },
  { name: "fetch.page", input: { url: T.string }, output: T.record({ body: T.string }), idempotent: true },
  {
    name: "search.web",
    input: {
      query: T.string,
      "limit?": T.number,
      "filters?": T.record({ tags: T.list(T.string), "min-score": T.number })
    },
    output: T.list(page),
    idempotent: true
  },
  { name: "search.news", input: { query: T.string }, output: T.list(page), idempotent: true },
  { name: "alert.send", input: { message: T.string, "k?": T.number }, output: T.null },
  { name: "rewrite.casual", input: { text: T.string }, output: T.string, idempotent: true },
  {
    name: "report.build",
    input: {
      summaries: T.list(T.string),
      verdict: T.record({ label: T.string, score: T.number }),
      tier: T.string,
      tone: T.string,
      score: T.number,
      stats: T.any,
      parts: T.list(T.any),
      flags: T.list(T.any)
    },
    output: T.any
  },
  { name: "index.put", input: { id: T.string, body: T.string }, output: T.null }
])

/** The example tools plus the built-in ones (std.echo, text.hash, …) that examples/echo.tr runs with. */
const withBuiltins = new Map([...exampleTools, ...builtinTools.map((t) => [t.name, t.spec] as const)])

describe("validate", () => {
  it.each(examples)("examples/%s validates clean against the example tools", (file) => {
    expect(violationsOf(read(file), { tools: withBuiltins })).toEqual([])
  })

  it.each(examples)("examples/%s validates clean without a tool table", (file) => {
    expect(violationsOf(read(file))).toEqual([])
  })

  it("examples exist, so the checks above are not vacuous", () => {
    expect(examples).toEqual(expect.arrayContaining(["kitchen-sink.tr", "research.tr"]))
  })

  it("reports the violations of every rule in one pass, in document order", () => {
    const src = `signature S {
  input a: string
  input a: string
  output o: string
}
program main(q: string) {
  a = tool t(x: nope) with { timeout: "soon", retry: { times: 2 } }
  b = c
  c = b
  d = llm Nope(x: 1)
  e = run ghost()
  f = q * 2
  g = run main(q: q)
  m = map i in [1, 2, 3] { return i }
  return a
}`
    const table = tools([{ name: "u" }])
    expect(violationsOf(src, { tools: table, limits: { maxFanOut: 2 } }).map((v) => [v.code, v.message])).toEqual([
      ["duplicate-name", "Duplicate name \"a\""],
      ["unknown-tool", "Unknown tool \"t\""],
      ["bad-policy", "Invalid duration \"soon\" for timeout"],
      ["unbound-ref", "Unbound reference \"nope\""],
      ["unknown-signature", "Unknown signature \"Nope\""],
      ["unknown-program", "Unknown program \"ghost\""],
      ["type-mismatch", "Operator \"*\" expects number operands, got string"],
      ["limits", "Fan-out of 3 exceeds the limit of 2"],
      ["cycle", "Cycle: b -> c -> b"],
      ["recursive-call", "Recursive call: main -> main"]
    ])
  })

  it(`caps the violations at ${MAX_ERRORS}`, () => {
    const body = Array.from({ length: 150 }, (_, i) => `  n${i} = missing${i}`).join("\n")
    const violations = violationsOf(`program main() {\n${body}\n}`)
    expect(violations).toHaveLength(100)
    expect(violations[99]!.message).toBe("Unbound reference \"missing99\"")
  })

  it("adds spans only when a source map is given", () => {
    const { program } = compile(`program main() { return nope }`)
    expect(validate(program)).toEqual([
      { code: "unbound-ref", message: "Unbound reference \"nope\"", path: ["programs", "main", "result"] }
    ])
  })

  it("runs the rules it is given", () => {
    const { program } = compile(`program main() {
  a = a
  return nope
}`)
    const onlyRefs: ReadonlyArray<ValidationRule> = [specifiedRules[0]!]
    expect(validate(program, {}, onlyRefs).map((v) => v.code)).toEqual(["unbound-ref"])
    expect(validate(program).map((v) => v.code)).toEqual(["unbound-ref", "cycle"])
  })

  it("accepts an empty document with an entry", () => {
    const program: Program = {
      ir: "trellis/1",
      entry: "main",
      programs: { main: { params: [], nodes: [], result: { kind: "lit", value: null } } },
      signatures: {}
    }
    expect(validate(program)).toEqual([])
  })
})
