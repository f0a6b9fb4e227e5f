/**
 * V2 cycle: in every scope, the graph of data references and `after` edges
 * between its nodes is acyclic. A node that holds bodies depends on every
 * node of its scope that its bodies reference.
 */
import { findCycles } from "../graph.js"
import type { ValidationRule } from "../ruleContext.js"
import type { Scope } from "../scope.js"

/** V2 cycle: each scope's dependency graph (refs, refs from nested bodies, `after`) is acyclic. */
export const NoCyclesRule: ValidationRule = (ctx) => {
  const graphs = new Map<Scope, Array<Set<number> | undefined>>()
  const addEdge = (scope: Scope, from: number, to: number) => {
    const graph = graphs.get(scope)
    if (graph === undefined) return
    let succ = graph[from]
    if (succ === undefined) {
      succ = new Set()
      graph[from] = succ
    }
    succ.add(to)
  }
  return {
    Body: {
      enter: (e) => {
        graphs.set(e.scope, [])
      },
      leave: (e) => {
        const { scope } = e
        const graph = graphs.get(scope) ?? []
        graphs.delete(scope)
        const nodes = scope.nodes
        findCycles(
          nodes.length,
          (v) => [...(graph[v] ?? [])],
          (cycle) => {
            const ids = cycle.map((i) => nodes[i]!.id)
            ctx.report("cycle", `Cycle: ${[...ids, ids[0]].join(" -> ")}`, scope.path.child("nodes", cycle[0]!))
          },
          ctx.isFull
        )
      }
    },
    Expr: (e) => {
      if (e.expr.kind !== "ref") return
      const binding = ctx.resolve(e.expr.name)
      if (binding === undefined || binding.kind !== "node") return
      const owner = ctx.ownerIn(binding.scope)
      if (owner !== undefined) addEdge(binding.scope, owner, binding.index)
    },
    After: (e) => {
      const sibling = e.scope.sibling(e.name)
      if (sibling !== undefined) addEdge(e.scope, e.nodeIndex, sibling.index)
    }
  }
}
