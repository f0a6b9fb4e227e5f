/**
 * V10 bad-fan-in: fan-outs that do not wait for all make sense — a `race`
 * has at least two options, a map's `take` is an integer >= 1 and, when the
 * map's list is known without running anything, no larger than it (a
 * first-k that can never be met); a map's `fold` names a program of the
 * file with two parameters (the accumulator and a result), and comes with
 * an `init` that is a constant (no refs), and `init` only with `fold`.
 */
import { forEachSubExpr } from "../../ir/visit.js"
import type { ValidationRule } from "../ruleContext.js"
import { staticFanOut } from "./LimitsRule.js"

/** V10 bad-fan-in: `race` options, `take` counts, `fold` programs and their init. */
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
    if (node.kind !== "map") return
    if (node.fold !== undefined) {
      const programs = ctx.document.programs
      const def = Object.prototype.hasOwnProperty.call(programs, node.fold) ? programs[node.fold] : undefined
      if (def === undefined) {
        ctx.report("bad-fan-in", `fold names unknown program ${JSON.stringify(node.fold)}`, path.child("fold"))
      } else if (def.params.length !== 2) {
        ctx.report(
          "bad-fan-in",
          `fold program ${
            JSON.stringify(node.fold)
          } must take two parameters (accumulator, result), takes ${def.params.length}`,
          path.child("fold")
        )
      }
      if (node.init === undefined) ctx.report("bad-fan-in", "fold needs an init value", path)
    }
    if (node.init !== undefined) {
      if (node.fold === undefined) ctx.report("bad-fan-in", "init is only meaningful with fold", path.child("init"))
      let refs = 0
      forEachSubExpr(node.init, (x) => {
        if (x.kind === "ref") refs++
      })
      if (refs > 0) ctx.report("bad-fan-in", "fold init must be a constant (no references)", path.child("init"))
    }
    if (node.take === undefined) return
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
