/**
 * Program transformers for the normalization laws: each makes a variant
 * that must normalize to the same hash (alpha-renaming, statement
 * shuffling, constant variation) or to a different one (a changed tool
 * argument). All are deterministic functions of a seed, so fast-check can
 * replay and shrink them.
 */
import type { Body, Expr, Node, Program, ProgramDef, Scalar } from "../src/ir/schema.js"
import { makeUniform } from "../src/runtime/bandit/sample.js"

/** A small deterministic random generator (mulberry32, the bandits' own). */
export const makeRandom: (seed: number) => () => number = makeUniform

const mapPrograms = (program: Program, f: (def: ProgramDef, name: string) => ProgramDef): Program => ({
  ...program,
  programs: Object.fromEntries(Object.entries(program.programs).map(([name, def]) => [name, f(def, name)]))
})

// ---------------------------------------------------------------------------
// Generic expression / node rewriting
// ---------------------------------------------------------------------------

/** Rebuilds an expression bottom-up, applying `f` to every sub-expression after its children. */
export const mapExpr = (expr: Expr, f: (e: Expr) => Expr): Expr => {
  const go = (e: Expr): Expr => mapExpr(e, f)
  switch (expr.kind) {
    case "lit":
    case "ref":
      return f(expr)
    case "get":
      return f({ ...expr, target: go(expr.target) })
    case "index":
      return f({ ...expr, target: go(expr.target), index: go(expr.index) })
    case "slice":
      return f({
        ...expr,
        target: go(expr.target),
        start: expr.start === null ? null : go(expr.start),
        end: expr.end === null ? null : go(expr.end)
      })
    case "unary":
      return f({ ...expr, arg: go(expr.arg) })
    case "binary":
      return f({ ...expr, left: go(expr.left), right: go(expr.right) })
    case "list":
      return f({ ...expr, items: expr.items.map(go) })
    case "record":
      return f({ ...expr, entries: expr.entries.map((x) => ({ key: x.key, value: go(x.value) })) })
    case "call":
      return f({ ...expr, args: expr.args.map(go) })
  }
}

const mapArgs = (args: { readonly [k: string]: Expr }, f: (e: Expr) => Expr) =>
  Object.fromEntries(Object.entries(args).map(([k, v]) => [k, f(v)]))

/** Applies `f` to every expression of a node (not inside its bodies) and `g` to every body. */
const mapNode = (node: Node, f: (e: Expr) => Expr, g: (b: Body) => Body): Node => {
  const policy = node.policy?.idempotencyKey === undefined
    ? {}
    : { policy: { ...node.policy, idempotencyKey: f(node.policy.idempotencyKey) } }
  switch (node.kind) {
    case "tool":
    case "llm":
    case "call":
      return { ...node, args: mapArgs(node.args, f), ...policy }
    case "map":
      return { ...node, over: f(node.over), body: g(node.body), ...policy }
    case "branch":
      return {
        ...node,
        cond: f(node.cond),
        then: g(node.then),
        else: node.else === null ? null : g(node.else),
        ...policy
      }
    case "choose":
    case "race":
      return { ...node, options: node.options.map((o) => ({ label: o.label, body: g(o.body) })), ...policy }
    case "expr":
      return { ...node, expr: f(node.expr), ...policy }
    case "wait":
      return node.payload === undefined ? { ...node, ...policy } : { ...node, payload: f(node.payload), ...policy }
  }
}

// ---------------------------------------------------------------------------
// Alpha-renaming
// ---------------------------------------------------------------------------

interface Scope {
  readonly names: ReadonlyMap<string, string>
  readonly parent: Scope | undefined
}

const lookup = (scope: Scope | undefined, name: string): string | undefined => {
  for (let s = scope; s !== undefined; s = s.parent) {
    const hit = s.names.get(name)
    if (hit !== undefined) return hit
  }
  return undefined
}

/**
 * Renames every node id and map binder consistently (refs resolve
 * lexically, as in the IR), to fresh names drawn from the seed. Params
 * and program names are kept; synthetic ids (`$k`) stay synthetic.
 */
export const alphaRename = (program: Program, seed: number): Program => {
  const random = makeRandom(seed)
  const salt = Math.floor(random() * 1000)
  let counter = 0
  const fresh = (old: string): string => {
    counter += 1 + Math.floor(random() * 3)
    return old.startsWith("$") ? `$${salt + counter}` : `r${salt}_${counter}`
  }
  const renameExpr = (e: Expr, scope: Scope): Expr =>
    mapExpr(e, (x) => (x.kind === "ref" ? { kind: "ref", name: lookup(scope, x.name) ?? x.name } : x))

  const renameBody = (body: Body, parent: Scope): Body => {
    const names = new Map<string, string>()
    for (const node of body.nodes) if (!names.has(node.id)) names.set(node.id, fresh(node.id))
    const scope: Scope = { names, parent }
    const nodes = body.nodes.map((node): Node => {
      const id = names.get(node.id)!
      const after = node.policy?.after?.map((a) => names.get(a) ?? a)
      const withAfter = (n: Node): Node =>
        n.policy === undefined || after === undefined ? n : ({ ...n, policy: { ...n.policy, after } } as Node)
      if (node.kind === "map") {
        // The binder shadows outer names inside the body only.
        const as = fresh(node.as)
        const inner: Scope = { names: new Map([[node.as, as]]), parent: scope }
        const renamed = mapNode(node, (e) => renameExpr(e, scope), (b) => b)
        return withAfter({ ...renamed, id, as, body: renameBody(node.body, inner) } as Node)
      }
      return withAfter({ ...mapNode(node, (e) => renameExpr(e, scope), (b) => renameBody(b, scope)), id })
    })
    return { nodes, result: renameExpr(body.result, scope) }
  }

  return mapPrograms(program, (def) => {
    const params: Scope = { names: new Map(def.params.map((p) => [p.name, p.name])), parent: undefined }
    const body = renameBody(def, params)
    return { params: def.params, nodes: body.nodes, result: body.result }
  })
}

// ---------------------------------------------------------------------------
// Statement shuffling
// ---------------------------------------------------------------------------

/** Shuffles the nodes of every scope (a block is declarative: order has no meaning). */
export const shuffleStatements = (program: Program, seed: number): Program => {
  const random = makeRandom(seed)
  const shuffle = <A>(xs: ReadonlyArray<A>): Array<A> => {
    const out = [...xs]
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1))
      const t = out[i]!
      out[i] = out[j]!
      out[j] = t
    }
    return out
  }
  const body = (b: Body): Body => ({
    nodes: shuffle(b.nodes.map((n) => mapNode(n, (e) => e, body))),
    result: b.result
  })
  return mapPrograms(program, (def) => ({ params: def.params, ...body(def) }))
}

// ---------------------------------------------------------------------------
// Constant variation
// ---------------------------------------------------------------------------

const lit = (value: Scalar): Expr => ({ kind: "lit", value })

/** An expression that folds to exactly `value` (or `value` itself). */
export const foldableTo = (value: Scalar, random: () => number): Expr => {
  const pick = Math.floor(random() * 3)
  if (value === null) {
    return pick === 0
      ? { kind: "index", target: { kind: "list", items: [lit(null)] }, index: lit(0) }
      : { kind: "get", target: { kind: "record", entries: [] }, field: "missing" }
  }
  if (typeof value === "boolean") return { kind: "unary", op: "not", arg: lit(!value) }
  if (typeof value === "string") {
    if (value.length > 200) return lit(value)
    const cut = Math.floor(random() * (value.length + 1))
    return { kind: "binary", op: "+", left: lit(value.slice(0, cut)), right: lit(value.slice(cut)) }
  }
  if (pick === 0 && Number.isInteger(value) && Math.abs(value) < 2 ** 52) {
    // e.g. 20 → 10 + 10 (exact for integers)
    const half = Math.trunc(value / 2)
    return { kind: "binary", op: "+", left: lit(half), right: lit(value - half) }
  }
  if (pick === 1) return { kind: "binary", op: "*", left: lit(value), right: lit(1) }
  return { kind: "unary", op: "-", arg: lit(value === 0 ? 0 : -value) }
}

/**
 * Replaces literals by expressions that fold to the same value (`20` by
 * `10 + 10`, `"ab"` by `"a" + "b"`, `true` by `not false`, …), with the
 * given probability each, in every expression of the program.
 */
export const varyConstants = (program: Program, seed: number, probability = 0.5): Program => {
  const random = makeRandom(seed)
  const vary = (e: Expr): Expr =>
    mapExpr(e, (x) => (x.kind === "lit" && random() < probability ? foldableTo(x.value, random) : x))
  const body = (b: Body): Body => ({ nodes: b.nodes.map((n) => mapNode(n, vary, body)), result: vary(b.result) })
  return mapPrograms(program, (def) => ({
    params: def.params.map((p) => (p.default === undefined ? p : { ...p, default: vary(p.default) })),
    ...body(def)
  }))
}

// ---------------------------------------------------------------------------
// A real change
// ---------------------------------------------------------------------------

/** Number of tool nodes of the program, in every scope. */
const toolNodeCount = (program: Program): number => {
  let n = 0
  const body = (b: Body): void => {
    for (const node of b.nodes) {
      if (node.kind === "tool") n++
      mapNode(node, (e) => e, (x) => (body(x), x))
    }
  }
  for (const def of Object.values(program.programs)) body(def)
  return n
}

/** True when the program has at least one tool node. */
export const hasToolNode = (program: Program): boolean => toolNodeCount(program) > 0

/**
 * Changes one argument of one tool node (chosen by the seed): its value
 * is wrapped in a one-item list, or, for a tool without arguments, an
 * argument `changed: 1` is added. Returns the program unchanged when it
 * has no tool node.
 */
export const changeToolArgument = (program: Program, seed: number): Program => {
  const total = toolNodeCount(program)
  if (total === 0) return program
  const target = Math.floor(makeRandom(seed)() * total)
  let seen = 0
  const body = (b: Body): Body => ({
    nodes: b.nodes.map((node) => {
      if (node.kind === "tool" && seen++ === target) {
        const names = Object.keys(node.args).sort()
        const name = names[Math.floor(makeRandom(seed + 1)() * names.length)]
        const args = name === undefined
          ? { ...node.args, changed: lit(1) }
          : { ...node.args, [name]: { kind: "list", items: [node.args[name]!] } as Expr }
        return { ...node, args }
      }
      return mapNode(node, (e) => e, body)
    }),
    result: b.result
  })
  return mapPrograms(program, (def) => ({ params: def.params, ...body(def) }))
}
