import { describe, it } from "vitest"
import { at, expectErrors, expectValid, T, tools } from "../../support/validate.js"

const table = tools([
  {
    name: "search",
    input: { query: T.string, "k?": T.number, "filters?": T.record({ tags: T.list(T.string) }) },
    output: T.list(T.record({ url: T.string, text: T.string })),
    idempotent: true
  },
  { name: "audit.log", input: { "event?": T.any } }
])

describe("V4 unknown-tool, bad-args (KnownToolsRule)", () => {
  it("accepts known tools with fitting arguments", () => {
    expectValid(
      `program main(q: string) {
  hits = tool search(query: q, k: 5, filters: { tags: ["a", "b"] })
  tool audit.log(event: { n: len(hits) })
  return hits
}`,
      { tools: table }
    )
  })

  it("is skipped without a tool table", () => {
    expectValid(`program main() {
  x = tool nothing.here(whatever: 1)
  return x
}`)
  })

  it("reports an unknown tool at its name", () => {
    const src = `program main() {
  x = tool serch(query: "a")
  return x
}`
    expectErrors(src, { tools: table }).toEqual([
      {
        code: "unknown-tool",
        message: "Unknown tool \"serch\"",
        path: ["programs", "main", "nodes", 0, "tool"],
        span: at(src, "serch")
      }
    ])
  })

  it("reports unknown names, literal type mismatches and missing arguments", () => {
    const src = `program main() {
  x = tool search(q: "a", k: "five", filters: { tags: [1] })
  return x
}`
    expectErrors(src, { tools: table }).toEqual([
      {
        code: "bad-args",
        message: "Unknown argument \"q\" for tool \"search\"",
        path: ["programs", "main", "nodes", 0, "args", "q"],
        span: at(src, "\"a\"", "q: \"a\"")
      },
      {
        code: "bad-args",
        message: "Argument \"k\" of tool \"search\" expects number, got string",
        path: ["programs", "main", "nodes", 0, "args", "k"],
        span: at(src, "\"five\"", "k: \"five\"")
      },
      {
        code: "bad-args",
        message: "Argument \"filters\" of tool \"search\" expects { tags: string[] }, got { tags: number[] }",
        path: ["programs", "main", "nodes", 0, "args", "filters"],
        span: at(src, "{ tags: [1] }", "filters: { tags: [1] }")
      },
      {
        code: "bad-args",
        message: "Missing argument \"query\" for tool \"search\"",
        path: ["programs", "main", "nodes", 0, "args"],
        span: at(src, `x = tool search(q: "a", k: "five", filters: { tags: [1] })`)
      }
    ])
  })

  it("leaves non-literal arguments to V6", () => {
    const src = `program main(n: number) {
  x = tool search(query: n)
  return x
}`
    expectErrors(src, { tools: table }).toEqual([
      {
        code: "type-mismatch",
        message: "Argument \"query\" of tool \"search\" expects string, got number",
        path: ["programs", "main", "nodes", 0, "args", "query"],
        span: at(src, "n", "query: n")
      }
    ])
  })
})
