/**
 * What a validation rule sees: the document, the tool table and limits,
 * lexical resolution at the walker's current position, the shared type
 * inference, and `report`.
 */
import type { ViolationCode } from "../ir/diagnostic.js"
import type { Program } from "../ir/schema.js"
import type { ResourceLimits, ToolTable } from "./context.js"
import type { TypeInfo } from "./infer.js"
import type { PathRef } from "./path.js"
import type { Binding, Scope, ScopeTree } from "./scope.js"
import type { Visitor } from "./visitor.js"

/** The context one validation pass gives each rule. */
export interface RuleContext {
  /** The document being validated. */
  readonly document: Program
  /** The tool table, when the caller gave one. */
  readonly tools: ToolTable | undefined
  /** The effective resource limits (defaults merged with the caller's). */
  readonly limits: ResourceLimits
  /** The scopes of the document, shared by every rule and the type inference. */
  readonly scopes: ScopeTree
  /** The type inference of the document, created on first use. */
  readonly types: TypeInfo
  /** Records a violation (ignored once the error cap is reached). */
  report(code: ViolationCode, message: string, path: PathRef): void
  /** Whether the error cap has been reached; long loops stop early. */
  isFull(): boolean
  /**
   * Resolves a name lexically at the walker's current position; undefined
   * when nothing binds it (and always inside a parameter default).
   */
  resolve(name: string): Binding | undefined
  /** The index of the node of `scope` that encloses the current position, if any. */
  ownerIn(scope: Scope): number | undefined
}

/** A validation rule: given the context, the visitor that checks its invariant. */
export type ValidationRule = (context: RuleContext) => Visitor
