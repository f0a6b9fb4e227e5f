/**
 * The library surface of Trellis. Everything public is listed here; other
 * modules are internal.
 */
export type { Checked, Compiled, CompileOptions, Diagnostic, SourceFormat } from "./compile.js"
export * as Documents from "./documents/index.js"
export * as Ocr from "./documents/ocr/index.js"
export type { Path, Position, SourceMap, Span, SyntaxDiagnostic, Violation, ViolationCode } from "./ir/diagnostic.js"
export type {
  Body,
  BranchNode,
  CallNode,
  ChooseNode,
  Expr,
  ExprNode,
  LlmNode,
  MapNode,
  Node,
  Param,
  Policy,
  Program as ProgramIR,
  ProgramDef,
  RetryPolicy,
  Signature,
  ToolNode,
  Type
} from "./ir/schema.js"
export * as Llm from "./llm/index.js"
export * as Optimize from "./optimize/index.js"
export * as Rollout from "./optimize/rollout/index.js"
export * as Program from "./program.js"
export * as Durable from "./runtime/durable.js"
export * as Runtime from "./runtime/runtime.js"
export { Store } from "./store/index.js"
export * as Tool from "./tools/index.js"
export * as Trace from "./trace/index.js"
export type { ResourceLimits, ToolSpec, ToolTable } from "./validate/context.js"
