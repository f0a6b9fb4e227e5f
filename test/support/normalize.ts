/** Small builders and a DSL front door for the normalizer's unit tests. */
import { expect } from "vitest"
import type { Body, Expr, Node, Program, Scalar } from "../../src/ir/schema.js"
import { compileSource } from "../../src/language/index.js"
import { normalize } from "../../src/normalize/index.js"

export const lit = (value: Scalar): Expr => ({ kind: "lit", value })
export const ref = (name: string): Expr => ({ kind: "ref", name })
export const bin = (op: Extract<Expr, { kind: "binary" }>["op"], left: Expr, right: Expr): Expr => ({
  kind: "binary",
  op,
  left,
  right
})
export const list = (...items: ReadonlyArray<Expr>): Expr => ({ kind: "list", items })
export const get = (target: Expr, field: string): Expr => ({ kind: "get", target, field })

/** A tool node. */
export const tool = (id: string, name: string, args: Record<string, Expr> = {}, extra: Partial<Node> = {}): Node =>
  ({ id, kind: "tool", tool: name, args, ...extra }) as Node

/** An expr node. */
export const exprNode = (id: string, expr: Expr, extra: Partial<Node> = {}): Node =>
  ({ id, kind: "expr", expr, ...extra }) as Node

/** A one-program document (`main`) with the given params, nodes and result. */
export const program = (
  nodes: ReadonlyArray<Node>,
  result: Expr = lit(null),
  params: ReadonlyArray<{ readonly name: string; readonly default?: Expr }> = []
): Program => ({
  ir: "trellis/1",
  entry: "main",
  programs: {
    main: {
      params: params.map((p) => ({
        name: p.name,
        type: { kind: "any" },
        ...(p.default ? { default: p.default } : {})
      })),
      nodes,
      result
    }
  },
  signatures: {}
})

/** Compiles DSL text (which must be free of errors) to IR. */
export const compile = (source: string): Program => {
  const result = compileSource(source)
  expect(result.syntaxErrors).toEqual([])
  expect(result.violations).toEqual([])
  return result.program!
}

/** Compiles DSL text and normalizes it. */
export const norm = (source: string): Program => normalize(compile(source))

/** The top scope (nodes and result, without params) of `main`. */
export const mainOf = (p: Program): Body => {
  const def = p.programs["main"]!
  return { nodes: def.nodes, result: def.result }
}
