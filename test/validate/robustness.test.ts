import { describe, expect, it } from "vitest"
import type { Body, Expr, Node, Program } from "../../src/ir/schema.js"
import { validate } from "../../src/validate/index.js"

const ref = (name: string): Expr => ({ kind: "ref", name })
const lit = (value: number): Expr => ({ kind: "lit", value })
const plus = (left: Expr, right: Expr): Expr => ({ kind: "binary", op: "+", left, right })
const doc = (nodes: ReadonlyArray<Node>, result: Expr = lit(0), extra: Partial<Program> = {}): Program => ({
  ir: "trellis/1",
  entry: "main",
  programs: { main: { params: [], nodes, result } },
  signatures: {},
  ...extra
})

describe("validate on absurd programs", () => {
  it("handles a 100k-node chain in source order, clean", () => {
    const n = 100_000
    const nodes: Array<Node> = Array.from({ length: n }, (_, i) => ({
      id: `n${i}`,
      kind: "expr",
      expr: i === 0 ? lit(1) : plus(ref(`n${i - 1}`), lit(1))
    }))
    expect(validate(doc(nodes, ref(`n${n - 1}`)))).toEqual([])
  })

  it("handles a 100k-node chain in reverse order, and still types what it can", () => {
    const n = 100_000
    const nodes: Array<Node> = Array.from({ length: n }, (_, i) => ({
      id: `n${i}`,
      kind: "expr",
      expr: i === n - 1 ? { kind: "lit", value: "s" } : plus(ref(`n${i + 1}`), lit(1))
    }))
    const violations = validate(doc(nodes, ref("n0")))
    // The string at the end makes the last addition fail; nothing is invented elsewhere.
    expect(violations).toEqual([
      {
        code: "type-mismatch",
        message: "Operator \"+\" expects two numbers, two strings or two lists, got string and number",
        path: ["programs", "main", "nodes", n - 2, "expr"]
      }
    ])
  })

  it("reports a 100k-node cycle once", () => {
    const n = 100_000
    const nodes: Array<Node> = Array.from({ length: n }, (_, i) => ({
      id: `n${i}`,
      kind: "expr",
      expr: plus(ref(`n${(i + 1) % n}`), lit(1))
    }))
    const violations = validate(doc(nodes))
    expect(violations).toHaveLength(1)
    expect(violations[0]!.code).toBe("cycle")
    expect(violations[0]!.message.startsWith("Cycle: n0 -> n1 -> n2")).toBe(true)
    expect(violations[0]!.message.endsWith("n99999 -> n0")).toBe(true)
  })

  it("handles 5,000 nested bodies and a 100k-deep expression", () => {
    let body: Body = { nodes: [{ id: "leaf", kind: "expr", expr: ref("top") }], result: ref("leaf") }
    for (let i = 0; i < 5000; i++) {
      body = {
        nodes: [{ id: `b${i}`, kind: "branch", cond: ref("flag"), then: body, else: null }],
        result: ref(`b${i}`)
      }
    }
    let deep: Expr = lit(0)
    for (let i = 0; i < 100_000; i++) deep = plus(deep, lit(i))
    const program: Program = {
      ir: "trellis/1",
      entry: "main",
      programs: {
        main: {
          params: [{ name: "flag", type: { kind: "boolean" } }],
          nodes: [
            { id: "top", kind: "expr", expr: deep },
            { id: "nest", kind: "branch", cond: ref("flag"), then: body, else: null }
          ],
          result: ref("nest")
        }
      },
      signatures: {}
    }
    const violations = validate(program)
    expect(violations.map((v) => [v.code, v.message])).toEqual([[
      "limits",
      "Nesting depth 5001 exceeds the limit of 32"
    ]])
  })

  it("never throws on refs to nothing, unknown programs, odd names and bad entries", () => {
    const program: Program = {
      ir: "trellis/1",
      entry: "constructor",
      programs: {
        __proto__: { params: [], nodes: [], result: ref("toString") },
        main: {
          params: [{ name: "hasOwnProperty", type: { kind: "any" }, default: ref("valueOf") }],
          nodes: [
            { id: "constructor", kind: "call", program: "toString", args: {} },
            { id: "x", kind: "llm", signature: "__proto__", args: { constructor: ref("y") } },
            { id: "y", kind: "tool", tool: "constructor", args: {} },
            { id: "z", kind: "map", over: ref("nothing"), as: "y", body: { nodes: [], result: ref("y") } }
          ],
          result: { kind: "get", target: ref("x"), field: "__proto__" }
        }
      },
      signatures: {}
    }
    const codes = validate(program).map((v) => v.code)
    expect(codes).toContain("bad-entry")
    expect(codes).toContain("unknown-program")
    expect(codes).toContain("unknown-signature")
    expect(codes).toContain("unbound-ref")
  })

  it("caps the violations at 100 (or maxErrors)", () => {
    const nodes: Array<Node> = Array.from({ length: 500 }, (_, i) => ({ id: `n${i}`, kind: "expr", expr: ref("nope") }))
    expect(validate(doc(nodes))).toHaveLength(100)
    expect(validate(doc(nodes), { maxErrors: 7 })).toHaveLength(7)
  })
})
