/**
 * Traversal of the IR, driven by one table of fields per element kind
 * (graphql-js `QueryDocumentKeys` style).
 *
 * The tables list every field of every IR element in a fixed order with
 * its shape; `visit` helpers, the token serializer and the builder's
 * helpers all read them. Traversals are iterative (explicit stacks), so
 * neither a scope of 100k nodes nor a 100k-deep expression overflows the
 * call stack.
 */
import type { Path } from "./diagnostic.js"
import type { Body, Expr, Node, Param, Program, ProgramDef } from "./schema.js"

// ---------------------------------------------------------------------------
// The field tables
// ---------------------------------------------------------------------------

/**
 * The shape of a field's value. A `?` suffix marks an optional field
 * (absent rather than undefined); `|null` marks a field that may be null.
 *
 * - `string`, `number`, `scalar` (a JSON scalar): leaves.
 * - `name`: the name a ref points to. `op`, `fn`: an operator, a builtin.
 * - `expr`, `type`, `node`, `body`, `policy`, `retry`, `budget`, `cache`
 *   (`false` or `{ ttl }`), `param`, `signature`, `sigField`, `programDef`,
 *   `document` (the whole Program): one element.
 * - `X[]`: an array of X.
 * - `args`, `programs`, `signatures`, `labels`: a record (string keys) of
 *   expr, programDef, signature, string.
 * - `entries` (`{ key, value: expr }[]`), `options` (`{ label, body }[]`),
 *   `typeFields` (`{ name, type }[]`): ordered key/value pairs.
 * - `json`: a JSON value taken as one leaf (a signature's demos).
 */
export type FieldShape =
  | "string"
  | "number"
  | "scalar"
  | "name"
  | "op"
  | "fn"
  | "expr"
  | "type"
  | "node"
  | "body"
  | "policy"
  | "retry"
  | "budget"
  | "cache"
  | "param"
  | "signature"
  | "sigField"
  | "programDef"
  | "document"
  | "string[]"
  | "expr[]"
  | "node[]"
  | "param[]"
  | "sigField[]"
  | "args"
  | "programs"
  | "signatures"
  | "labels"
  | "entries"
  | "options"
  | "typeFields"
  | "json"

/** A field spec: its name, shape, and whether it may be absent or null. */
export type FieldSpec = readonly [name: string, shape: `${FieldShape}` | `${FieldShape}?` | `${FieldShape}|null`]

/** Fields of each expression kind, in order (the `kind` itself excluded). */
export const EXPR_FIELDS = {
  lit: [["value", "scalar"]],
  ref: [["name", "name"]],
  get: [["target", "expr"], ["field", "string"]],
  index: [["target", "expr"], ["index", "expr"]],
  slice: [["target", "expr"], ["start", "expr|null"], ["end", "expr|null"]],
  unary: [["op", "op"], ["arg", "expr"]],
  binary: [["op", "op"], ["left", "expr"], ["right", "expr"]],
  list: [["items", "expr[]"]],
  record: [["entries", "entries"]],
  call: [["fn", "fn"], ["args", "expr[]"]]
} as const satisfies { readonly [K in Expr["kind"]]: ReadonlyArray<FieldSpec> }

/** Fields of each node kind, in order (the `kind` itself excluded). */
export const NODE_FIELDS = {
  tool: [["id", "string"], ["tool", "string"], ["args", "args"], ["policy", "policy?"]],
  llm: [["id", "string"], ["signature", "string"], ["args", "args"], ["model", "string?"], ["hedgeModel", "string?"], [
    "policy",
    "policy?"
  ]],
  call: [["id", "string"], ["program", "string"], ["args", "args"], ["policy", "policy?"]],
  map: [
    ["id", "string"],
    ["over", "expr"],
    ["as", "string"],
    ["body", "body"],
    ["concurrency", "number?"],
    ["take", "number?"],
    ["fold", "string?"],
    ["init", "expr?"],
    ["policy", "policy?"]
  ],
  branch: [["id", "string"], ["cond", "expr"], ["then", "body"], ["else", "body|null"], ["policy", "policy?"]],
  choose: [["id", "string"], ["key", "string"], ["options", "options"], ["policy", "policy?"]],
  race: [["id", "string"], ["options", "options"], ["policy", "policy?"]],
  expr: [["id", "string"], ["expr", "expr"], ["policy", "policy?"]],
  wait: [
    ["id", "string"],
    ["signal", "string?"],
    ["payload", "expr?"],
    ["answer", "type?"],
    ["for", "string?"],
    ["policy", "policy?"]
  ]
} as const satisfies { readonly [K in Node["kind"]]: ReadonlyArray<FieldSpec> }

/** Fields of the compound static types (primitive types have none). */
export const TYPE_FIELDS = {
  list: [["of", "type"]],
  record: [["fields", "typeFields"]]
} as const satisfies { readonly [k: string]: ReadonlyArray<FieldSpec> }

/** Fields of the elements without a `kind`, in order. */
export const STRUCT_FIELDS = {
  document: [
    ["ir", "string"],
    ["entry", "string"],
    ["programs", "programs"],
    ["signatures", "signatures"],
    ["labels", "labels?"]
  ],
  programDef: [["params", "param[]"], ["nodes", "node[]"], ["result", "expr"]],
  param: [["name", "string"], ["type", "type"], ["default", "expr?"]],
  signature: [["doc", "string?"], ["inputs", "sigField[]"], ["outputs", "sigField[]"], ["demos", "json?"]],
  sigField: [["name", "string"], ["type", "type"], ["doc", "string?"]],
  body: [["nodes", "node[]"], ["result", "expr"]],
  policy: [
    ["timeout", "string?"],
    ["retry", "retry?"],
    ["cache", "cache?"],
    ["idempotencyKey", "expr?"],
    ["after", "string[]?"],
    ["label", "string?"],
    ["budget", "budget?"],
    ["hedge", "string?"]
  ],
  retry: [
    ["times", "number?"],
    ["backoff", "string?"],
    ["base", "string?"],
    ["factor", "number?"],
    ["max", "string?"],
    ["jitter", "string?"],
    ["maxElapsed", "string?"],
    ["on", "string[]?"]
  ],
  budget: [["cost", "number?"], ["tokens", "number?"]],
  cache: [["ttl", "string"]]
} as const satisfies { readonly [k: string]: ReadonlyArray<FieldSpec> }

/** Splits a field spec's shape into its base shape and modifier. */
export const parseShape = (
  shape: FieldSpec[1]
): { readonly base: FieldShape; readonly optional: boolean; readonly nullable: boolean } => {
  if (shape.endsWith("?")) return { base: shape.slice(0, -1) as FieldShape, optional: true, nullable: false }
  if (shape.endsWith("|null")) return { base: shape.slice(0, -5) as FieldShape, optional: false, nullable: true }
  return { base: shape as FieldShape, optional: false, nullable: false }
}

// ---------------------------------------------------------------------------
// Expressions
// ---------------------------------------------------------------------------

/** The direct sub-expressions of an expression, with their relative path segments, in field order. */
export const childExprs = (expr: Expr): ReadonlyArray<readonly [Path, Expr]> => {
  switch (expr.kind) {
    case "lit":
    case "ref":
      return []
    case "get":
      return [[["target"], expr.target]]
    case "unary":
      return [[["arg"], expr.arg]]
    case "index":
      return [
        [["target"], expr.target],
        [["index"], expr.index]
      ]
    case "slice": {
      const out: Array<readonly [Path, Expr]> = [[["target"], expr.target]]
      if (expr.start !== null) out.push([["start"], expr.start])
      if (expr.end !== null) out.push([["end"], expr.end])
      return out
    }
    case "binary":
      return [
        [["left"], expr.left],
        [["right"], expr.right]
      ]
    case "list":
      return expr.items.map((e, i) => [["items", i], e] as const)
    case "record":
      return expr.entries.map((e, i) => [["entries", i, "value"], e.value] as const)
    case "call":
      return expr.args.map((e, i) => [["args", i], e] as const)
  }
}

/** Calls `f` on `expr` and every sub-expression, pre-order. Iterative; O(size). */
export const forEachSubExpr = (expr: Expr, f: (expr: Expr) => void): void => {
  const stack: Array<Expr> = [expr]
  while (stack.length > 0) {
    const e = stack.pop()!
    f(e)
    const children = childExprs(e)
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]![1])
  }
}

/** A path kept as a linked list, so that deep trees share their prefixes. */
interface PathLink {
  readonly parent: PathLink | undefined
  readonly segments: Path
}

const materialize = (link: PathLink): Path => {
  const parts: Array<Path> = []
  for (let l: PathLink | undefined = link; l !== undefined; l = l.parent) parts.push(l.segments)
  return parts.reverse().flat()
}

/**
 * Calls `f` on `expr` and every sub-expression, pre-order, with the path of
 * each from `base`. Iterative; each path costs O(depth), so prefer
 * `forEachSubExpr` on very deep expressions when paths are not needed.
 */
export const forEachSubExprWithPath = (expr: Expr, f: (expr: Expr, path: Path) => void, base: Path = []): void => {
  const stack: Array<readonly [Expr, PathLink]> = [[expr, { parent: undefined, segments: base }]]
  while (stack.length > 0) {
    const [e, link] = stack.pop()!
    f(e, materialize(link))
    const children = childExprs(e)
    for (let i = children.length - 1; i >= 0; i--) {
      const [rel, child] = children[i]!
      stack.push([child, { parent: link, segments: rel }])
    }
  }
}

/** Rebuilds `expr` with the given direct children (in `childExprs` order). */
const withChildren = (expr: Expr, kids: ReadonlyArray<Expr>): Expr => {
  let i = 0
  const next = (): Expr => kids[i++]!
  switch (expr.kind) {
    case "lit":
    case "ref":
      return expr
    case "get":
      return { ...expr, target: next() }
    case "unary":
      return { ...expr, arg: next() }
    case "index": {
      const target = next()
      return { ...expr, target, index: next() }
    }
    case "slice": {
      const target = next()
      const start = expr.start === null ? null : next()
      const end = expr.end === null ? null : next()
      return { ...expr, target, start, end }
    }
    case "binary": {
      const left = next()
      return { ...expr, left, right: next() }
    }
    case "list":
      return { ...expr, items: expr.items.map(next) }
    case "record":
      return { ...expr, entries: expr.entries.map((e) => ({ key: e.key, value: next() })) }
    case "call":
      return { ...expr, args: expr.args.map(next) }
  }
}

/**
 * Rewrites an expression bottom-up: `f` sees each sub-expression after its
 * children were rewritten. Unchanged subtrees keep their identity. Iterative.
 */
export const mapExpr = (expr: Expr, f: (expr: Expr) => Expr): Expr => {
  // Post-order with an explicit stack: each frame collects its rewritten children.
  interface Frame {
    readonly expr: Expr
    readonly children: ReadonlyArray<readonly [Path, Expr]>
    readonly done: Array<Expr>
  }
  const frames: Array<Frame> = [{ expr, children: childExprs(expr), done: [] }]
  let result: Expr = expr
  while (frames.length > 0) {
    const top = frames[frames.length - 1]!
    if (top.done.length < top.children.length) {
      const child = top.children[top.done.length]![1]
      frames.push({ expr: child, children: childExprs(child), done: [] })
      continue
    }
    frames.pop()
    const changed = top.done.some((d, i) => d !== top.children[i]![1])
    const rebuilt = changed ? withChildren(top.expr, top.done) : top.expr
    result = f(rebuilt)
    const parent = frames[frames.length - 1]
    if (parent !== undefined) parent.done.push(result)
  }
  return result
}

// ---------------------------------------------------------------------------
// Nodes and scopes
// ---------------------------------------------------------------------------

/** The nested bodies of a node with their relative paths, in field order. */
export const childBodies = (node: Node): ReadonlyArray<readonly [Path, Body]> => {
  switch (node.kind) {
    case "map":
      return [[["body"], node.body]]
    case "branch":
      return node.else === null
        ? [[["then"], node.then]]
        : [
          [["then"], node.then],
          [["else"], node.else]
        ]
    case "choose":
    case "race":
      return node.options.map((o, i) => [["options", i, "body"], o.body] as const)
    case "tool":
    case "llm":
    case "call":
    case "expr":
    case "wait":
      return []
  }
}

/**
 * The expression roots held directly by a node (not by its bodies), with
 * relative paths, in field order: args, `over`, `cond`, `expr`, and the
 * policy's `idempotencyKey`.
 */
export const nodeExprs = (node: Node): ReadonlyArray<readonly [Path, Expr]> => {
  const out: Array<readonly [Path, Expr]> = []
  switch (node.kind) {
    case "tool":
    case "llm":
    case "call":
      for (const [k, e] of Object.entries(node.args)) out.push([["args", k], e])
      break
    case "map":
      out.push([["over"], node.over])
      break
    case "branch":
      out.push([["cond"], node.cond])
      break
    case "expr":
      out.push([["expr"], node.expr])
      break
    case "choose":
    case "race":
      break
    case "wait":
      if (node.payload !== undefined) out.push([["payload"], node.payload])
      break
  }
  const key = node.policy?.idempotencyKey
  if (key !== undefined) out.push([["policy", "idempotencyKey"], key])
  return out
}

/** One scope: a program's top level or a nested body. */
export interface Scope {
  /** The program this scope belongs to. */
  readonly program: string
  /** Path of the scope's body (`["programs", name]` for a program's top level). */
  readonly path: Path
  /** The nodes and result of the scope (a `ProgramDef` for the top level). */
  readonly body: Body
  /** 0 for a program's top level, +1 per enclosing node. */
  readonly depth: number
  /** Index of the enclosing scope in the `scopes` array, undefined at top level. */
  readonly parent: number | undefined
  /** The node that owns this body, undefined at top level. */
  readonly owner: Node | undefined
  /** Names the scope binds besides its nodes: the params at top level, the binder of a map body. */
  readonly bound: ReadonlyArray<string>
}

/**
 * Every scope of every program, in pre-order source order (a scope before
 * the scopes nested in it; programs in document order). Iterative.
 */
export const scopes = (program: Program): ReadonlyArray<Scope> => {
  const out: Array<Scope> = []
  for (const [name, def] of Object.entries(program.programs)) {
    const stack: Array<Scope> = [
      {
        program: name,
        path: ["programs", name],
        body: def,
        depth: 0,
        parent: undefined,
        owner: undefined,
        bound: def.params.map((p: Param) => p.name)
      }
    ]
    while (stack.length > 0) {
      const scope = stack.pop()!
      const index = out.length
      out.push(scope)
      const nested: Array<Scope> = []
      scope.body.nodes.forEach((node, i) => {
        for (const [rel, body] of childBodies(node)) {
          nested.push({
            program: name,
            path: [...scope.path, "nodes", i, ...rel],
            body,
            depth: scope.depth + 1,
            parent: index,
            owner: node,
            bound: node.kind === "map" ? [node.as] : []
          })
        }
      })
      for (let i = nested.length - 1; i >= 0; i--) stack.push(nested[i]!)
    }
  }
  return out
}

/** Where a node sits: its path, program, and nesting depth. */
export interface NodeInfo {
  readonly path: Path
  readonly program: string
  readonly depth: number
}

/**
 * Calls `f` on every node of every program in pre-order source order (a
 * node before the nodes of its bodies) — the order synthetic ids follow.
 * Iterative.
 */
export const forEachNode = (program: Program, f: (node: Node, info: NodeInfo) => void): void => {
  for (const [name, def] of Object.entries(program.programs)) {
    const stack: Array<readonly [Node, Path, number]> = []
    const pushScope = (nodes: ReadonlyArray<Node>, path: Path, depth: number) => {
      for (let i = nodes.length - 1; i >= 0; i--) stack.push([nodes[i]!, [...path, "nodes", i], depth])
    }
    pushScope(def.nodes, ["programs", name], 0)
    while (stack.length > 0) {
      const [node, path, depth] = stack.pop()!
      f(node, { path, program: name, depth })
      const bodies = childBodies(node)
      for (let i = bodies.length - 1; i >= 0; i--) {
        const [rel, body] = bodies[i]!
        pushScope(body.nodes, [...path, ...rel], depth + 1)
      }
    }
  }
}

/**
 * Every expression root of the document with its path, in document order:
 * param defaults, then per scope (pre-order) each node's expressions
 * followed by the scope's result.
 */
export const exprRoots = (program: Program): ReadonlyArray<readonly [Path, Expr]> => {
  const out: Array<readonly [Path, Expr]> = []
  for (const [name, def] of Object.entries(program.programs)) {
    def.params.forEach((p, i) => {
      if (p.default !== undefined) out.push([["programs", name, "params", i, "default"], p.default])
    })
  }
  // Scopes and nodes in pre-order; each scope's result after its nodes' own expressions.
  for (const scope of scopes(program)) {
    scope.body.nodes.forEach((node, i) => {
      for (const [rel, e] of nodeExprs(node)) out.push([[...scope.path, "nodes", i, ...rel], e])
    })
    out.push([[...scope.path, "result"], scope.body.result])
  }
  return out
}

/** Calls `f` on every expression (roots and sub-expressions, pre-order) of the document with its path. */
export const forEachExpr = (program: Program, f: (expr: Expr, path: Path) => void): void => {
  for (const [path, root] of exprRoots(program)) forEachSubExprWithPath(root, f, path)
}

/** Rewrites the expression roots of a node's own fields (not of its bodies). */
const mapNodeExprs = (node: Node, f: (expr: Expr, path: Path) => Expr, path: Path): Node => {
  const policy = node.policy?.idempotencyKey === undefined
    ? node.policy
    : { ...node.policy, idempotencyKey: f(node.policy.idempotencyKey, [...path, "policy", "idempotencyKey"]) }
  const withPolicy = <N extends Node>(n: N): N => (policy === undefined ? n : { ...n, policy })
  const mapArgs = (args: { readonly [k: string]: Expr }): { readonly [k: string]: Expr } =>
    Object.fromEntries(Object.entries(args).map(([k, e]) => [k, f(e, [...path, "args", k])]))
  switch (node.kind) {
    case "tool":
    case "llm":
    case "call":
      return withPolicy({ ...node, args: mapArgs(node.args) })
    case "map":
      return withPolicy({ ...node, over: f(node.over, [...path, "over"]) })
    case "branch":
      return withPolicy({ ...node, cond: f(node.cond, [...path, "cond"]) })
    case "expr":
      return withPolicy({ ...node, expr: f(node.expr, [...path, "expr"]) })
    case "choose":
    case "race":
      return withPolicy(node)
    case "wait":
      return withPolicy(node.payload === undefined ? node : { ...node, payload: f(node.payload, [...path, "payload"]) })
  }
}

/**
 * Rewrites every expression root of the document (param defaults, node
 * args / over / cond / expr / idempotencyKey, body and program results)
 * with `f`, which receives the root and its path. Combine with `mapExpr`
 * for bottom-up rewriting. Iterative over nodes (recursive only in the
 * nesting depth of bodies).
 */
export const mapExprs = (program: Program, f: (expr: Expr, path: Path) => Expr): Program => {
  const mapBody = <B extends Body>(body: B, path: Path): B => {
    const nodes = body.nodes.map((node, i) => {
      const nodePath = [...path, "nodes", i]
      const mapped = mapNodeExprs(node, f, nodePath)
      return mapNodeBodies(mapped, nodePath)
    })
    return { ...body, nodes, result: f(body.result, [...path, "result"]) }
  }
  const mapNodeBodies = (node: Node, path: Path): Node => {
    switch (node.kind) {
      case "map":
        return { ...node, body: mapBody(node.body, [...path, "body"]) }
      case "branch":
        return {
          ...node,
          then: mapBody(node.then, [...path, "then"]),
          else: node.else === null ? null : mapBody(node.else, [...path, "else"])
        }
      case "choose":
      case "race":
        return {
          ...node,
          options: node.options.map((o, i) => ({
            label: o.label,
            body: mapBody(o.body, [...path, "options", i, "body"])
          }))
        }
      case "tool":
      case "llm":
      case "call":
      case "expr":
      case "wait":
        return node
    }
  }
  const programs = Object.entries(program.programs).map(([name, def]): readonly [string, ProgramDef] => {
    const path = ["programs", name]
    const params = def.params.map((p, i) =>
      p.default === undefined ? p : { ...p, default: f(p.default, [...path, "params", i, "default"]) }
    )
    return [name, { ...mapBody(def, path), params }]
  })
  return { ...program, programs: Object.fromEntries(programs) }
}
