/**
 * `validate`: every rule of `rules/index.ts` in one pass over the document,
 * violations in the order they are found, capped at `maxErrors`.
 */
import type { ViolationCode } from "../ir/diagnostic.js"
import { spanOf } from "../ir/diagnostic.js"
import type { Violation } from "../ir/diagnostic.js"
import type { Program } from "../ir/schema.js"
import type { ValidationContext } from "./context.js"
import { defaultLimits } from "./context.js"
import { TypeInfo } from "./infer.js"
import type { PathRef } from "./path.js"
import type { RuleContext, ValidationRule } from "./ruleContext.js"
import { specifiedRules } from "./rules/index.js"
import { ScopeTree } from "./scope.js"
import { Walker } from "./walk.js"

/** The default cap on reported violations. */
export const MAX_ERRORS = 100

/**
 * Checks the invariants V1–V9 of a program document and returns every
 * violation found (at most `context.maxErrors`); an empty array means valid.
 * Never throws.
 */
export const validate = (
  program: Program,
  context: ValidationContext = {},
  rules: ReadonlyArray<ValidationRule> = specifiedRules
): ReadonlyArray<Violation> => {
  const violations: Array<Violation> = []
  const maxErrors = context.maxErrors ?? MAX_ERRORS
  const scopes = new ScopeTree(program.programs)
  const walker = new Walker(program, scopes)
  let types: TypeInfo | undefined
  const isFull = () => violations.length >= maxErrors
  const ruleContext: RuleContext = {
    document: program,
    tools: context.tools,
    limits: { ...defaultLimits, ...context.limits },
    scopes,
    get types() {
      types ??= new TypeInfo(program, scopes, context.tools)
      return types
    },
    report(code: ViolationCode, message: string, at: PathRef) {
      if (isFull()) return
      const path = at.toArray()
      const span = spanOf(context.sourceMap, path)
      violations.push(span === undefined ? { code, message, path } : { code, message, path, span })
    },
    isFull,
    resolve: (name) => walker.resolve(name),
    ownerIn: (scope) => walker.ownerIn(scope)
  }
  walker.run(
    rules.map((rule) => rule(ruleContext)),
    isFull
  )
  return violations
}
