/** The shared program generator keeps the conventions it promises (laws/arbitrary.ts). */
import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import * as fc from "fast-check"
import type { Body, Expr, Node, Program } from "../src/ir/schema.js"
import { Program as ProgramSchema } from "../src/ir/schema.js"
import { childBodies, forEachNode, forEachSubExpr, nodeExprs } from "../src/ir/visit.js"
import { validate } from "../src/validate/index.js"
import { arbExpr, arbProgram, arbSchemaProgram, buildProgram } from "./arbitrary.js"

const isProgram = Schema.is(ProgramSchema)
const SYNTHETIC = /^\$[0-9]+$/

const refsOf = (e: Expr): Array<string> => {
  const out: Array<string> = []
  forEachSubExpr(e, (x) => {
    if (x.kind === "ref") out.push(x.name)
  })
  return out
}

/** Lists every broken convention of a generated program (empty when well-formed). */
const issues = (program: Program): Array<string> => {
  const out: Array<string> = []
  const names = Object.keys(program.programs)
  const expectedEntry = names.includes("main") ? "main" : names[0]
  if (program.entry !== expectedEntry) out.push(`entry ${program.entry}`)
  names.forEach((pname, pi) => {
    const def = program.programs[pname]!
    const bound = new Set<string>()
    const bind = (n: string) => {
      if (bound.has(n)) out.push(`${pname}: ${n} bound twice`)
      bound.add(n)
    }
    def.params.forEach((p) => {
      bind(p.name)
      if (p.default !== undefined && refsOf(p.default).length > 0) out.push(`${pname}: default with refs`)
    })
    const checkScope = (body: Body, env: ReadonlySet<string>, depth: number) => {
      if (depth > 3) out.push(`${pname}: depth ${depth}`)
      if (body.nodes.length > 9) out.push(`${pname}: ${body.nodes.length} nodes in a scope`)
      const earlier = new Set<string>()
      body.nodes.forEach((node: Node, i) => {
        const synthetic = SYNTHETIC.test(node.id)
        if (synthetic && node.kind === "expr") out.push(`${pname}: synthetic expr node`)
        const visible = new Set([...env, ...earlier])
        for (const [, e] of nodeExprs(node)) {
          for (const r of refsOf(e)) if (!visible.has(r)) out.push(`${pname}: ${node.id} refers to ${r}`)
        }
        for (const a of node.policy?.after ?? []) if (!earlier.has(a)) out.push(`${pname}: after ${a}`)
        if (node.kind === "call") {
          const callee = program.programs[node.program]
          if (names.indexOf(node.program) <= pi || callee === undefined) out.push(`${pname}: calls ${node.program}`)
          else expect(Object.keys(node.args).sort()).toEqual(callee.params.map((p) => p.name).sort())
        }
        if (node.kind === "llm") {
          const sig = program.signatures[node.signature]
          if (sig === undefined) out.push(`unknown signature ${node.signature}`)
          else expect(Object.keys(node.args).sort()).toEqual(sig.inputs.map((f) => f.name).sort())
        }
        if (node.kind === "map") bind(node.as)
        for (const [, b] of childBodies(node)) {
          checkScope(b, node.kind === "map" ? new Set([...visible, node.as]) : visible, depth + 1)
        }
        if (!synthetic) {
          bind(node.id)
          earlier.add(node.id)
        } else if (i !== body.nodes.length - 1 || body.result.kind !== "ref" || body.result.name !== node.id) {
          // a synthetic node that is not the return step must be a bare effect step nobody refers to
          if (node.kind === "expr") out.push(`${pname}: bare expr step`)
        }
      })
      const visible = new Set([...env, ...earlier])
      const last = body.nodes[body.nodes.length - 1]
      for (const r of refsOf(body.result)) {
        if (SYNTHETIC.test(r)) {
          if (last?.id !== r || body.result.kind !== "ref") {
            out.push(`${pname}: result refers to ${r} which is not the return step`)
          }
        } else if (!visible.has(r)) out.push(`${pname}: result refers to ${r}`)
      }
    }
    checkScope(def, new Set(def.params.map((p) => p.name)), 0)
    // synthetic ids numbered per program in pre-order
    let next = 0
    forEachNode({ ...program, programs: { [pname]: def } }, (node) => {
      if (SYNTHETIC.test(node.id)) {
        if (node.id !== `$${next}`) out.push(`${pname}: synthetic ${node.id}, expected $${next}`)
        next++
      }
    })
  })
  return out
}

describe("arbProgram", () => {
  it("generates Schema-valid programs that keep the conventions", () => {
    fc.assert(
      fc.property(arbProgram, (p) => {
        expect(isProgram(p)).toBe(true)
        expect(issues(p)).toEqual([])
      }),
      { numRuns: 300 }
    )
  })

  it("validates clean of V1–V3 and V8", () => {
    const structural = new Set([
      "unbound-ref",
      "cycle",
      "duplicate-name",
      "recursive-call",
      "unknown-program",
      "bad-entry"
    ])
    fc.assert(
      fc.property(arbProgram, (p) => {
        expect(validate(p).filter((v) => structural.has(v.code))).toEqual([])
      }),
      { numRuns: 200 }
    )
  })

  it("covers every node kind, synthetic return steps and policies", () => {
    const seen = new Set<string>()
    for (const p of fc.sample(arbProgram, { numRuns: 200, seed: 7 })) {
      forEachNode(p, (node, info) => {
        seen.add(node.kind)
        if (SYNTHETIC.test(node.id)) seen.add("synthetic")
        if (node.policy?.after !== undefined) seen.add("after")
        if (node.policy?.retry !== undefined) seen.add("retry")
        if (node.kind === "llm" && node.model !== undefined) seen.add("model")
        if (node.kind === "map" && node.concurrency !== undefined) seen.add("concurrency")
        if (node.kind === "map" && node.take !== undefined) seen.add("take")
        if (node.policy?.hedge !== undefined) seen.add("hedge")
        if (node.kind === "branch" && node.else === null) seen.add("else-less")
        if (info.depth === 3) seen.add("depth 3")
      })
      for (const def of Object.values(p.programs)) {
        if (def.result.kind === "ref" && SYNTHETIC.test(def.result.name)) seen.add("return step")
      }
    }
    expect([...seen].sort()).toEqual(
      [
        "after",
        "branch",
        "call",
        "choose",
        "concurrency",
        "depth 3",
        "else-less",
        "hedge",
        "expr",
        "llm",
        "map",
        "model",
        "race",
        "retry",
        "return step",
        "synthetic",
        "take",
        "tool",
        "wait"
      ].sort()
    )
  })

  it("builds the empty-ish program from an empty tape", () => {
    const p = buildProgram({ draws: [], strings: [], numbers: [] })
    expect(p).toEqual({
      ir: "trellis/1",
      entry: "helper",
      programs: {
        helper: {
          params: [],
          nodes: [{ id: "q", kind: "expr", expr: { kind: "lit", value: null } }],
          result: { kind: "lit", value: null }
        }
      },
      signatures: {}
    })
  })

  it("the checker above catches a broken convention", () => {
    const p = buildProgram({ draws: [], strings: [], numbers: [] })
    const broken: Program = {
      ...p,
      programs: { helper: { ...p.programs.helper!, result: { kind: "ref", name: "nowhere" } } }
    }
    expect(issues(broken)).toEqual(["helper: result refers to nowhere"])
  })
})

describe("arbSchemaProgram and arbExpr", () => {
  it("generate Schema-valid values", () => {
    fc.assert(fc.property(arbSchemaProgram, (p) => isProgram(p)), { numRuns: 200 })
    const isExpr = Schema.is(ProgramSchema.fields.programs.value.fields.result)
    fc.assert(fc.property(arbExpr, (e) => isExpr(e) && refsOf(e).length === 0), { numRuns: 200 })
  })
})
