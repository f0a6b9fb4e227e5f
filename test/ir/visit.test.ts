/** Traversal helpers of the IR (src/ir/visit.ts). */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { arbProgram } from "../../laws/arbitrary.js"
import { pathToPointer } from "../../src/ir/diagnostic.js"
import type { Path } from "../../src/ir/diagnostic.js"
import type { Expr, Node, Program } from "../../src/ir/schema.js"
import {
  EXPR_FIELDS,
  exprRoots,
  forEachExpr,
  forEachNode,
  forEachSubExpr,
  forEachSubExprWithPath,
  mapExpr,
  mapExprs,
  NODE_FIELDS,
  parseShape,
  scopes
} from "../../src/ir/visit.js"

const lit = (value: number | string | null): Expr => ({ kind: "lit", value })
const ref = (name: string): Expr => ({ kind: "ref", name })

/** Reads the value at a path of a document. */
const at = (doc: unknown, path: Path): unknown =>
  path.reduce<unknown>((v, seg) => (v as Record<string | number, unknown>)[seg], doc)

const sample: Program = {
  ir: "trellis/1",
  entry: "main",
  programs: {
    main: {
      params: [{
        name: "xs",
        type: { kind: "list", of: { kind: "number" } },
        default: { kind: "list", items: [lit(1)] }
      }],
      nodes: [
        { id: "a", kind: "tool", tool: "t", args: { q: ref("xs") }, policy: { idempotencyKey: ref("xs") } },
        {
          id: "m",
          kind: "map",
          over: ref("xs"),
          as: "x",
          body: {
            nodes: [
              {
                id: "b",
                kind: "branch",
                cond: { kind: "binary", op: ">", left: ref("x"), right: lit(0) },
                then: { nodes: [{ id: "$0", kind: "tool", tool: "p", args: {} }], result: ref("$0") },
                else: null
              }
            ],
            result: ref("b")
          }
        },
        {
          id: "c",
          kind: "choose",
          key: "k",
          options: [
            { label: "one", body: { nodes: [], result: lit(1) } },
            { label: "two", body: { nodes: [{ id: "e", kind: "expr", expr: ref("a") }], result: ref("e") } }
          ]
        }
      ],
      result: { kind: "record", entries: [{ key: "m", value: ref("m") }] }
    },
    other: { params: [], nodes: [], result: lit(null) }
  },
  signatures: {}
}

describe("field tables", () => {
  it("list every field of every kind (the token stream round-trips through them)", () => {
    expect(Object.keys(EXPR_FIELDS).sort()).toEqual(
      ["binary", "call", "get", "index", "list", "lit", "record", "ref", "slice", "unary"].sort()
    )
    expect(Object.keys(NODE_FIELDS).sort()).toEqual(
      ["branch", "call", "choose", "expr", "llm", "map", "race", "tool", "wait"].sort()
    )
    // the tables name every key a node carries (besides kind)
    forEachNode(sample, (node) => {
      const names = NODE_FIELDS[node.kind].map(([n]) => n)
      for (const k of Object.keys(node)) if (k !== "kind") expect(names).toContain(k)
    })
  })

  it("parse shape modifiers", () => {
    expect(parseShape("policy?")).toEqual({ base: "policy", optional: true, nullable: false })
    expect(parseShape("body|null")).toEqual({ base: "body", optional: false, nullable: true })
    expect(parseShape("expr[]")).toEqual({ base: "expr[]", optional: false, nullable: false })
  })
})

describe("forEachNode and scopes", () => {
  it("visit nodes in pre-order source order with their paths", () => {
    const seen: Array<[string, string, number]> = []
    forEachNode(sample, (node, info) => seen.push([node.id, pathToPointer(info.path), info.depth]))
    expect(seen).toEqual([
      ["a", "/programs/main/nodes/0", 0],
      ["m", "/programs/main/nodes/1", 0],
      ["b", "/programs/main/nodes/1/body/nodes/0", 1],
      ["$0", "/programs/main/nodes/1/body/nodes/0/then/nodes/0", 2],
      ["c", "/programs/main/nodes/2", 0],
      ["e", "/programs/main/nodes/2/options/1/body/nodes/0", 1]
    ])
    for (const [id, pointer] of seen) {
      expect((at(sample, pointer.slice(1).split("/").map((s) => (/^\d+$/.test(s) ? Number(s) : s))) as Node).id).toBe(
        id
      )
    }
  })

  it("list scopes with parents, owners and bound names", () => {
    const s = scopes(sample)
    expect(s.map((x) => [pathToPointer(x.path), x.depth, x.parent, x.owner?.id, x.bound])).toEqual([
      ["/programs/main", 0, undefined, undefined, ["xs"]],
      ["/programs/main/nodes/1/body", 1, 0, "m", ["x"]],
      ["/programs/main/nodes/1/body/nodes/0/then", 2, 1, "b", []],
      ["/programs/main/nodes/2/options/0/body", 1, 0, "c", []],
      ["/programs/main/nodes/2/options/1/body", 1, 0, "c", []],
      ["/programs/other", 0, undefined, undefined, []]
    ])
    for (const x of s) expect(at(sample, x.path)).toBe(x.body)
  })

  it("agree with each other on generated programs", () => {
    fc.assert(
      fc.property(arbProgram, (p) => {
        const ids: Array<string> = []
        forEachNode(p, (node, info) => {
          expect(at(p, info.path)).toBe(node)
          ids.push(node.id)
        })
        const fromScopes = scopes(p).flatMap((s) => s.body.nodes.map((n) => n.id))
        expect([...fromScopes].sort()).toEqual([...ids].sort())
        // pre-order: synthetic ids come out numbered 0, 1, 2, … per program
        for (const name of Object.keys(p.programs)) {
          const synthetic: Array<string> = []
          forEachNode({ ...p, programs: { [name]: p.programs[name]! } }, (n) => {
            if (n.id.startsWith("$")) synthetic.push(n.id)
          })
          expect(synthetic).toEqual(synthetic.map((_, i) => `$${i}`))
        }
      }),
      { numRuns: 50 }
    )
  })
})

describe("expressions", () => {
  it("forEachExpr reaches every expression with a path that points at it", () => {
    const found: Array<string> = []
    forEachExpr(sample, (e, path) => {
      expect(at(sample, path)).toBe(e)
      found.push(pathToPointer(path))
    })
    expect(found).toEqual([
      "/programs/main/params/0/default",
      "/programs/main/params/0/default/items/0",
      "/programs/main/nodes/0/args/q",
      "/programs/main/nodes/0/policy/idempotencyKey",
      "/programs/main/nodes/1/over",
      "/programs/main/result",
      "/programs/main/result/entries/0/value",
      "/programs/main/nodes/1/body/nodes/0/cond",
      "/programs/main/nodes/1/body/nodes/0/cond/left",
      "/programs/main/nodes/1/body/nodes/0/cond/right",
      "/programs/main/nodes/1/body/result",
      "/programs/main/nodes/1/body/nodes/0/then/result",
      "/programs/main/nodes/2/options/0/body/result",
      "/programs/main/nodes/2/options/1/body/nodes/0/expr",
      "/programs/main/nodes/2/options/1/body/result",
      "/programs/other/result"
    ])
  })

  it("paths of forEachExpr resolve on generated programs", () => {
    fc.assert(
      fc.property(arbProgram, (p) => {
        forEachExpr(p, (e, path) => expect(at(p, path)).toBe(e))
      }),
      { numRuns: 50 }
    )
  })

  it("forEachSubExprWithPath gives paths relative to a base", () => {
    const e: Expr = { kind: "call", fn: "len", args: [{ kind: "get", target: ref("a"), field: "f" }] }
    const seen: Array<[string, Path]> = []
    forEachSubExprWithPath(e, (x, path) => seen.push([x.kind, path]), ["r"])
    expect(seen).toEqual([
      ["call", ["r"]],
      ["get", ["r", "args", 0]],
      ["ref", ["r", "args", 0, "target"]]
    ])
  })

  it("mapExpr rewrites bottom-up and keeps unchanged subtrees", () => {
    const e: Expr = {
      kind: "binary",
      op: "+",
      left: { kind: "binary", op: "*", left: lit(2), right: lit(3) },
      right: { kind: "slice", target: ref("s"), start: null, end: lit(1) }
    }
    const order: Array<string> = []
    const out = mapExpr(e, (x) => {
      order.push(x.kind === "lit" ? String(x.value) : x.kind === "ref" ? x.name : x.kind)
      return x.kind === "ref" ? ref("t") : x
    })
    expect(order).toEqual(["2", "3", "binary", "s", "1", "slice", "binary"])
    expect(out).toEqual({ ...e, right: { kind: "slice", target: ref("t"), start: null, end: lit(1) } })
    expect(out.kind === "binary" && e.kind === "binary" && out.left === e.left).toBe(true)
    expect(mapExpr(e, (x) => x)).toBe(e)
  })

  it("mapExprs rewrites every root and nothing else", () => {
    const renamed = mapExprs(
      sample,
      (root) => mapExpr(root, (x) => (x.kind === "ref" && x.name === "xs" ? ref("ys") : x))
    )
    const refs: Array<string> = []
    forEachExpr(renamed, (x) => {
      if (x.kind === "ref") refs.push(x.name)
    })
    expect(refs).not.toContain("xs")
    expect(refs.filter((r) => r === "ys")).toHaveLength(3)
    expect(renamed.programs["main"]!.params[0]!.name).toBe("xs")
    expect(exprRoots(renamed).length).toBe(exprRoots(sample).length)
    // identity rewrite is structurally the identity
    expect(mapExprs(sample, (x) => x)).toEqual(sample)
  })
})

describe("stack safety", () => {
  it("handles a flat scope of 100k nodes", () => {
    const nodes: Array<Node> = Array.from({ length: 100_000 }, (_, i) => ({
      id: `n${i}`,
      kind: "expr",
      expr: i === 0 ? lit(0) : { kind: "binary", op: "+", left: ref(`n${i - 1}`), right: lit(1) }
    }))
    const p: Program = {
      ir: "trellis/1",
      entry: "main",
      programs: { main: { params: [], nodes, result: ref("n99999") } },
      signatures: {}
    }
    let count = 0
    forEachNode(p, () => count++)
    expect(count).toBe(100_000)
    let exprs = 0
    forEachExpr(p, () => exprs++)
    expect(exprs).toBe(1 + 3 * 99_999 + 1)
    expect(scopes(p)).toHaveLength(1)
    const mapped = mapExprs(p, (root) => mapExpr(root, (x) => x))
    expect(mapped.programs["main"]!.nodes).toHaveLength(100_000)
  })

  it("handles an expression nested 100k deep", () => {
    let e: Expr = lit(0)
    for (let i = 0; i < 100_000; i++) e = { kind: "binary", op: "+", left: e, right: lit(i) }
    let n = 0
    forEachSubExpr(e, () => n++)
    expect(n).toBe(200_001)
    let refs = 0
    const out = mapExpr(e, (x) => (x.kind === "lit" && x.value === 0 ? (refs++, ref("z")) : x))
    expect(refs).toBe(2)
    // the innermost literal was replaced (vitest's matchers recurse, so walk by hand)
    let leaf: Expr = out
    while (leaf.kind === "binary") leaf = leaf.left
    expect(leaf).toEqual(ref("z"))
    expect(out === e).toBe(false)
  })
})
