/**
 * The syntax tree of the Trellis DSL. Nodes are readonly interfaces tagged
 * by `kind`, each with its source span in `loc`. `CHILD_KEYS` lists the
 * child fields of every kind and drives the generic `visit`.
 */
import type { Position, Span } from "../ir/diagnostic.js"

/** Every kind of syntax node. */
export const AstKind = {
  File: "File",
  ProgramDecl: "ProgramDecl",
  SignatureDecl: "SignatureDecl",
  Param: "Param",
  SignatureField: "SignatureField",
  Demo: "Demo",
  NamedType: "NamedType",
  ListType: "ListType",
  RecordType: "RecordType",
  TypeField: "TypeField",
  Block: "Block",
  StepStatement: "StepStatement",
  ReturnStatement: "ReturnStatement",
  ToolStep: "ToolStep",
  LlmStep: "LlmStep",
  RunStep: "RunStep",
  MapStep: "MapStep",
  IfStep: "IfStep",
  ChooseStep: "ChooseStep",
  WaitStep: "WaitStep",
  ChooseOption: "ChooseOption",
  RaceStep: "RaceStep",
  ExprStep: "ExprStep",
  Argument: "Argument",
  Name: "Name",
  NumberLiteral: "NumberLiteral",
  StringLiteral: "StringLiteral",
  BooleanLiteral: "BooleanLiteral",
  NullLiteral: "NullLiteral",
  Identifier: "Identifier",
  CallExpr: "CallExpr",
  ListExpr: "ListExpr",
  RecordExpr: "RecordExpr",
  RecordEntry: "RecordEntry",
  ParenExpr: "ParenExpr",
  UnaryExpr: "UnaryExpr",
  BinaryExpr: "BinaryExpr",
  MemberExpr: "MemberExpr",
  IndexExpr: "IndexExpr",
  SliceExpr: "SliceExpr"
} as const
/** A syntax node kind. */
export type AstKind = (typeof AstKind)[keyof typeof AstKind]

/** A name as written: an identifier, or a dotted tool name such as `audit.log`. */
export interface NameNode {
  readonly kind: "Name"
  readonly value: string
  readonly loc: Span
}

// ---------------------------------------------------------------------------
// Declarations and types
// ---------------------------------------------------------------------------

/** A whole `.tr` file. Comments are kept aside, not attached to nodes (`attachComments` places them for `fmt`). */
export interface FileAst {
  readonly kind: "File"
  readonly decls: ReadonlyArray<DeclarationNode>
  readonly comments: ReadonlyArray<CommentNode>
  readonly loc: Span
}

/** A `# …` comment (text without the `#`). */
export interface CommentNode {
  readonly text: string
  readonly loc: Span
  /** The end of the last token before the comment; undefined when no token precedes it. */
  readonly previous: Position | undefined
}

/** A top-level declaration. */
export type DeclarationNode = ProgramDeclNode | SignatureDeclNode

/** `program NAME(params) { … }` */
export interface ProgramDeclNode {
  readonly kind: "ProgramDecl"
  readonly name: NameNode
  readonly params: ReadonlyArray<ParamNode>
  readonly body: BlockNode
  readonly loc: Span
}

/** `NAME: type = default` */
export interface ParamNode {
  readonly kind: "Param"
  readonly name: NameNode
  readonly type: TypeNode
  readonly default: ExprNode | undefined
  readonly loc: Span
}

/** `signature NAME { "doc" fields demos }` */
export interface SignatureDeclNode {
  readonly kind: "SignatureDecl"
  readonly name: NameNode
  readonly doc: StringLiteralNode | undefined
  readonly fields: ReadonlyArray<SignatureFieldNode>
  readonly demos: ReadonlyArray<DemoNode>
  readonly loc: Span
}

/** `demo input { … } output { … }`: a few-shot example of a signature (literal values). */
export interface DemoNode {
  readonly kind: "Demo"
  readonly inputs: RecordExprNode
  readonly outputs: RecordExprNode
  readonly loc: Span
}

/** `input NAME: type "doc"` or `output NAME: type "doc"` */
export interface SignatureFieldNode {
  readonly kind: "SignatureField"
  readonly direction: "input" | "output"
  readonly name: NameNode
  readonly type: TypeNode
  readonly doc: StringLiteralNode | undefined
  readonly loc: Span
}

/** A type annotation. */
export type TypeNode = NamedTypeNode | ListTypeNode | RecordTypeNode

/** `string`, `number`, `boolean`, `null` or `any`. */
export interface NamedTypeNode {
  readonly kind: "NamedType"
  readonly name: "string" | "number" | "boolean" | "null" | "any"
  readonly loc: Span
}

/** `type[]` */
export interface ListTypeNode {
  readonly kind: "ListType"
  readonly of: TypeNode
  readonly loc: Span
}

/** `{ name: type, … }` */
export interface RecordTypeNode {
  readonly kind: "RecordType"
  readonly fields: ReadonlyArray<TypeFieldNode>
  readonly loc: Span
}

/** One field of a record type; `name` is an identifier or a quoted string. */
export interface TypeFieldNode {
  readonly kind: "TypeField"
  readonly name: NameNode | StringLiteralNode
  readonly type: TypeNode
  readonly loc: Span
}

// ---------------------------------------------------------------------------
// Blocks, statements and steps
// ---------------------------------------------------------------------------

/** `{ statement* }` */
export interface BlockNode {
  readonly kind: "Block"
  readonly statements: ReadonlyArray<StatementNode>
  readonly loc: Span
}

/** A statement of a block. */
export type StatementNode = StepStatementNode | ReturnStatementNode

/** `NAME = step`, or a bare `step` when `name` is undefined. */
export interface StepStatementNode {
  readonly kind: "StepStatement"
  readonly name: NameNode | undefined
  readonly step: StepNode
  readonly loc: Span
}

/** `return step` */
export interface ReturnStatementNode {
  readonly kind: "ReturnStatement"
  readonly step: StepNode
  readonly loc: Span
}

/** A step: an effect, a control construct, or a pure expression. */
export type StepNode =
  | ToolStepNode
  | LlmStepNode
  | RunStepNode
  | MapStepNode
  | IfStepNode
  | ChooseStepNode
  | RaceStepNode
  | WaitStepNode
  | ExprStepNode

/** `tool DOTTED(args) [with {…}]`; the name may also be a quoted string. */
export interface ToolStepNode {
  readonly kind: "ToolStep"
  readonly tool: NameNode
  readonly args: ReadonlyArray<ArgumentNode>
  readonly policy: RecordExprNode | undefined
  readonly loc: Span
}

/** `llm SIGNATURE(args) [with {…}]` */
export interface LlmStepNode {
  readonly kind: "LlmStep"
  readonly signature: NameNode
  readonly args: ReadonlyArray<ArgumentNode>
  readonly policy: RecordExprNode | undefined
  readonly loc: Span
}

/** `run PROGRAM(args) [with {…}]` */
export interface RunStepNode {
  readonly kind: "RunStep"
  readonly program: NameNode
  readonly args: ReadonlyArray<ArgumentNode>
  readonly policy: RecordExprNode | undefined
  readonly loc: Span
}

/** `map BINDER in expr [with {…}] block` */
export interface MapStepNode {
  readonly kind: "MapStep"
  readonly binder: NameNode
  readonly over: ExprNode
  readonly policy: RecordExprNode | undefined
  readonly body: BlockNode
  readonly loc: Span
}

/** `if expr [with {…}] block [else (block | step)]` */
export interface IfStepNode {
  readonly kind: "IfStep"
  readonly cond: ExprNode
  readonly policy: RecordExprNode | undefined
  readonly then: BlockNode
  readonly else: BlockNode | StepNode | undefined
  readonly loc: Span
}

/** `choose "key" [with {…}] { label: block … }` */
export interface ChooseStepNode {
  readonly kind: "ChooseStep"
  readonly key: StringLiteralNode
  readonly policy: RecordExprNode | undefined
  readonly options: ReadonlyArray<ChooseOptionNode>
  readonly loc: Span
}

/**
 * `wait ["signal"] [: type] [payload] [for "duration"] [with {…}]`; the
 * payload is a record literal or a parenthesized expression.
 */
export interface WaitStepNode {
  readonly kind: "WaitStep"
  readonly signal: StringLiteralNode | undefined
  readonly answer: TypeNode | undefined
  readonly payload: ExprNode | undefined
  readonly for: StringLiteralNode | undefined
  readonly policy: RecordExprNode | undefined
  readonly loc: Span
}

/** `label: block`; the label is an identifier or a quoted string. */
export interface ChooseOptionNode {
  readonly kind: "ChooseOption"
  readonly label: NameNode | StringLiteralNode
  readonly body: BlockNode
  readonly loc: Span
}

/** `race [with {…}] { label: block … }`: the options run at once, the first success wins. */
export interface RaceStepNode {
  readonly kind: "RaceStep"
  readonly policy: RecordExprNode | undefined
  readonly options: ReadonlyArray<ChooseOptionNode>
  readonly loc: Span
}

/** A pure computation used as a step, `expr [with {…}]`. */
export interface ExprStepNode {
  readonly kind: "ExprStep"
  readonly expr: ExprNode
  readonly policy: RecordExprNode | undefined
  readonly loc: Span
}

/** `NAME: expr` in the arguments of a tool, llm or run step. */
export interface ArgumentNode {
  readonly kind: "Argument"
  readonly name: NameNode
  readonly value: ExprNode
  readonly loc: Span
}

// ---------------------------------------------------------------------------
// Expressions
// ---------------------------------------------------------------------------

/** A pure expression. */
export type ExprNode =
  | NumberLiteralNode
  | StringLiteralNode
  | BooleanLiteralNode
  | NullLiteralNode
  | IdentifierNode
  | CallExprNode
  | ListExprNode
  | RecordExprNode
  | ParenExprNode
  | UnaryExprNode
  | BinaryExprNode
  | MemberExprNode
  | IndexExprNode
  | SliceExprNode

/** A number literal; `value` is finite and non-negative. */
export interface NumberLiteralNode {
  readonly kind: "NumberLiteral"
  readonly value: number
  readonly loc: Span
}

/** A string literal (decoded). */
export interface StringLiteralNode {
  readonly kind: "StringLiteral"
  readonly value: string
  readonly loc: Span
}

/** `true` or `false` */
export interface BooleanLiteralNode {
  readonly kind: "BooleanLiteral"
  readonly value: boolean
  readonly loc: Span
}

/** `null` */
export interface NullLiteralNode {
  readonly kind: "NullLiteral"
  readonly loc: Span
}

/** A reference to a param, a node or a binder. */
export interface IdentifierNode {
  readonly kind: "Identifier"
  readonly name: string
  readonly loc: Span
}

/** `fn(args)`: a builtin call. */
export interface CallExprNode {
  readonly kind: "CallExpr"
  readonly callee: NameNode
  readonly args: ReadonlyArray<ExprNode>
  readonly loc: Span
}

/** `[items]` */
export interface ListExprNode {
  readonly kind: "ListExpr"
  readonly items: ReadonlyArray<ExprNode>
  readonly loc: Span
}

/** `{ key: value, … }` */
export interface RecordExprNode {
  readonly kind: "RecordExpr"
  readonly entries: ReadonlyArray<RecordEntryNode>
  readonly loc: Span
}

/** `key: value`; the key is an identifier or a quoted string. */
export interface RecordEntryNode {
  readonly kind: "RecordEntry"
  readonly key: NameNode | StringLiteralNode
  readonly value: ExprNode
  readonly loc: Span
}

/** `( expr )` — kept so that lowering can tell `-(5)` from `-5` and `x[("k")]` from `x["k"]`. */
export interface ParenExprNode {
  readonly kind: "ParenExpr"
  readonly expr: ExprNode
  readonly loc: Span
}

/** `not x`, `-x` */
export interface UnaryExprNode {
  readonly kind: "UnaryExpr"
  readonly op: "not" | "-"
  readonly operand: ExprNode
  readonly loc: Span
}

/** The binary operators. */
export type BinaryOperator = "or" | "and" | "==" | "!=" | "<" | "<=" | ">" | ">=" | "+" | "-" | "*" | "/" | "%"

/** `left op right` */
export interface BinaryExprNode {
  readonly kind: "BinaryExpr"
  readonly op: BinaryOperator
  readonly left: ExprNode
  readonly right: ExprNode
  readonly loc: Span
}

/** `target.field` (any IDENT-shaped word, keywords included). */
export interface MemberExprNode {
  readonly kind: "MemberExpr"
  readonly target: ExprNode
  readonly field: NameNode
  readonly loc: Span
}

/** `target[index]` */
export interface IndexExprNode {
  readonly kind: "IndexExpr"
  readonly target: ExprNode
  readonly index: ExprNode
  readonly loc: Span
}

/** `target[start:end]`, either bound optional. */
export interface SliceExprNode {
  readonly kind: "SliceExpr"
  readonly target: ExprNode
  readonly start: ExprNode | undefined
  readonly end: ExprNode | undefined
  readonly loc: Span
}

// ---------------------------------------------------------------------------
// Generic traversal
// ---------------------------------------------------------------------------

/** Any syntax node. */
export type AstNode =
  | FileAst
  | DeclarationNode
  | ParamNode
  | SignatureFieldNode
  | DemoNode
  | TypeNode
  | TypeFieldNode
  | BlockNode
  | StatementNode
  | StepNode
  | ChooseOptionNode
  | ArgumentNode
  | NameNode
  | ExprNode
  | RecordEntryNode

/** The child fields of every node kind, in source order (graphql-js `QueryDocumentKeys`). */
export const CHILD_KEYS: { readonly [K in AstKind]: ReadonlyArray<string> } = {
  File: ["decls"],
  ProgramDecl: ["name", "params", "body"],
  SignatureDecl: ["name", "doc", "fields", "demos"],
  Param: ["name", "type", "default"],
  SignatureField: ["name", "type", "doc"],
  Demo: ["inputs", "outputs"],
  NamedType: [],
  ListType: ["of"],
  RecordType: ["fields"],
  TypeField: ["name", "type"],
  Block: ["statements"],
  StepStatement: ["name", "step"],
  ReturnStatement: ["step"],
  ToolStep: ["tool", "args", "policy"],
  LlmStep: ["signature", "args", "policy"],
  RunStep: ["program", "args", "policy"],
  MapStep: ["binder", "over", "policy", "body"],
  IfStep: ["cond", "policy", "then", "else"],
  ChooseStep: ["key", "policy", "options"],
  ChooseOption: ["label", "body"],
  RaceStep: ["policy", "options"],
  WaitStep: ["signal", "answer", "payload", "for", "policy"],
  ExprStep: ["expr", "policy"],
  Argument: ["name", "value"],
  Name: [],
  NumberLiteral: [],
  StringLiteral: [],
  BooleanLiteral: [],
  NullLiteral: [],
  Identifier: [],
  CallExpr: ["callee", "args"],
  ListExpr: ["items"],
  RecordExpr: ["entries"],
  RecordEntry: ["key", "value"],
  ParenExpr: ["expr"],
  UnaryExpr: ["operand"],
  BinaryExpr: ["left", "right"],
  MemberExpr: ["target", "field"],
  IndexExpr: ["target", "index"],
  SliceExpr: ["target", "start", "end"]
}

/** Callbacks of `visit`; `enter` returning `false` skips the node's children. */
export interface AstVisitor {
  readonly enter?: (node: AstNode, parent: AstNode | undefined) => boolean | void
  readonly leave?: (node: AstNode, parent: AstNode | undefined) => void
}

const isAstNode = (u: unknown): u is AstNode =>
  typeof u === "object" && u !== null && typeof (u as { kind?: unknown }).kind === "string" &&
  (u as { kind: string }).kind in CHILD_KEYS

/** Walks `root` depth-first in source order, calling `visitor` on every node. */
export const visit = (root: AstNode, visitor: AstVisitor): void => {
  const walk = (node: AstNode, parent: AstNode | undefined): void => {
    if (visitor.enter?.(node, parent) === false) return
    for (const key of CHILD_KEYS[node.kind]) {
      const child: unknown = (node as unknown as Record<string, unknown>)[key]
      if (Array.isArray(child)) {
        for (const c of child) if (isAstNode(c)) walk(c, node)
      } else if (isAstNode(child)) {
        walk(child, node)
      }
    }
    visitor.leave?.(node, parent)
  }
  walk(root, undefined)
}
