/**
 * The validator: `validate(program, context?)` checks the invariants V1–V9
 * of SPEC §2 in one pass and returns every violation.
 */
export type { ToolSpec, ToolTable, ValidationContext } from "./context.js"
export type { ValidationRule } from "./ruleContext.js"
export { specifiedRules } from "./rules/index.js"
export { MAX_ERRORS, validate } from "./validate.js"
