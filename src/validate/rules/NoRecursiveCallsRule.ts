/**
 * V8 recursive-call: the call graph between the programs of a document
 * (program A has a `run B` step anywhere in its bodies) is acyclic.
 */
import { findCycles } from "../graph.js"
import type { PathRef } from "../path.js"
import type { ValidationRule } from "../ruleContext.js"

/** V8 recursive-call: programs do not call themselves, directly or through others. */
export const NoRecursiveCallsRule: ValidationRule = (ctx) => {
  const names = Object.keys(ctx.document.programs)
  const indexOf = new Map(names.map((name, i) => [name, i]))
  // Per caller: callee index → path of the first call step.
  const calls: Array<Map<number, PathRef>> = names.map(() => new Map())
  let caller: number | undefined
  return {
    Program: (e) => {
      caller = indexOf.get(e.name)
    },
    Node: (e) => {
      if (e.node.kind !== "call" || caller === undefined) return
      const callee = Object.hasOwn(ctx.document.programs, e.node.program) ? indexOf.get(e.node.program) : undefined
      const edges = calls[caller]!
      if (callee !== undefined && !edges.has(callee)) edges.set(callee, e.path)
    },
    Document: {
      leave: () => {
        findCycles(
          names.length,
          (v) => [...calls[v]!.keys()],
          (cycle) => {
            const first = cycle[0]!
            const second = cycle[1] ?? first
            const message = `Recursive call: ${[...cycle, first].map((i) => names[i]).join(" -> ")}`
            ctx.report("recursive-call", message, calls[first]!.get(second)!)
          },
          ctx.isFull
        )
      }
    }
  }
}
