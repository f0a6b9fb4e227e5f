/**
 * A TypeScript builder for Trellis programs that produces the same IR as
 * the DSL.
 *
 * Steps (`tool`, `llm`, `call`, `map`, `branch`, `choose`, `compute`) are
 * `Flow`s: fragments of a scope, `{ nodes, result }`. Flows combine with
 * `all` (put side by side, pick the result), `seq` (the second runs after
 * the first), `par` (side by side, result the list of results) and `pure`
 * (no nodes). `named` gives a step the name a DSL statement `name = …`
 * would; unnamed steps get the synthetic ids `$0`, `$1`, … of the DSL when
 * `program` numbers them (per program, pre-order), and map binders default
 * to `item`, `item1`, ….
 *
 * @example
 * const hits = named("hits", tool("search", { query: ref("question") }, { timeout: "2s" }))
 * const doc = make({
 *   params: { question: "string" },
 *   body: all([hits], hits.result)
 * })
 */
import {
  type BinaryOp,
  type Body,
  type BuiltinName,
  type CachePolicy,
  type Expr,
  IR_VERSION,
  type Node,
  type Param,
  type Policy,
  type PrimitiveTypeName,
  type Program,
  type ProgramDef,
  type RetryPolicy,
  type Scalar,
  type Signature,
  type SignatureField,
  type Type,
  type UnaryOp
} from "./schema.js"
import { childBodies, mapExpr, mapExprs } from "./visit.js"

// ---------------------------------------------------------------------------
// Expressions
// ---------------------------------------------------------------------------

/** Anything usable where an expression is expected: an `Expr` or a JSON scalar (a literal). */
export type ExprLike = Expr | Scalar

/** Lifts a scalar to a literal; leaves expressions as they are. */
export const toExpr = (e: ExprLike): Expr => e === null || typeof e !== "object" ? { kind: "lit", value: e } : e

/** A literal. */
export const lit = (value: Scalar): Expr => ({ kind: "lit", value })

/** A reference to a param, a node or a map binder. */
export const ref = (name: string): Expr => ({ kind: "ref", name })

/** `target.field`. */
export const get = (target: ExprLike, field: string): Expr => ({ kind: "get", target: toExpr(target), field })

/** `target[index]`. */
export const index = (target: ExprLike, i: ExprLike): Expr => ({
  kind: "index",
  target: toExpr(target),
  index: toExpr(i)
})

/** `target[start:end]`; an omitted bound is null. */
export const slice = (target: ExprLike, start?: ExprLike | undefined, end?: ExprLike | undefined): Expr => ({
  kind: "slice",
  target: toExpr(target),
  start: start === undefined ? null : toExpr(start),
  end: end === undefined ? null : toExpr(end)
})

/** A unary operation: `not x`, `-x`. */
export const unary = (op: UnaryOp, arg: ExprLike): Expr => ({ kind: "unary", op, arg: toExpr(arg) })

/** A binary operation: `op("+", a, b)`. */
export const op = (operator: BinaryOp, left: ExprLike, right: ExprLike): Expr => ({
  kind: "binary",
  op: operator,
  left: toExpr(left),
  right: toExpr(right)
})

/** `not x`. */
export const not = (arg: ExprLike): Expr => unary("not", arg)

/** A list expression. */
export const list = (...items: ReadonlyArray<ExprLike>): Expr => ({ kind: "list", items: items.map(toExpr) })

/**
 * A record expression, from an object (insertion order; note that
 * JavaScript puts integer-like keys first) or from `[key, value]` pairs.
 */
export const record = (
  entries: { readonly [key: string]: ExprLike } | ReadonlyArray<readonly [string, ExprLike]>
): Expr => ({
  kind: "record",
  entries: (Array.isArray(entries) ? entries : Object.entries(entries)).map(([key, value]) => ({
    key,
    value: toExpr(value)
  }))
})

/** A builtin call: `builtin("len", xs)`. */
export const builtin = (fn: BuiltinName, ...args: ReadonlyArray<ExprLike>): Expr => ({
  kind: "call",
  fn,
  args: args.map(toExpr)
})

// ---------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------

/** A type, or the name of a primitive type. */
export type TypeLike = Type | PrimitiveTypeName

const toType = (t: TypeLike): Type => (typeof t === "string" ? { kind: t } : t)

/** Type constructors: `types.list("string")`, `types.record({ title: "string" })`. */
export const types = {
  string: { kind: "string" } as Type,
  number: { kind: "number" } as Type,
  boolean: { kind: "boolean" } as Type,
  null: { kind: "null" } as Type,
  any: { kind: "any" } as Type,
  /** `T[]`. */
  list: (of: TypeLike): Type => ({ kind: "list", of: toType(of) }),
  /** `{ a: T, … }`. */
  record: (fields: { readonly [name: string]: TypeLike }): Type => ({
    kind: "record",
    fields: Object.entries(fields).map(([name, type]) => ({ name, type: toType(type) }))
  })
} as const

// ---------------------------------------------------------------------------
// Flows and steps
// ---------------------------------------------------------------------------

/** A fragment of a scope: its nodes and the expression it yields. */
export interface Flow {
  readonly nodes: ReadonlyArray<Node>
  readonly result: Expr
}

/** Provisional ids of unnamed steps and default binders, replaced by `program`. */
let provisional = 0
const PROVISIONAL = /^\$_[0-9]+$/
const nextProvisional = (): string => `$_${provisional++}`

/** Policy options of a step (`with { … }` in the DSL). */
export interface StepOptions {
  readonly timeout?: string
  readonly retry?: RetryPolicy
  readonly cache?: CachePolicy
  readonly idempotencyKey?: ExprLike
  /** Steps of the same scope that must complete first: names, or flows whose result is a step. */
  readonly after?: ReadonlyArray<string | Flow>
  readonly label?: string
  readonly budget?: { readonly cost?: number; readonly tokens?: number }
  /** Hedged call (tool and llm steps): a second attempt after this duration; the first success wins. */
  readonly hedge?: string
}

const afterName = (a: string | Flow): string => {
  if (typeof a === "string") return a
  return a.result.kind === "ref" ? a.result.name : "$invalid-after"
}

/** The policy of the options, or undefined when they set nothing. */
const toPolicy = (o: StepOptions | undefined): Policy | undefined => {
  if (o === undefined) return undefined
  const p: { -readonly [K in keyof Policy]: Policy[K] } = {}
  if (o.timeout !== undefined) p.timeout = o.timeout
  if (o.retry !== undefined) p.retry = o.retry
  if (o.cache !== undefined) p.cache = o.cache
  if (o.idempotencyKey !== undefined) p.idempotencyKey = toExpr(o.idempotencyKey)
  if (o.after !== undefined) p.after = o.after.map(afterName)
  if (o.label !== undefined) p.label = o.label
  if (o.budget !== undefined) p.budget = o.budget
  if (o.hedge !== undefined) p.hedge = o.hedge
  return Object.keys(p).length === 0 ? undefined : p
}

/** A flow of one unnamed node (built from its id) whose result is that node. */
const single = (make: (id: string) => Node, options: StepOptions | undefined): Flow => {
  const id = nextProvisional()
  const policy = toPolicy(options)
  const node = make(id)
  return { nodes: [policy === undefined ? node : { ...node, policy }], result: { kind: "ref", name: id } }
}

const toArgs = (args: { readonly [name: string]: ExprLike }): { readonly [name: string]: Expr } =>
  Object.fromEntries(Object.entries(args).map(([k, v]) => [k, toExpr(v)]))

/** `tool name(args) with { … }`. */
export const tool = (name: string, args: { readonly [name: string]: ExprLike } = {}, options?: StepOptions): Flow =>
  single((id) => ({ id, kind: "tool", tool: name, args: toArgs(args) }), options)

/** `llm Signature(args) with { model, … }`. */
export const llm = (
  signature: string,
  args: { readonly [name: string]: ExprLike } = {},
  options?: StepOptions & { readonly model?: string; readonly hedgeModel?: string }
): Flow =>
  single((id) => {
    const base = { id, kind: "llm" as const, signature, args: toArgs(args) }
    const routed = options?.model === undefined ? base : { ...base, model: options.model }
    return options?.hedgeModel === undefined ? routed : { ...routed, hedgeModel: options.hedgeModel }
  }, options)

/** `run program(args) with { … }`: calls another program of the document. */
export const call = (program: string, args: { readonly [name: string]: ExprLike } = {}, options?: StepOptions): Flow =>
  single((id) => ({ id, kind: "call", program, args: toArgs(args) }), options)

/** A pure computation as a step (`name = expr` in the DSL); usually wrapped in `named`. */
export const compute = (e: ExprLike): Flow => single((id) => ({ id, kind: "expr", expr: toExpr(e) }), undefined)

/** A flow without nodes that yields `e` (`return expr` in the DSL). */
export const pure = (e: ExprLike): Flow => ({ nodes: [], result: toExpr(e) })

const toBody = (flow: Flow): Body => ({ nodes: flow.nodes, result: flow.result })

/**
 * `map as in over with { concurrency, take, … } { body }`; `body` receives the binder as a ref. With `take: k`
 * the step's value is the first k item results in completion order.
 */
export const map = (
  over: ExprLike,
  body: (item: Expr) => Flow,
  options?: StepOptions & {
    readonly as?: string
    readonly concurrency?: number
    readonly take?: number
    /** A program of the document combining `(acc, result)`, with `init` the first accumulator. */
    readonly fold?: string
    readonly init?: ExprLike
  }
): Flow => {
  const as = options?.as ?? nextProvisional()
  const inner = toBody(body(ref(as)))
  return single((id) => ({
    id,
    kind: "map" as const,
    over: toExpr(over),
    as,
    body: inner,
    ...(options?.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    ...(options?.take === undefined ? {} : { take: options.take }),
    ...(options?.fold === undefined ? {} : { fold: options.fold }),
    ...(options?.init === undefined ? {} : { init: toExpr(options.init) })
  }), options)
}

/** `if cond { then } else { otherwise }`; without `otherwise` the step yields null when `cond` is false. */
export const branch = (cond: ExprLike, then: Flow, otherwise?: Flow): Flow =>
  single(
    (id) => ({
      id,
      kind: "branch",
      cond: toExpr(cond),
      then: toBody(then),
      else: otherwise === undefined ? null : toBody(otherwise)
    }),
    undefined
  )

/** `choose "key" { label: { … } … }`: the policy service picks an option. */
export const choose = (key: string, options: { readonly [label: string]: Flow }, policy?: StepOptions): Flow =>
  single(
    (id) => ({
      id,
      kind: "choose",
      key,
      options: Object.entries(options).map(([label, f]) => ({ label, body: toBody(f) }))
    }),
    policy
  )

/** `race { label: { … } … }`: every option runs; the first to succeed gives the value, the rest are cancelled. */
export const race = (options: { readonly [label: string]: Flow }, policy?: StepOptions): Flow =>
  single(
    (id) => ({
      id,
      kind: "race",
      options: Object.entries(options).map(([label, f]) => ({ label, body: toBody(f) }))
    }),
    policy
  )
/**
 * `wait "name" payload`: waits durably for the signal `name` (its payload
 * is the step's value; `answer` declares its type, `timeout` its deadline).
 */
export const wait = (
  signal: string,
  payload?: ExprLike,
  options?: StepOptions & { readonly answer?: Type }
): Flow => {
  const { answer, ...policy } = options ?? {}
  return single(
    (id) => ({
      id,
      kind: "wait",
      signal,
      ...(payload === undefined ? {} : { payload: toExpr(payload) }),
      ...(answer === undefined ? {} : { answer })
    }),
    policy
  )
}

/** `wait for "3d"`: a durable sleep (the step's value is null). */
export const sleep = (duration: string, options?: StepOptions): Flow =>
  single((id) => ({ id, kind: "wait", for: duration }), options)

/** Renames refs and `after` entries of a node list (shallow: bodies included). */
const renameIn = (nodes: ReadonlyArray<Node>, result: Expr, rename: ReadonlyMap<string, string>): Flow => {
  const program: Program = {
    ir: IR_VERSION,
    entry: "",
    programs: { f: { params: [], nodes, result } },
    signatures: {}
  }
  const renamed = renameProgram(program, rename).programs["f"]!
  return { nodes: renamed.nodes, result: renamed.result }
}

/**
 * Names a flow's step, like `name = step` in the DSL: the node its result
 * refers to gets `name`. A flow whose result is not one of its own nodes
 * (e.g. `pure(e)`) gains an `expr` node named `name` computing the result.
 */
export const named = (name: string, flow: Flow): Flow => {
  const target = flow.result.kind === "ref" ? flow.result.name : undefined
  if (target !== undefined && flow.nodes.some((n) => n.id === target)) {
    return renameIn(flow.nodes, flow.result, new Map([[target, name]]))
  }
  return { nodes: [...flow.nodes, { id: name, kind: "expr", expr: flow.result }], result: ref(name) }
}

/** Puts flows side by side in one scope (no ordering between them); the result is `result`. */
export const all = (flows: ReadonlyArray<Flow>, result: ExprLike = null): Flow => ({
  nodes: flows.flatMap((f) => f.nodes),
  result: toExpr(result)
})

/** Runs flows side by side; the result is the list of their results. */
export const par = (...flows: ReadonlyArray<Flow>): Flow => all(flows, list(...flows.map((f) => f.result)))

/**
 * Runs `next` after `first`: each node of `next` gets `after` edges to the
 * nodes of `first`. `next` may be a function of `first`'s result. The
 * result is `next`'s. `pure` is an identity on both sides
 * (`seq(pure(x), f) = f(x)`, `seq(a, pure) = a`), and `seq` is associative
 * (`after` lists are kept in the scope's node order).
 */
export const seq = (first: Flow, ...rest: ReadonlyArray<Flow | ((previous: Expr) => Flow)>): Flow =>
  rest.reduce<Flow>((a, next) => {
    const b = typeof next === "function" ? next(a.result) : next
    if (a.nodes.length === 0) return b
    const scope = [...a.nodes, ...b.nodes]
    const position = new Map(scope.map((n, i) => [n.id, i] as const))
    const rank = (id: string): number => position.get(id) ?? Number.MAX_SAFE_INTEGER
    const nodes = b.nodes.map((n): Node => {
      const after = [...new Set([...(n.policy?.after ?? []), ...a.nodes.map((m) => m.id)])]
      // A stable sort: names outside the scope keep their order, after the scope's nodes.
      after.sort((x, y) => rank(x) - rank(y))
      return { ...n, policy: { ...n.policy, after } }
    })
    return { nodes: [...a.nodes, ...nodes], result: b.result }
  }, first)

// ---------------------------------------------------------------------------
// Programs and documents
// ---------------------------------------------------------------------------

/** A parameter: its type, or its type and default. */
export type ParamSpec = TypeLike | { readonly type: TypeLike; readonly default?: ExprLike }

/** What `program` needs: parameters (in order) and a body, or a function of the params' refs. */
export interface ProgramSpec<P extends { readonly [name: string]: ParamSpec }> {
  /** @default {} */
  readonly params?: P
  readonly body: Flow | ((params: { readonly [K in keyof P]: Expr }) => Flow)
}

/** One named program of a document. */
export interface ProgramPart {
  readonly _tag: "ProgramPart"
  readonly name: string
  readonly def: ProgramDef
}

/** One named signature of a document. */
export interface SignaturePart {
  readonly _tag: "SignaturePart"
  readonly name: string
  readonly signature: Signature
}

/** Renames refs, `after` entries, node ids and binders everywhere in a document. */
const renameProgram = (program: Program, rename: ReadonlyMap<string, string>): Program => {
  if (rename.size === 0) return program
  const name = (n: string): string => rename.get(n) ?? n
  const renamedExprs = mapExprs(
    program,
    (root) => mapExpr(root, (e) => (e.kind === "ref" && rename.has(e.name) ? { kind: "ref", name: name(e.name) } : e))
  )
  const renameNodes = (nodes: ReadonlyArray<Node>): ReadonlyArray<Node> =>
    nodes.map((n): Node => {
      const base = { ...n, id: name(n.id) }
      const withPolicy = base.policy?.after === undefined
        ? base
        : { ...base, policy: { ...base.policy, after: base.policy.after.map(name) } }
      switch (withPolicy.kind) {
        case "map":
          return {
            ...withPolicy,
            as: name(withPolicy.as),
            body: { ...withPolicy.body, nodes: renameNodes(withPolicy.body.nodes) }
          }
        case "branch":
          return {
            ...withPolicy,
            then: { ...withPolicy.then, nodes: renameNodes(withPolicy.then.nodes) },
            else: withPolicy.else === null ? null : { ...withPolicy.else, nodes: renameNodes(withPolicy.else.nodes) }
          }
        case "choose":
        case "race":
          return {
            ...withPolicy,
            options: withPolicy.options.map((o) => ({
              label: o.label,
              body: { ...o.body, nodes: renameNodes(o.body.nodes) }
            }))
          }
        case "tool":
        case "llm":
        case "call":
        case "expr":
        case "wait":
          return withPolicy
      }
    })
  const programs = Object.entries(renamedExprs.programs).map(
    ([k, def]) => [k, { ...def, nodes: renameNodes(def.nodes) }] as const
  )
  return { ...renamedExprs, programs: Object.fromEntries(programs) }
}

/**
 * Moves the node a body returns to the end of its scope when it is an
 * unnamed step — where the DSL's `return step` puts it. Recursive in the
 * nesting depth only.
 */
const returnStepsLast = (body: Body): Body => {
  const nodes = body.nodes.map((n): Node => {
    switch (n.kind) {
      case "map":
        return { ...n, body: returnStepsLast(n.body) }
      case "branch":
        return { ...n, then: returnStepsLast(n.then), else: n.else === null ? null : returnStepsLast(n.else) }
      case "choose":
      case "race":
        return { ...n, options: n.options.map((o) => ({ label: o.label, body: returnStepsLast(o.body) })) }
      case "tool":
      case "llm":
      case "call":
      case "expr":
      case "wait":
        return n
    }
  })
  const r = body.result
  const last = r.kind === "ref" && PROVISIONAL.test(r.name) ? nodes.findIndex((n) => n.id === r.name) : -1
  if (last < 0 || last === nodes.length - 1) return { nodes, result: r }
  return { nodes: [...nodes.slice(0, last), ...nodes.slice(last + 1), nodes[last]!], result: r }
}

/**
 * Gives unnamed steps their synthetic ids (`$0`, `$1`, … in pre-order) and
 * default binders their names (`item`, `item1`, … avoiding every other name).
 */
const finalizeIds = (def: ProgramDef): ProgramDef => {
  const used = new Set<string>(def.params.map((p) => p.name))
  const order: Array<readonly [string, "node" | "binder"]> = []
  const stack: Array<Node> = [...def.nodes].reverse()
  while (stack.length > 0) {
    const n = stack.pop()!
    if (PROVISIONAL.test(n.id)) order.push([n.id, "node"])
    else used.add(n.id)
    if (n.kind === "map") {
      if (PROVISIONAL.test(n.as)) order.push([n.as, "binder"])
      else used.add(n.as)
    }
    const bodies = childBodies(n)
    for (let i = bodies.length - 1; i >= 0; i--) {
      const nodes = bodies[i]![1].nodes
      for (let j = nodes.length - 1; j >= 0; j--) stack.push(nodes[j]!)
    }
  }
  const rename = new Map<string, string>()
  let synthetic = 0
  let binder = 0
  for (const [id, what] of order) {
    if (what === "node") {
      rename.set(id, `$${synthetic++}`)
      continue
    }
    let candidate = binder === 0 ? "item" : `item${binder}`
    while (used.has(candidate)) candidate = `item${++binder}`
    binder++
    used.add(candidate)
    rename.set(id, candidate)
  }
  const doc: Program = { ir: IR_VERSION, entry: "", programs: { p: def }, signatures: {} }
  return renameProgram(doc, rename).programs["p"]!
}

const toParam = ([name, spec]: readonly [string, ParamSpec]): Param => {
  if (typeof spec === "string" || "kind" in spec) return { name, type: toType(spec) }
  return spec.default === undefined
    ? { name, type: toType(spec.type) }
    : { name, type: toType(spec.type), default: toExpr(spec.default) }
}

/** A program of a document; unnamed steps are numbered here. */
export const program = <const P extends { readonly [name: string]: ParamSpec }>(
  name: string,
  spec: ProgramSpec<P>
): ProgramPart => {
  const params = Object.entries(spec.params ?? {}).map(toParam)
  const refs = Object.fromEntries(params.map((p) => [p.name, ref(p.name)])) as { readonly [K in keyof P]: Expr }
  const flow = typeof spec.body === "function" ? spec.body(refs) : spec.body
  const body = returnStepsLast(toBody(flow))
  return { _tag: "ProgramPart", name, def: finalizeIds({ params, nodes: body.nodes, result: body.result }) }
}

/** Signature fields: a type, or a type with a doc string. */
export type FieldSpecLike = TypeLike | { readonly type: TypeLike; readonly doc?: string }

const toField = ([name, spec]: readonly [string, FieldSpecLike]): SignatureField => {
  if (typeof spec === "string" || "kind" in spec) return { name, type: toType(spec) }
  return spec.doc === undefined ? { name, type: toType(spec.type) } : { name, type: toType(spec.type), doc: spec.doc }
}

/** An LLM signature: instructions, typed inputs and outputs. */
export const signature = (
  name: string,
  spec: {
    readonly doc?: string
    readonly inputs?: { readonly [name: string]: FieldSpecLike }
    readonly outputs?: { readonly [name: string]: FieldSpecLike }
  }
): SignaturePart => {
  const inputs = Object.entries(spec.inputs ?? {}).map(toField)
  const outputs = Object.entries(spec.outputs ?? {}).map(toField)
  return {
    _tag: "SignaturePart",
    name,
    signature: spec.doc === undefined ? { inputs, outputs } : { doc: spec.doc, inputs, outputs }
  }
}

/** A document of programs and signatures; the entry is `main`, else the first program. */
export const document = (...parts: ReadonlyArray<ProgramPart | SignaturePart>): Program => {
  const programs: Array<readonly [string, ProgramDef]> = []
  const signatures: Array<readonly [string, Signature]> = []
  for (const part of parts) {
    if (part._tag === "ProgramPart") programs.push([part.name, part.def])
    else signatures.push([part.name, part.signature])
  }
  const names = programs.map(([n]) => n)
  return {
    ir: IR_VERSION,
    entry: names.includes("main") ? "main" : (names[0] ?? "main"),
    programs: Object.fromEntries(programs),
    signatures: Object.fromEntries(signatures)
  }
}

/** A document of one program (named `main` unless `name` says otherwise) and its signatures. */
export const make = <const P extends { readonly [name: string]: ParamSpec }>(
  spec: ProgramSpec<P> & { readonly name?: string; readonly signatures?: ReadonlyArray<SignaturePart> }
): Program => document(program(spec.name ?? "main", spec), ...(spec.signatures ?? []))
