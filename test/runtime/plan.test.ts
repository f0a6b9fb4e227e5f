/** The plan: dependency counts, dependents and nested scopes, built once; what it refuses (cycles, unknown callees, unknown `after:`). */
import { Either } from "effect"
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import type { Node, Program } from "../../src/ir/schema.js"
import * as Plan from "../../src/runtime/plan.js"
import { compileProgram } from "../support/runtime.js"

const doc = (nodes: ReadonlyArray<Node>, extra: Program["programs"] = {}): Program => ({
  ir: "trellis/1",
  entry: "main",
  programs: { main: { params: [], nodes, result: { kind: "lit", value: null } }, ...extra },
  signatures: {}
})
const ref = (name: string) => ({ kind: "ref", name }) as const

describe("Plan.make", () => {
  it("counts same-scope dependencies, including refs from nested bodies and after:", () => {
    const program = doc([
      { id: "a", kind: "expr", expr: { kind: "lit", value: 1 } },
      { id: "b", kind: "expr", expr: ref("a") },
      {
        id: "m",
        kind: "map",
        over: { kind: "list", items: [] },
        as: "x",
        body: {
          nodes: [{ id: "inner", kind: "expr", expr: { kind: "binary", op: "+", left: ref("x"), right: ref("b") } }],
          result: ref("inner")
        }
      },
      { id: "t", kind: "tool", tool: "std.echo", args: { value: { kind: "lit", value: 1 } }, policy: { after: ["m"] } }
    ])
    const plan = Either.getOrThrow(Plan.make(program))
    const scope = plan.entry.scope
    const byId = (id: string) => scope.nodes[scope.indexOf.get(id)!]!
    expect(scope.roots).toEqual([0])
    expect(byId("b").deps).toBe(1)
    expect(byId("m").deps).toBe(1)
    expect(byId("t").deps).toBe(1)
    expect(byId("a").dependents).toEqual([1])
    expect(byId("b").dependents).toEqual([2])
    expect(byId("m").scopes[0]!.nodes.map((n) => n.id)).toEqual(["inner"])
    expect(byId("m").scopes[0]!.roots).toEqual([0])
    expect([...plan.tools]).toEqual(["std.echo"])
    expect(plan.nodeCount).toBe(5)
  })

  it("a name bound inside a body shadows the outer node of that name", () => {
    const program = doc([
      { id: "x", kind: "expr", expr: { kind: "lit", value: 1 } },
      { id: "m", kind: "map", over: { kind: "list", items: [] }, as: "x", body: { nodes: [], result: ref("x") } }
    ])
    const scope = Either.getOrThrow(Plan.make(program)).entry.scope
    expect(scope.nodes[1]!.deps).toBe(0)
  })

  it("refuses cycles, unknown callees and unknown after: names", () => {
    const cycle = Plan.make(doc([
      { id: "a", kind: "expr", expr: ref("b") },
      { id: "b", kind: "expr", expr: ref("a") }
    ]))
    expect(Either.isLeft(cycle) && cycle.left.message).toBe(`Cycle among nodes a, b in program "main"`)
    const callee = Plan.make(doc([{ id: "c", kind: "call", program: "nope", args: {} }]))
    expect(Either.isLeft(callee) && callee.left.message).toBe(`Node "c" runs unknown program "nope"`)
    const after = Plan.make(
      doc([{ id: "a", kind: "expr", expr: { kind: "lit", value: 1 }, policy: { after: ["zz"] } }])
    )
    expect(Either.isLeft(after) && after.left.message).toBe(`Node "a" waits for unknown node "zz"`)
  })

  it("plans every program of examples/call.tr and labels nodes with the user's names", () => {
    const program = compileProgram(readFileSync("examples/call.tr", "utf8"))
    const plan = Either.getOrThrow(Plan.make(program))
    expect([...plan.programs.keys()]).toEqual(["clean", "main", "stats"])
    const labels = plan.entry.scope.nodes.map((n) => n.label).sort()
    expect(labels).toEqual(["cleaned", "stats"])
    expect(plan.hash).toMatch(/^[0-9a-f]{64}$/)
  })
})
