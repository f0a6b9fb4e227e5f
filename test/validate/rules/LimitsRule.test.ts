import { describe, expect, it } from "vitest"
import { staticFanOut } from "../../../src/validate/rules/LimitsRule.js"
import { at, expectErrors, expectValid, violationsOf } from "../../support/validate.js"

const nested = (depth: number): string => {
  let body = "return 1"
  for (let i = depth; i >= 1; i--) body = `b${i} = if flag { ${body} } else { return 0 }\n  return b${i}`
  return `program main(flag: boolean) {\n  ${body}\n}`
}

describe("V9 limits (LimitsRule)", () => {
  it("accepts programs within the default limits", () => {
    expectValid(nested(32))
    expectValid(`program main() {
  m = map i in range(10000) with { concurrency: 64 } { return i }
  return m
}`)
  })

  it("reports nesting deeper than maxDepth once per program, with the deepest level", () => {
    const src = nested(3)
    expectErrors(src, { limits: { maxDepth: 1 } }).toEqual([
      {
        code: "limits",
        message: "Nesting depth 3 exceeds the limit of 1",
        path: ["programs", "main", "nodes", 0, "then", "nodes", 0, "then"],
        span: at(src, "{ b3 = if flag { return 1 } else { return 0 }\n  return b3 }")
      }
    ])
    expect(violationsOf(nested(33)).map((v) => v.message)).toEqual(["Nesting depth 33 exceeds the limit of 32"])
  })

  it("reports a statically known fan-out over maxFanOut", () => {
    const src = `program main() {
  a = map i in range(10001) { return i }
  b = map i in [1, 2, 3] { return i }
  c = map i in range(5, 10) { return i }
  return [a, b, c]
}`
    expectErrors(src).toEqual([
      {
        code: "limits",
        message: "Fan-out of 10001 exceeds the limit of 10000",
        path: ["programs", "main", "nodes", 0, "over"],
        span: at(src, "range(10001)")
      }
    ])
    expect(violationsOf(src, { limits: { maxFanOut: 2 } }).map((v) => v.message)).toEqual([
      "Fan-out of 10001 exceeds the limit of 2",
      "Fan-out of 3 exceeds the limit of 2",
      "Fan-out of 5 exceeds the limit of 2"
    ])
  })

  it("reports a concurrency over maxConcurrency only when that limit is set", () => {
    const src = `program main(xs: number[]) {
  m = map x in xs with { concurrency: 64 } { return x }
  return m
}`
    expectValid(src)
    expectErrors(src, { limits: { maxConcurrency: 16 } }).toEqual([
      {
        code: "limits",
        message: "Concurrency 64 exceeds the limit of 16",
        path: ["programs", "main", "nodes", 0, "concurrency"],
        span: at(src, "concurrency: 64")
      }
    ])
  })

  it("reports more nodes than maxNodes, counting every program and body", () => {
    const src = `program helper() {
  a = 1
  return a
}
program main(xs: number[]) {
  m = map x in xs {
    y = x + 1
    return y
  }
  return run helper()
}`
    expectValid(src, { limits: { maxNodes: 4 } })
    expectErrors(src, { limits: { maxNodes: 3 } }).toEqual([
      { code: "limits", message: "Too many nodes: 4 exceeds the limit of 3", path: [], span: at(src, src) }
    ])
  })

  it("knows the size of list literals and range of literals only", () => {
    expect(staticFanOut({ kind: "list", items: [{ kind: "lit", value: 1 }] })).toBe(1)
    expect(staticFanOut({ kind: "call", fn: "range", args: [{ kind: "lit", value: 4 }] })).toBe(4)
    expect(
      staticFanOut({ kind: "call", fn: "range", args: [{ kind: "lit", value: 7 }, { kind: "lit", value: 2 }] })
    ).toBe(0)
    expect(staticFanOut({ kind: "call", fn: "range", args: [{ kind: "ref", name: "n" }] })).toBeUndefined()
    expect(staticFanOut({ kind: "ref", name: "xs" })).toBeUndefined()
  })
})
