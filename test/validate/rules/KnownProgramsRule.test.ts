import { describe, it } from "vitest"
import { at, expectErrors, expectIrErrors, expectValid } from "../../support/validate.js"

describe("V5 unknown-program, bad-args, bad-entry (KnownProgramsRule)", () => {
  it("accepts calls with the required params (params with defaults are optional)", () => {
    expectValid(`
program helper(text: string, times: number = 1) { return text }
program main() {
  a = run helper(text: "x")
  b = run helper(text: a, times: 2)
  return b
}`)
  })

  it("reports an unknown program", () => {
    const src = `program main() {
  a = run nowhere(x: 1)
  return a
}`
    expectErrors(src).toEqual([
      {
        code: "unknown-program",
        message: "Unknown program \"nowhere\"",
        path: ["programs", "main", "nodes", 0, "program"],
        span: at(src, "nowhere")
      }
    ])
  })

  it("checks call args against the callee's params", () => {
    const src = `program helper(text: string, times: number = 1) { return text }
program main() {
  a = run helper(times: "2", extra: true)
  return a
}`
    expectErrors(src).toEqual([
      {
        code: "bad-args",
        message: "Argument \"times\" of program \"helper\" expects number, got string",
        path: ["programs", "main", "nodes", 0, "args", "times"],
        span: at(src, "\"2\"", "times: \"2\"")
      },
      {
        code: "bad-args",
        message: "Unknown argument \"extra\" for program \"helper\"",
        path: ["programs", "main", "nodes", 0, "args", "extra"],
        span: at(src, "true", "extra: true")
      },
      {
        code: "bad-args",
        message: "Missing argument \"text\" for program \"helper\"",
        path: ["programs", "main", "nodes", 0, "args"],
        span: at(src, "a = run helper(times: \"2\", extra: true)")
      }
    ])
  })

  it("types a call by the callee's result", () => {
    const src = `program helper() { return { n: 1 } }
program main() {
  a = run helper()
  return a.n + a.m
}`
    expectErrors(src).toEqual([
      {
        code: "type-mismatch",
        message: "Record has no field \"m\"",
        path: ["programs", "main", "result", "right"],
        span: at(src, "a.m")
      }
    ])
  })

  it("reports an entry that is not a program", () => {
    expectIrErrors({
      ir: "trellis/1",
      entry: "start",
      programs: { main: { params: [], nodes: [], result: { kind: "lit", value: 1 } } },
      signatures: {}
    }).toEqual([{ code: "bad-entry", message: "Entry \"start\" is not a program", path: ["entry"] }])
  })
})
