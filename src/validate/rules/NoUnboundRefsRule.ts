/**
 * V1 unbound-ref: every ref resolves lexically (a node of its scope or an
 * enclosing one, a map binder, or a program param), every `after` name is
 * a node of the same scope, and parameter defaults reference nothing.
 */
import type { ValidationRule } from "../ruleContext.js"

/** V1 unbound-ref: refs resolve lexically; `after` names a sibling node; defaults reference nothing. */
export const NoUnboundRefsRule: ValidationRule = (ctx) => {
  let inDefault = false
  return {
    Param: {
      enter: () => {
        inDefault = true
      },
      leave: () => {
        inDefault = false
      }
    },
    Expr: (e) => {
      if (e.expr.kind !== "ref" || ctx.resolve(e.expr.name) !== undefined) return
      const where = inDefault ? " in parameter default" : ""
      ctx.report("unbound-ref", `Unbound reference ${JSON.stringify(e.expr.name)}${where}`, e.path)
    },
    After: (e) => {
      if (e.scope.sibling(e.name) === undefined) {
        ctx.report("unbound-ref", `Unbound reference ${JSON.stringify(e.name)} in after`, e.path)
      }
    }
  }
}
