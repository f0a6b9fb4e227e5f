/**
 * V3 duplicate-name: a name is bound once per scope — the params and
 * top-level nodes of a program, the nodes of a body, a map's binder and
 * the nodes of its body, the inputs (and the outputs) of a signature, and
 * the option labels of a choose.
 */
import type { PathRef } from "../path.js"
import type { ValidationRule } from "../ruleContext.js"

/** V3 duplicate-name: names are bound once per scope (nodes, params, binders, signature fields, choose labels). */
export const UniqueNamesRule: ValidationRule = (ctx) => {
  const check = (names: Iterable<readonly [string, PathRef]>, taken: Set<string> = new Set()) => {
    for (const [name, path] of names) {
      if (taken.has(name)) ctx.report("duplicate-name", `Duplicate name ${JSON.stringify(name)}`, path)
      else taken.add(name)
    }
  }
  return {
    Signature: (e) => {
      check(e.signature.inputs.map((f, i) => [f.name, e.path.child("inputs", i, "name")] as const))
      check(e.signature.outputs.map((f, i) => [f.name, e.path.child("outputs", i, "name")] as const))
    },
    Program: (e) => {
      check(e.def.params.map((p, i) => [p.name, e.path.child("params", i, "name")] as const))
    },
    Body: (e) => {
      const { scope } = e
      const taken = new Set<string>(scope.params.map((p) => p.name))
      if (scope.binderOf !== undefined) taken.add(scope.binderOf.as)
      check(
        scope.nodes.map((n, i) => [n.id, scope.path.child("nodes", i, "id")] as const),
        taken
      )
    },
    Node: (e) => {
      if (e.node.kind !== "choose" && e.node.kind !== "race") return
      check(e.node.options.map((o, i) => [o.label, e.path.child("options", i, "label")] as const))
    }
  }
}
