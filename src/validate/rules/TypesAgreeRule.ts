/**
 * V6 type-mismatch: where static types are known (literals, declared
 * params, tool outputs, signature outputs, results of called programs,
 * and what is inferred from them), every use can work: operators get
 * operands they accept, fields exist on records, indexes and slices fit
 * their targets, builtins get the arguments they take, `if` conditions are
 * boolean, `map` goes over a list, and arguments fit the declared inputs
 * of tools, signatures, programs and parameter defaults. `any` is never
 * reported.
 */
import type { Args, Expr, Type } from "../../ir/schema.js"
import type { DeclaredInput } from "../args.js"
import { argumentTypeMessage, calleeName } from "../args.js"
import type { PathRef } from "../path.js"
import type { RuleContext, ValidationRule } from "../ruleContext.js"
import type { Scope } from "../scope.js"
import { formatType, isAssignable, isLiteralExpr } from "../types.js"

/** V6 type-mismatch: known static types agree with their uses. */
export const TypesAgreeRule: ValidationRule = (ctx) => {
  const typeOf = (expr: Expr, scope: Scope | undefined, path: PathRef): Type =>
    ctx.types.typeOfExpr(expr, scope, path, (at, message) => ctx.report("type-mismatch", message, at))

  return {
    Param: (e) => {
      const { param } = e
      if (param.default === undefined) return
      const at = e.path.child("default")
      const actual = typeOf(param.default, undefined, at)
      if (!isAssignable(actual, param.type)) {
        ctx.report(
          "type-mismatch",
          `Default of parameter ${JSON.stringify(param.name)} expects ${formatType(param.type)}, got ${
            formatType(actual)
          }`,
          at
        )
      }
    },
    Node: (e) => {
      const { node, scope, path } = e
      switch (node.kind) {
        case "tool":
          checkArgs(ctx, typeOf, scope, path, node.args, calleeName("tool", node.tool), toolInputs(ctx, node.tool))
          break
        case "llm":
          checkArgs(
            ctx,
            typeOf,
            scope,
            path,
            node.args,
            calleeName("signature", node.signature),
            signatureInputs(ctx, node.signature)
          )
          break
        case "call":
          checkArgs(
            ctx,
            typeOf,
            scope,
            path,
            node.args,
            calleeName("program", node.program),
            programInputs(ctx, node.program)
          )
          break
        case "map": {
          const over = typeOf(node.over, scope, path.child("over"))
          if (over.kind !== "any" && over.kind !== "list") {
            ctx.report("type-mismatch", `map over expects a list, got ${formatType(over)}`, path.child("over"))
          }
          break
        }
        case "branch": {
          const cond = typeOf(node.cond, scope, path.child("cond"))
          if (cond.kind !== "any" && cond.kind !== "boolean") {
            ctx.report(
              "type-mismatch",
              `Condition of "if" must be boolean, got ${formatType(cond)}`,
              path.child("cond")
            )
          }
          break
        }
        case "choose":
          break
        case "expr":
          typeOf(node.expr, scope, path.child("expr"))
          break
      }
      const key = node.policy?.idempotencyKey
      if (key !== undefined) typeOf(key, scope, path.child("policy", "idempotencyKey"))
    },
    Body: {
      leave: (e) => {
        typeOf(e.scope.body.result, e.scope, e.scope.path.child("result"))
      }
    }
  }
}

const toolInputs = (ctx: RuleContext, tool: string): ReadonlyArray<DeclaredInput> => ctx.tools?.get(tool)?.input ?? []

const signatureInputs = (ctx: RuleContext, name: string): ReadonlyArray<DeclaredInput> =>
  Object.hasOwn(ctx.document.signatures, name)
    ? ctx.document.signatures[name]!.inputs.map((f) => ({ name: f.name, type: f.type, optional: false }))
    : []

const programInputs = (ctx: RuleContext, name: string): ReadonlyArray<DeclaredInput> =>
  Object.hasOwn(ctx.document.programs, name)
    ? ctx.document.programs[name]!.params.map((p) => ({
      name: p.name,
      type: p.type,
      optional: p.default !== undefined
    }))
    : []

/** Types every argument; a non-literal one whose type cannot fit its declared input is reported (literals are V4/V5's). */
const checkArgs = (
  ctx: RuleContext,
  typeOf: (expr: Expr, scope: Scope | undefined, path: PathRef) => Type,
  scope: Scope,
  path: PathRef,
  args: Args,
  callee: string,
  inputs: ReadonlyArray<DeclaredInput>
): void => {
  const declared = new Map<string, Type>()
  for (const input of inputs) if (!declared.has(input.name)) declared.set(input.name, input.type)
  for (const name of Object.keys(args)) {
    const arg = args[name]!
    const at = path.child("args", name)
    const actual = typeOf(arg, scope, at)
    const expected = declared.get(name)
    if (expected !== undefined && !isLiteralExpr(arg) && !isAssignable(actual, expected)) {
      ctx.report("type-mismatch", argumentTypeMessage(name, callee, expected, actual), at)
    }
  }
}
