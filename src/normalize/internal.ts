/**
 * The normalizer's working form of a program. Every node and every map
 * binder gets a unique integer id (`uid`, `bid`) and every ref is resolved
 * once, lexically, to what it names. With unique ids, substituting an
 * expression for a ref can never capture a name, and no later pass needs
 * scopes to find what a ref means. Passes mutate this form in place; it
 * never escapes the normalizer.
 */
import type {
  BinaryOp,
  BuiltinName,
  CachePolicy,
  Expr,
  Param,
  RetryPolicy,
  Scalar,
  Signature,
  UnaryOp
} from "../ir/schema.js"

/** A resolved pure expression. Refs are split by what they name. */
export type IExpr =
  | { readonly kind: "lit"; readonly value: Scalar }
  /** A node of the current or an enclosing scope. */
  | { readonly kind: "nref"; readonly uid: number }
  /** A map binder of an enclosing map. */
  | { readonly kind: "bref"; readonly bid: number }
  /** A program parameter (params are never renamed). */
  | { readonly kind: "pref"; readonly name: string }
  /** A name that resolves to nothing (an invalid program); kept as written. */
  | { readonly kind: "fref"; readonly name: string }
  | { readonly kind: "get"; readonly target: IExpr; readonly field: string }
  | { readonly kind: "index"; readonly target: IExpr; readonly index: IExpr }
  | { readonly kind: "slice"; readonly target: IExpr; readonly start: IExpr | null; readonly end: IExpr | null }
  | { readonly kind: "unary"; readonly op: UnaryOp; readonly arg: IExpr }
  | { readonly kind: "binary"; readonly op: BinaryOp; readonly left: IExpr; readonly right: IExpr }
  | { readonly kind: "list"; readonly items: ReadonlyArray<IExpr> }
  | { readonly kind: "record"; readonly entries: ReadonlyArray<{ readonly key: string; readonly value: IExpr }> }
  | { readonly kind: "call"; readonly fn: BuiltinName; readonly args: ReadonlyArray<IExpr> }

/** An `after` entry: a sibling node, or a name that resolves to none. */
export type IAfter = { readonly kind: "node"; readonly uid: number } | { readonly kind: "free"; readonly name: string }

/** A resolved policy; absent fields are `undefined`. */
export interface IPolicy {
  timeout: string | undefined
  retry: RetryPolicy | undefined
  cache: CachePolicy | undefined
  idempotencyKey: IExpr | undefined
  after: Array<IAfter>
  label: string | undefined
  budget: { readonly cost?: number; readonly tokens?: number } | undefined
  hedge: string | undefined
}

/** Named arguments, sorted by name (code-unit order). */
export type IArgs = Array<{ readonly name: string; value: IExpr }>

/** A nested scope. */
export interface IBody {
  nodes: Array<INode>
  result: IExpr
}

interface NodeBase {
  readonly uid: number
  /** The user's name for this node (none for synthetic `$k` steps). */
  readonly label: string | undefined
  policy: IPolicy | undefined
}

/** A resolved node; the `kind` fields mirror the IR. */
export type INode =
  | (NodeBase & { readonly kind: "tool"; readonly tool: string; args: IArgs })
  | (NodeBase & {
    readonly kind: "llm"
    readonly signature: string
    args: IArgs
    readonly model: string | undefined
    readonly hedgeModel: string | undefined
  })
  | (NodeBase & { readonly kind: "call"; readonly program: string; args: IArgs })
  | (NodeBase & {
    readonly kind: "map"
    over: IExpr
    readonly bid: number
    body: IBody
    readonly concurrency: number | undefined
    readonly take: number | undefined
    readonly fold: string | undefined
    readonly init: Expr | undefined
  })
  | (NodeBase & { readonly kind: "branch"; cond: IExpr; then: IBody; else: IBody })
  | (NodeBase & {
    readonly kind: "choose"
    readonly key: string
    readonly options: ReadonlyArray<{ readonly label: string; readonly body: IBody }>
  })
  | (NodeBase & {
    readonly kind: "race"
    readonly options: ReadonlyArray<{ readonly label: string; readonly body: IBody }>
  })
  | (NodeBase & { readonly kind: "expr"; expr: IExpr })
  | (NodeBase & {
    readonly kind: "wait"
    readonly signal: string | undefined
    payload: IExpr | undefined
    readonly answer: Param["type"] | undefined
    readonly for: string | undefined
  })

/** A resolved parameter: its default expression is resolved too. */
export interface IParam {
  readonly name: string
  readonly type: Param["type"]
  readonly default: IExpr | undefined
}

/** One resolved program. */
export interface IProgramDef {
  readonly name: string
  params: Array<IParam>
  readonly body: IBody
}

/** The whole resolved document plus the per-id tables every pass shares. */
export interface IDocument {
  readonly entry: string
  /** Programs in sorted name order. */
  readonly programs: Array<IProgramDef>
  readonly signatures: { readonly [name: string]: Signature }
  /** Scope depth of each node (0 = a program's top scope), indexed by uid. */
  readonly depth: Array<number>
  /** Number of maps enclosing each binder's body (1 = outermost map), indexed by bid. */
  readonly binderLevel: Array<number>
  /** The user's name of each binder, indexed by bid. */
  readonly binderLabel: Array<string | undefined>
  /** Number of node uids handed out. */
  readonly nodeCount: number
}

/** The bodies nested directly in `node`, in field order. */
export const childBodies = (node: INode): ReadonlyArray<IBody> => {
  switch (node.kind) {
    case "map":
      return [node.body]
    case "branch":
      return [node.then, node.else]
    case "choose":
    case "race":
      return node.options.map((o) => o.body)
    case "tool":
    case "llm":
    case "call":
    case "expr":
    case "wait":
      return []
  }
}

/** The node-level expressions of a node (not those inside its bodies), in a fixed field order. */
export const nodeExprs = (node: INode): ReadonlyArray<IExpr> => {
  const out: Array<IExpr> = []
  switch (node.kind) {
    case "tool":
    case "llm":
    case "call":
      for (const a of node.args) out.push(a.value)
      break
    case "map":
      out.push(node.over)
      break
    case "branch":
      out.push(node.cond)
      break
    case "expr":
      out.push(node.expr)
      break
    case "choose":
      break
    case "wait":
      if (node.payload !== undefined) out.push(node.payload)
      break
  }
  if (node.policy?.idempotencyKey !== undefined) out.push(node.policy.idempotencyKey)
  return out
}

/** Sibling uids named by a node's `after` list. */
export const afterUids = (node: INode): ReadonlyArray<number> => {
  const after = node.policy?.after
  if (after === undefined || after.length === 0) return []
  const out: Array<number> = []
  for (const a of after) if (a.kind === "node") out.push(a.uid)
  return out
}

/** True when a policy carries nothing (it is then dropped). */
export const isEmptyPolicy = (p: IPolicy): boolean =>
  p.timeout === undefined &&
  p.retry === undefined &&
  p.cache === undefined &&
  p.idempotencyKey === undefined &&
  p.after.length === 0 &&
  p.label === undefined &&
  p.budget === undefined &&
  p.hedge === undefined
