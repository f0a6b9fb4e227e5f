/**
 * V10 bad-fan-in: fan-outs that do not wait for all make sense — a `race`
 * has at least two options, a map's `take` is an integer >= 1 and, when the
 * map's list is known without running anything, no larger than it (a
 * first-k that can never be met).
 */
import type { ValidationRule } from "../ruleContext.js"
import { staticFanOut } from "./LimitsRule.js"

/** V10 bad-fan-in: `race` options and `take` counts. */
export const FanInRule: ValidationRule = (ctx) => ({
  Node: (e) => {
    const { node, path } = e
    if (node.kind === "race" && node.options.length < 2) {
      ctx.report(
        "bad-fan-in",
        `race needs at least two options, got ${node.options.length}`,
        path.child("options")
      )
    }
    if (node.kind !== "map" || node.take === undefined) return
    const take = node.take
    const at = path.child("take")
    if (!Number.isInteger(take) || take < 1) {
      ctx.report("bad-fan-in", `take must be an integer >= 1, got ${take}`, at)
      return
    }
    const fanOut = staticFanOut(node.over)
    if (fanOut !== undefined && take > fanOut) {
      ctx.report("bad-fan-in", `take ${take} asks for more results than the ${fanOut} items mapped over`, at)
    }
  }
})
