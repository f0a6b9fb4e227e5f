import { describe, it } from "vitest"
import { at, expectErrors, expectIrErrors, expectValid } from "../../support/validate.js"

describe("V3 duplicate-name (UniqueNamesRule)", () => {
  it("accepts the same name in different scopes", () => {
    expectValid(`
program main(xs: number[]) {
  y = 1
  m = map x in xs {
    y = x + 1
    return y
  }
  n = map x in xs { return x }
  return { y: y, m: m, n: n }
}`)
  })

  it("reports a node bound twice in one scope, at the second binding", () => {
    const src = `program main() {
  a = 1
  a = 2
  return a
}`
    expectErrors(src).toEqual([
      {
        code: "duplicate-name",
        message: "Duplicate name \"a\"",
        path: ["programs", "main", "nodes", 1, "id"],
        span: at(src, "a", "a = 2")
      }
    ])
  })

  it("reports params bound twice and nodes named like a param", () => {
    const src = `program main(q: string, q: number) {
  q = 1
  return q
}`
    expectErrors(src).toEqual([
      {
        code: "duplicate-name",
        message: "Duplicate name \"q\"",
        path: ["programs", "main", "params", 1, "name"],
        span: at(src, "q", "q: number")
      },
      {
        code: "duplicate-name",
        message: "Duplicate name \"q\"",
        path: ["programs", "main", "nodes", 0, "id"],
        span: at(src, "q", "q = 1")
      }
    ])
  })

  it("reports a body node named like its map's binder", () => {
    const src = `program main() {
  m = map x in [1, 2] {
    x = 3
    return x
  }
  return m
}`
    expectErrors(src).toEqual([
      {
        code: "duplicate-name",
        message: "Duplicate name \"x\"",
        path: ["programs", "main", "nodes", 0, "body", "nodes", 0, "id"],
        span: at(src, "x", "x = 3")
      }
    ])
  })

  it("reports repeated choose labels", () => {
    const src = `program main() {
  c = choose "k" {
    a: { return 1 }
    a: { return 2 }
  }
  return c
}`
    expectErrors(src).toEqual([
      {
        code: "duplicate-name",
        message: "Duplicate name \"a\"",
        path: ["programs", "main", "nodes", 0, "options", 1, "label"],
        span: at(src, "a", "a: { return 2 }")
      }
    ])
  })

  it("reports repeated signature inputs and outputs, each list on its own", () => {
    const src = `signature S {
  input a: string
  input a: number
  output a: string
  output b: string
  output b: number
}
program main() { return 1 }`
    expectErrors(src).toEqual([
      {
        code: "duplicate-name",
        message: "Duplicate name \"a\"",
        path: ["signatures", "S", "inputs", 1, "name"],
        span: at(src, "input a: number")
      },
      {
        code: "duplicate-name",
        message: "Duplicate name \"b\"",
        path: ["signatures", "S", "outputs", 2, "name"],
        span: at(src, "output b: number")
      }
    ])
  })

  it("reports duplicate synthetic ids of hand-built IR", () => {
    expectIrErrors({
      ir: "trellis/1",
      entry: "main",
      programs: {
        main: {
          params: [],
          nodes: [
            { id: "$0", kind: "tool", tool: "t", args: {} },
            { id: "$0", kind: "tool", tool: "u", args: {} }
          ],
          result: { kind: "lit", value: null }
        }
      },
      signatures: {}
    }).toEqual([{
      code: "duplicate-name",
      message: "Duplicate name \"$0\"",
      path: ["programs", "main", "nodes", 1, "id"]
    }])
  })
})
