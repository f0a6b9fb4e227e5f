/**
 * The validator: `validate(program, context?)` checks the invariants V1–V9
 * of SPEC §2 in one pass and returns every violation.
 */
export { parseDuration } from "../ir/duration.js"
export type { ResourceLimits, ToolInput, ToolSchemas, ToolSpec, ToolTable, ValidationContext } from "./context.js"
export { defaultLimits, toolSpecFromSchemas } from "./context.js"
export type { RuleContext, ValidationRule } from "./ruleContext.js"
export { specifiedRules } from "./rules/index.js"
export { formatType, isAssignable, join as joinTypes } from "./types.js"
export { MAX_ERRORS, validate } from "./validate.js"
export type { Visitor } from "./visitor.js"
