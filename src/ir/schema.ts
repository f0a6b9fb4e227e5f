/**
 * The Trellis IR, version `trellis/1`, defined once with `effect/Schema`.
 *
 * Everything that reads or writes programs (the DSL lowering, the builder,
 * the JSON codec, the validator, the normalizer, the runtime) speaks this
 * shape. Field names are part of the contract and documented in the README
 * ("The IR"). Ordered collections are arrays, so that key order never
 * depends on JavaScript object semantics.
 */
import { Schema } from "effect"

/** An optional field that is absent rather than `undefined` (exact optional). */
const opt = <S extends Schema.Schema.All>(schema: S) => Schema.optionalWith(schema, { exact: true })

/** The version tag every IR document carries. */
export const IR_VERSION = "trellis/1" as const

// ---------------------------------------------------------------------------
// Types (parameter, signature field and inferred types)
// ---------------------------------------------------------------------------

/** A primitive type name of the DSL. */
export const PrimitiveTypeName = Schema.Literal("string", "number", "boolean", "null", "any")
export type PrimitiveTypeName = typeof PrimitiveTypeName.Type

/** A static type: a primitive, a list of a type, or a record of named fields. */
export type Type =
  | { readonly kind: PrimitiveTypeName }
  | { readonly kind: "list"; readonly of: Type }
  | { readonly kind: "record"; readonly fields: ReadonlyArray<{ readonly name: string; readonly type: Type }> }

export const Type: Schema.Schema<Type> = Schema.Union(
  Schema.Struct({ kind: PrimitiveTypeName }),
  Schema.Struct({ kind: Schema.Literal("list"), of: Schema.suspend(() => Type) }),
  Schema.Struct({
    kind: Schema.Literal("record"),
    fields: Schema.Array(Schema.Struct({ name: Schema.String, type: Schema.suspend(() => Type) }))
  })
).annotations({ identifier: "Type", description: "A static type." })

// ---------------------------------------------------------------------------
// Expressions
// ---------------------------------------------------------------------------

/** Unary operators. */
export const UnaryOp = Schema.Literal("not", "-")
export type UnaryOp = typeof UnaryOp.Type

/** Binary operators, loosest to tightest binding in the DSL. */
export const BinaryOp = Schema.Literal("or", "and", "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "%")
export type BinaryOp = typeof BinaryOp.Type

/** The builtin functions callable in expressions (SPEC §1). */
export const BUILTINS = [
  "len",
  "keys",
  "values",
  "concat",
  "join",
  "split",
  "lower",
  "upper",
  "min",
  "max",
  "sum",
  "round",
  "str",
  "num",
  "range",
  "patched"
] as const
export const BuiltinName = Schema.Literal(...BUILTINS)
export type BuiltinName = typeof BuiltinName.Type

/** A JSON-representable number (no NaN or Infinity). */
export const FiniteNumber = Schema.Number.pipe(Schema.finite())

/** A scalar literal value. Numbers are finite. */
export const Scalar = Schema.Union(Schema.String, FiniteNumber, Schema.Boolean, Schema.Null)
export type Scalar = typeof Scalar.Type

/** A pure expression. */
export type Expr =
  | { readonly kind: "lit"; readonly value: Scalar }
  | { readonly kind: "ref"; readonly name: string }
  | { readonly kind: "get"; readonly target: Expr; readonly field: string }
  | { readonly kind: "index"; readonly target: Expr; readonly index: Expr }
  | { readonly kind: "slice"; readonly target: Expr; readonly start: Expr | null; readonly end: Expr | null }
  | { readonly kind: "unary"; readonly op: UnaryOp; readonly arg: Expr }
  | { readonly kind: "binary"; readonly op: BinaryOp; readonly left: Expr; readonly right: Expr }
  | { readonly kind: "list"; readonly items: ReadonlyArray<Expr> }
  | { readonly kind: "record"; readonly entries: ReadonlyArray<{ readonly key: string; readonly value: Expr }> }
  | { readonly kind: "call"; readonly fn: BuiltinName; readonly args: ReadonlyArray<Expr> }

const ExprRef = Schema.suspend((): Schema.Schema<Expr> => Expr)

export const Expr: Schema.Schema<Expr> = Schema.Union(
  Schema.Struct({ kind: Schema.Literal("lit"), value: Scalar }),
  Schema.Struct({ kind: Schema.Literal("ref"), name: Schema.String }),
  Schema.Struct({ kind: Schema.Literal("get"), target: ExprRef, field: Schema.String }),
  Schema.Struct({ kind: Schema.Literal("index"), target: ExprRef, index: ExprRef }),
  Schema.Struct({
    kind: Schema.Literal("slice"),
    target: ExprRef,
    start: Schema.NullOr(ExprRef),
    end: Schema.NullOr(ExprRef)
  }),
  Schema.Struct({ kind: Schema.Literal("unary"), op: UnaryOp, arg: ExprRef }),
  Schema.Struct({ kind: Schema.Literal("binary"), op: BinaryOp, left: ExprRef, right: ExprRef }),
  Schema.Struct({ kind: Schema.Literal("list"), items: Schema.Array(ExprRef) }),
  Schema.Struct({
    kind: Schema.Literal("record"),
    entries: Schema.Array(Schema.Struct({ key: Schema.String, value: ExprRef }))
  }),
  Schema.Struct({ kind: Schema.Literal("call"), fn: BuiltinName, args: Schema.Array(ExprRef) })
).annotations({ identifier: "Expr", description: "A pure expression." })

// ---------------------------------------------------------------------------
// Policies
// ---------------------------------------------------------------------------

/** The error kinds of the taxonomy (SPEC §3). */
export const ErrorKind = Schema.Literal(
  "Timeout",
  "RateLimited",
  "Transient",
  "Permanent",
  "Cancelled",
  "BudgetExceeded",
  "ResourceExhausted",
  "CircuitOpen",
  "Defect"
)
export type ErrorKind = typeof ErrorKind.Type

/**
 * A duration string: `"150ms"`, `"2s"`, `"1m"`, `"1h"`. The schema accepts
 * any string; V7 (`bad-policy`) reports the ones that do not parse.
 */
export const Duration = Schema.String.annotations({
  identifier: "Duration",
  description: "A duration such as \"150ms\", \"2s\", \"1m\" or \"1h\"."
})

/** A retry policy, as data. Defaults are made explicit by normalization (N1). */
export const RetryPolicy = Schema.Struct({
  /** Retries after the first attempt. @default 3 */
  times: opt(FiniteNumber),
  /** @default "exponential" */
  backoff: opt(Schema.Literal("exponential", "fixed", "none")),
  /** First delay. @default "100ms" */
  base: opt(Duration),
  /** Growth factor of exponential backoff. @default 2 */
  factor: opt(FiniteNumber),
  /** Cap on one delay. */
  max: opt(Duration),
  /** @default "full" */
  jitter: opt(Schema.Literal("full", "equal", "none")),
  /** Cap on the total time spent retrying. */
  maxElapsed: opt(Duration),
  /** Error kinds that are retried. @default ["Timeout", "RateLimited", "Transient"] */
  on: opt(Schema.Array(ErrorKind))
}).annotations({ identifier: "RetryPolicy" })
export type RetryPolicy = typeof RetryPolicy.Type

/** Result cache setting of a node: `false` turns it off. */
export const CachePolicy = Schema.Union(
  Schema.Literal(false),
  Schema.Struct({ ttl: Duration })
).annotations({ identifier: "CachePolicy" })
export type CachePolicy = typeof CachePolicy.Type

/** A node's policy (`with { … }` in the DSL). */
export const Policy = Schema.Struct({
  timeout: opt(Duration),
  retry: opt(RetryPolicy),
  cache: opt(CachePolicy),
  idempotencyKey: opt(Expr),
  /** Names of nodes of the same scope that must complete first. */
  after: opt(Schema.Array(Schema.String)),
  /** A display label. */
  label: opt(Schema.String),
  budget: opt(
    Schema.Struct({ cost: opt(FiniteNumber), tokens: opt(FiniteNumber) })
  ),
  /**
   * Hedged call (tool and llm steps): when the first attempt has no result after this duration, a second one
   * starts (an llm step's goes to its node's `hedgeModel` route, if any); the first success wins, the other
   * is cancelled.
   */
  hedge: opt(Duration)
}).annotations({ identifier: "Policy" })
export type Policy = typeof Policy.Type

// ---------------------------------------------------------------------------
// Nodes and bodies
// ---------------------------------------------------------------------------

/** A nested scope: its nodes and the expression it returns. */
export interface Body {
  readonly nodes: ReadonlyArray<Node>
  readonly result: Expr
}

/** Named arguments of a tool, llm or call step. */
export type Args = { readonly [name: string]: Expr }

/** Calls a registered tool. */
export interface ToolNode {
  readonly id: string
  readonly kind: "tool"
  readonly tool: string
  readonly args: Args
  readonly policy?: Policy
}
/** Calls a language model through a signature. */
export interface LlmNode {
  readonly id: string
  readonly kind: "llm"
  readonly signature: string
  readonly args: Args
  readonly model?: string
  /** The model route of a hedged call's second attempt (`policy.hedge`); the same route when absent. */
  readonly hedgeModel?: string
  readonly policy?: Policy
}
/** Calls another program of the same file. */
export interface CallNode {
  readonly id: string
  readonly kind: "call"
  readonly program: string
  readonly args: Args
  readonly policy?: Policy
}
/** Runs its body once per item of `over`, with the item bound to `as`. */
export interface MapNode {
  readonly id: string
  readonly kind: "map"
  readonly over: Expr
  readonly as: string
  readonly body: Body
  readonly concurrency?: number
  /**
   * First-k fan-in: the node completes with the first `take` item results in completion order (the items
   * still running are cancelled); fewer than `take` possible successes fail it.
   */
  readonly take?: number
  /**
   * Incremental fold: the program of the file that combines `(acc, x)`, applied to each item result in
   * completion order starting from `init` (a constant); the node's value is the last accumulator.
   */
  readonly fold?: string
  readonly init?: Expr
  readonly policy?: Policy
}
/** Runs `then` when `cond` is true, else `else` (null when absent). */
export interface BranchNode {
  readonly id: string
  readonly kind: "branch"
  readonly cond: Expr
  readonly then: Body
  readonly else: Body | null
  readonly policy?: Policy
}
/** Asks the policy service which option to run. */
export interface ChooseNode {
  readonly id: string
  readonly kind: "choose"
  readonly key: string
  readonly options: ReadonlyArray<{ readonly label: string; readonly body: Body }>
  readonly policy?: Policy
}
/**
 * Runs every option at once; the first to succeed gives the node's value and the others are cancelled.
 * All failing fails the node with their errors aggregated.
 */
export interface RaceNode {
  readonly id: string
  readonly kind: "race"
  readonly options: ReadonlyArray<{ readonly label: string; readonly body: Body }>
  readonly policy?: Policy
}
/**
 * Waits durably (SPEC §11): for the signal `signal` (its payload is the
 * node's value, checked against `answer` when given; `policy.timeout` is
 * the deadline), or — a durable sleep — for the duration `for` (value
 * null). Exactly one of `signal` and `for` is present (V7 `bad-wait`).
 */
export interface WaitNode {
  readonly id: string
  readonly kind: "wait"
  /** The signal's name; absent for a durable sleep. */
  readonly signal?: string
  /** What the waiting run shows (to the person who answers it). */
  readonly payload?: Expr
  /** The declared type of the signal's payload (a record type), checked when it arrives. */
  readonly answer?: Type
  /** How long a durable sleep lasts. */
  readonly for?: string
  readonly policy?: Policy
}
/** A pure computation. */
export interface ExprNode {
  readonly id: string
  readonly kind: "expr"
  readonly expr: Expr
  readonly policy?: Policy
}

/** One step of a scope. */
export type Node =
  | ToolNode
  | LlmNode
  | CallNode
  | MapNode
  | BranchNode
  | ChooseNode
  | RaceNode
  | ExprNode
  | WaitNode
export type NodeKind = Node["kind"]

const BodyRef = Schema.suspend((): Schema.Schema<Body> => Body)
const ArgsSchema = Schema.Record({ key: Schema.String, value: Expr })

export const Node: Schema.Schema<Node> = Schema.Union(
  Schema.Struct({
    id: Schema.String,
    kind: Schema.Literal("tool"),
    tool: Schema.String,
    args: ArgsSchema,
    policy: opt(Policy)
  }),
  Schema.Struct({
    id: Schema.String,
    kind: Schema.Literal("llm"),
    signature: Schema.String,
    args: ArgsSchema,
    model: opt(Schema.String),
    hedgeModel: opt(Schema.String),
    policy: opt(Policy)
  }),
  Schema.Struct({
    id: Schema.String,
    kind: Schema.Literal("call"),
    program: Schema.String,
    args: ArgsSchema,
    policy: opt(Policy)
  }),
  Schema.Struct({
    id: Schema.String,
    kind: Schema.Literal("map"),
    over: Expr,
    as: Schema.String,
    body: BodyRef,
    concurrency: opt(FiniteNumber),
    take: opt(FiniteNumber),
    fold: opt(Schema.String),
    init: opt(Expr),
    policy: opt(Policy)
  }),
  Schema.Struct({
    id: Schema.String,
    kind: Schema.Literal("branch"),
    cond: Expr,
    then: BodyRef,
    else: Schema.NullOr(BodyRef),
    policy: opt(Policy)
  }),
  Schema.Struct({
    id: Schema.String,
    kind: Schema.Literal("choose"),
    key: Schema.String,
    options: Schema.Array(Schema.Struct({ label: Schema.String, body: BodyRef })),
    policy: opt(Policy)
  }),
  Schema.Struct({
    id: Schema.String,
    kind: Schema.Literal("race"),
    options: Schema.Array(Schema.Struct({ label: Schema.String, body: BodyRef })),
    policy: opt(Policy)
  }),
  Schema.Struct({
    id: Schema.String,
    kind: Schema.Literal("expr"),
    expr: Expr,
    policy: opt(Policy)
  }),
  Schema.Struct({
    id: Schema.String,
    kind: Schema.Literal("wait"),
    signal: opt(Schema.String),
    payload: opt(Expr),
    answer: opt(Type),
    for: opt(Duration),
    policy: opt(Policy)
  })
).annotations({ identifier: "Node", description: "One step of a scope." })

export const Body: Schema.Schema<Body> = Schema.Struct({
  nodes: Schema.Array(Schema.suspend((): Schema.Schema<Node> => Node)),
  result: Expr
}).annotations({ identifier: "Body", description: "A nested scope: its nodes and the expression it returns." })

// ---------------------------------------------------------------------------
// Programs and signatures
// ---------------------------------------------------------------------------

/** A program parameter; `default` is used when the input is absent. */
export const Param = Schema.Struct({
  name: Schema.String,
  type: Type,
  default: opt(Expr)
}).annotations({ identifier: "Param" })
export type Param = typeof Param.Type

/** One program: parameters, nodes of its top scope, and its result. */
export const ProgramDef = Schema.Struct({
  params: Schema.Array(Param),
  nodes: Schema.Array(Node),
  result: Expr
}).annotations({ identifier: "ProgramDef" })
export type ProgramDef = typeof ProgramDef.Type

/** A typed field of a signature. */
export const SignatureField = Schema.Struct({
  name: Schema.String,
  type: Type,
  doc: opt(Schema.String)
}).annotations({ identifier: "SignatureField" })
export type SignatureField = typeof SignatureField.Type

/** A JSON value (numbers finite): the values of a demo. */
export type JsonValue = null | boolean | number | string | ReadonlyArray<JsonValue> | {
  readonly [key: string]: JsonValue
}

export const JsonValue: Schema.Schema<JsonValue> = Schema.Union(
  Schema.Null,
  Schema.Boolean,
  FiniteNumber,
  Schema.String,
  Schema.Array(Schema.suspend((): Schema.Schema<JsonValue> => JsonValue)),
  Schema.Record({ key: Schema.String, value: Schema.suspend((): Schema.Schema<JsonValue> => JsonValue) })
).annotations({ identifier: "JsonValue", description: "A JSON value." })

/**
 * A demo of a signature (a few-shot example): a value for each input and each output field, by field name.
 * The prompt shows demos, in order, before the call's own inputs.
 */
export const Demo = Schema.Struct({
  inputs: Schema.Record({ key: Schema.String, value: JsonValue }),
  outputs: Schema.Record({ key: Schema.String, value: JsonValue })
}).annotations({ identifier: "Demo" })
export type Demo = typeof Demo.Type

/**
 * An LLM signature: instructions (`doc`), typed inputs and outputs, and demos. Instructions and demos are
 * what optimizers change; both are part of the normal form and the hash.
 */
export const Signature = Schema.Struct({
  doc: opt(Schema.String),
  inputs: Schema.Array(SignatureField),
  outputs: Schema.Array(SignatureField),
  demos: opt(Schema.Array(Demo))
}).annotations({ identifier: "Signature" })
export type Signature = typeof Signature.Type

/**
 * A whole program document: every program and signature of a file, the
 * entry program's name, and (after normalization) the labels side table
 * mapping canonical node ids and binders to the user's names.
 */
export const Program = Schema.Struct({
  ir: Schema.Literal(IR_VERSION),
  entry: Schema.String,
  programs: Schema.Record({ key: Schema.String, value: ProgramDef }),
  signatures: Schema.Record({ key: Schema.String, value: Signature }),
  labels: opt(Schema.Record({ key: Schema.String, value: Schema.String }))
}).annotations({
  identifier: "Program",
  title: "Trellis program (trellis/1)",
  description: "A Trellis program document: programs, signatures and the entry program."
})
export type Program = typeof Program.Type
