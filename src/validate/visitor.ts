/**
 * The events of one validation pass and the visitor shape rules implement
 * (graphql-js style: a handler per element kind, either a function called
 * on entering the element or `{ enter, leave }`).
 */
import type { Expr, Node, Param, Program, ProgramDef, Signature } from "../ir/schema.js"
import type { PathRef } from "./path.js"
import type { Scope } from "./scope.js"

/** The whole document (entered first, left last). */
export interface DocumentEvent {
  readonly program: Program
}

/** One program of the document; its top-level scope holds params and nodes. */
export interface ProgramEvent {
  readonly name: string
  readonly def: ProgramDef
  readonly scope: Scope
  readonly path: PathRef
}

/** One signature of the document. */
export interface SignatureEvent {
  readonly name: string
  readonly signature: Signature
  readonly path: PathRef
}

/** One parameter of a program (its default, if any, is visited next). */
export interface ParamEvent {
  readonly param: Param
  readonly index: number
  /** The program's top-level scope. */
  readonly scope: Scope
  readonly path: PathRef
}

/** A scope: a program's top level or a nested body. `scope.path` is where it is. */
export interface BodyEvent {
  readonly scope: Scope
}

/** One node of a scope. */
export interface NodeEvent {
  readonly node: Node
  readonly index: number
  readonly scope: Scope
  readonly path: PathRef
}

/** Where an expression sits: the root of an argument, a condition, a result, … or inside another expression. */
export type ExprRole = "arg" | "expr" | "cond" | "over" | "result" | "idempotencyKey" | "default" | "inner" | "payload"

/** Any expression, root or inner. Refs in it resolve through `RuleContext.resolve`. */
export interface ExprEvent {
  readonly expr: Expr
  readonly role: ExprRole
  readonly path: PathRef
}

/** One name of a node's `after` policy. */
export interface AfterEvent {
  readonly name: string
  readonly node: Node
  readonly nodeIndex: number
  readonly scope: Scope
  readonly path: PathRef
}

/** A handler: called on entering, or an object with `enter` and/or `leave`. */
export type Handler<E> = ((event: E) => void) | {
  readonly enter?: (event: E) => void
  readonly leave?: (event: E) => void
}

/** What a rule listens to. */
export interface Visitor {
  readonly Document?: Handler<DocumentEvent>
  readonly Program?: Handler<ProgramEvent>
  readonly Signature?: Handler<SignatureEvent>
  readonly Param?: Handler<ParamEvent>
  readonly Body?: Handler<BodyEvent>
  readonly Node?: Handler<NodeEvent>
  readonly Expr?: Handler<ExprEvent>
  readonly After?: Handler<AfterEvent>
}
