/**
 * The argument check shared by V4 (tools), V5 (signatures, called
 * programs) and V6: names against the declared inputs, and types.
 */
import type { ViolationCode } from "../ir/diagnostic.js"
import type { Args, Type } from "../ir/schema.js"
import type { PathRef } from "./path.js"
import type { RuleContext } from "./ruleContext.js"
import { formatType, isAssignable, isLiteralExpr } from "./types.js"

/** A declared input of a tool, signature or program. */
export interface DeclaredInput {
  readonly name: string
  readonly type: Type
  readonly optional: boolean
}

/** The message of an argument whose type does not fit, e.g. `Argument "k" of tool "search" expects number, got string`. */
export const argumentTypeMessage = (name: string, callee: string, expected: Type, actual: Type): string =>
  `Argument ${JSON.stringify(name)} of ${callee} expects ${formatType(expected)}, got ${formatType(actual)}`

/**
 * Reports unknown argument names, literal arguments of the wrong type, and
 * missing required arguments (in that order), with the given code.
 * `callee` names the target in messages, e.g. `tool "search"`.
 */
export const checkArgs = (
  ctx: RuleContext,
  code: ViolationCode,
  callee: string,
  args: Args,
  inputs: ReadonlyArray<DeclaredInput>,
  nodePath: PathRef
): void => {
  const declared = new Map<string, DeclaredInput>()
  for (const input of inputs) if (!declared.has(input.name)) declared.set(input.name, input)
  for (const name of Object.keys(args)) {
    const input = declared.get(name)
    const at = nodePath.child("args", name)
    if (input === undefined) {
      ctx.report(code, `Unknown argument ${JSON.stringify(name)} for ${callee}`, at)
      continue
    }
    const arg = args[name]!
    if (!isLiteralExpr(arg)) continue
    const actual = ctx.types.typeOfExpr(arg, undefined)
    if (!isAssignable(actual, input.type)) ctx.report(code, argumentTypeMessage(name, callee, input.type, actual), at)
  }
  for (const input of declared.values()) {
    if (!input.optional && !Object.hasOwn(args, input.name)) {
      ctx.report(code, `Missing argument ${JSON.stringify(input.name)} for ${callee}`, nodePath.child("args"))
    }
  }
}

/** How a callee is named in messages: `tool "search"`, `signature "Answer"`, `program "research"`. */
export const calleeName = (kind: "tool" | "signature" | "program", name: string): string =>
  `${kind} ${JSON.stringify(name)}`
