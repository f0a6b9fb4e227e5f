/**
 * V9 limits: the document stays within the ResourceLimits — total node
 * count (`maxNodes`), nesting of bodies (`maxDepth`), the size of a map's
 * `over` when statically known (`maxFanOut`: a list literal, or `range` of
 * number literals) and, when set, a map's `concurrency` (`maxConcurrency`).
 */
import type { Expr } from "../../ir/schema.js"
import { PathRef } from "../path.js"
import type { ValidationRule } from "../ruleContext.js"

/** The number of items `over` yields when it is known without running anything. */
export const staticFanOut = (over: Expr): number | undefined => {
  if (over.kind === "list") return over.items.length
  if (over.kind !== "call" || over.fn !== "range") return undefined
  const bounds = over.args.map((a) => (a.kind === "lit" && typeof a.value === "number" ? a.value : undefined))
  const [a, b] = bounds
  if (bounds.length === 1 && a !== undefined) return Math.max(0, Math.ceil(a))
  if (bounds.length === 2 && a !== undefined && b !== undefined) return Math.max(0, Math.ceil(b - a))
  return undefined
}

/** V9 limits: node count, body nesting, static fan-out and concurrency stay within the limits. */
export const LimitsRule: ValidationRule = (ctx) => {
  const { maxNodes, maxDepth, maxFanOut, maxConcurrency } = ctx.limits
  let nodes = 0
  let deepest = 0
  let firstTooDeep: PathRef | undefined
  return {
    Program: {
      enter: () => {
        deepest = 0
        firstTooDeep = undefined
      },
      leave: () => {
        if (firstTooDeep !== undefined) {
          ctx.report("limits", `Nesting depth ${deepest} exceeds the limit of ${maxDepth}`, firstTooDeep)
        }
      }
    },
    Body: (e) => {
      const level = e.scope.level
      if (level > deepest) deepest = level
      if (level > maxDepth && firstTooDeep === undefined) firstTooDeep = e.scope.path
    },
    Node: (e) => {
      nodes++
      const { node, path } = e
      if (node.kind !== "map") return
      const fanOut = staticFanOut(node.over)
      if (fanOut !== undefined && fanOut > maxFanOut) {
        ctx.report("limits", `Fan-out of ${fanOut} exceeds the limit of ${maxFanOut}`, path.child("over"))
      }
      if (maxConcurrency !== undefined && node.concurrency !== undefined && node.concurrency > maxConcurrency) {
        ctx.report(
          "limits",
          `Concurrency ${node.concurrency} exceeds the limit of ${maxConcurrency}`,
          path.child("concurrency")
        )
      }
    },
    Document: {
      leave: () => {
        if (nodes > maxNodes) {
          ctx.report("limits", `Too many nodes: ${nodes} exceeds the limit of ${maxNodes}`, PathRef.root)
        }
      }
    }
  }
}
