import { describe, it } from "vitest"
import { at, expectErrors, expectIrErrors, expectValid } from "../../support/validate.js"

describe("V2 cycle (NoCyclesRule)", () => {
  it("accepts a DAG written in any order", () => {
    expectValid(`
program main() {
  c = a + b
  b = a * 2
  a = 1
  return c
}`)
  })

  it("reports a two-node cycle, starting from the first node in scope order", () => {
    const src = `program main() {
  x = 1
  b = a + 1
  a = b + 1
  return a
}`
    expectErrors(src).toEqual([
      {
        code: "cycle",
        message: "Cycle: b -> a -> b",
        path: ["programs", "main", "nodes", 1],
        span: at(src, "b = a + 1")
      }
    ])
  })

  it("reports a self reference", () => {
    const src = `program main() {
  a = a + 1
  return a
}`
    expectErrors(src).toEqual([
      { code: "cycle", message: "Cycle: a -> a", path: ["programs", "main", "nodes", 0], span: at(src, "a = a + 1") }
    ])
  })

  it("reports every cycle found, once each", () => {
    const src = `program main() {
  a = b + c
  b = a
  c = a
  d = e
  e = d
  return d
}`
    expectErrors(src).toEqual([
      {
        code: "cycle",
        message: "Cycle: a -> b -> a",
        path: ["programs", "main", "nodes", 0],
        span: at(src, "a = b + c")
      },
      {
        code: "cycle",
        message: "Cycle: a -> c -> a",
        path: ["programs", "main", "nodes", 0],
        span: at(src, "a = b + c")
      },
      { code: "cycle", message: "Cycle: d -> e -> d", path: ["programs", "main", "nodes", 3], span: at(src, "d = e") }
    ])
  })

  it("counts refs from nested bodies as dependencies of the enclosing node", () => {
    const src = `program main(xs: number[]) {
  total = sum(m)
  m = map x in xs { return x + total }
  return m
}`
    expectErrors(src).toEqual([
      {
        code: "cycle",
        message: "Cycle: total -> m -> total",
        path: ["programs", "main", "nodes", 0],
        span: at(src, "total = sum(m)")
      }
    ])
  })

  it("reports a body that references its own enclosing node", () => {
    const src = `program main(flag: boolean) {
  r = if flag { return r } else { return 0 }
  return r
}`
    expectErrors(src).toEqual([
      {
        code: "cycle",
        message: "Cycle: r -> r",
        path: ["programs", "main", "nodes", 0],
        span: at(src, "r = if flag { return r } else { return 0 }")
      }
    ])
  })

  it("includes `after` edges", () => {
    const src = `program main() {
  a = tool f() with { after: [b] }
  b = tool g(x: a)
  return b
}`
    expectErrors(src).toEqual([
      {
        code: "cycle",
        message: "Cycle: a -> b -> a",
        path: ["programs", "main", "nodes", 0],
        span: at(src, "a = tool f() with { after: [b] }")
      }
    ])
  })

  it("checks each nested scope on its own", () => {
    const src = `program main(xs: number[]) {
  m = map x in xs {
    p = q
    q = p
    return p
  }
  return m
}`
    expectErrors(src).toEqual([
      {
        code: "cycle",
        message: "Cycle: p -> q -> p",
        path: ["programs", "main", "nodes", 0, "body", "nodes", 0],
        span: at(src, "p = q")
      }
    ])
  })

  it("does not see cycles through shadowed names", () => {
    expectValid(`
program main(xs: number[]) {
  a = map a in xs { return a + 1 }
  return a
}`)
  })

  it("names synthetic nodes by their ids", () => {
    expectIrErrors({
      ir: "trellis/1",
      entry: "main",
      programs: {
        main: {
          params: [],
          nodes: [
            { id: "$0", kind: "tool", tool: "t", args: {}, policy: { after: ["$1"] } },
            { id: "$1", kind: "tool", tool: "t", args: {}, policy: { after: ["$0"] } }
          ],
          result: { kind: "lit", value: null }
        }
      },
      signatures: {}
    }).toEqual([{ code: "cycle", message: "Cycle: $0 -> $1 -> $0", path: ["programs", "main", "nodes", 0] }])
  })
})
