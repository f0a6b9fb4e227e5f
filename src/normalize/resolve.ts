/**
 * From IR to the normalizer's working form: hands out unique node and
 * binder ids, resolves every ref lexically (a node of the current or an
 * enclosing scope, a binder of an enclosing map, a param; inner names
 * shadow outer ones; the first of duplicate names wins), records the
 * user's names for the `labels` table, and applies N1 (defaults).
 */
import { compareCodeUnits } from "../ir/canonical.js"
import type { Args, Body, Expr, Node, Policy, Program, ProgramDef } from "../ir/schema.js"
import { emptyBody, fillCallDefaults, withRetryDefaults } from "./defaults.js"
import type { IAfter, IArgs, IBody, IDocument, IExpr, INode, IParam, IPolicy, IProgramDef } from "./internal.js"
import { isEmptyPolicy } from "./internal.js"

/** Synthetic ids that lowering gives unnamed steps; they get no label. */
const SYNTHETIC_ID = /^\$[0-9]+$/

/** Ids and binders that normalization gives out. */
const CANONICAL_ID = /^[nv][0-9]+$/

interface Frame {
  readonly names: ReadonlyMap<string, IExpr>
  readonly parent: Frame | undefined
}

const lookup = (frame: Frame | undefined, name: string): IExpr | undefined => {
  for (let f = frame; f !== undefined; f = f.parent) {
    const hit = f.names.get(name)
    if (hit !== undefined) return hit
  }
  return undefined
}

const hasOwn = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key)

/** Resolves an expression in `frame`; `-0` literals become `0`. */
const resolveExpr = (expr: Expr, frame: Frame | undefined): IExpr => {
  switch (expr.kind) {
    case "lit":
      return expr.value === 0 ? { kind: "lit", value: 0 } : expr
    case "ref":
      return lookup(frame, expr.name) ?? { kind: "fref", name: expr.name }
    case "get":
      return { kind: "get", target: resolveExpr(expr.target, frame), field: expr.field }
    case "index":
      return { kind: "index", target: resolveExpr(expr.target, frame), index: resolveExpr(expr.index, frame) }
    case "slice":
      return {
        kind: "slice",
        target: resolveExpr(expr.target, frame),
        start: expr.start === null ? null : resolveExpr(expr.start, frame),
        end: expr.end === null ? null : resolveExpr(expr.end, frame)
      }
    case "unary":
      return { kind: "unary", op: expr.op, arg: resolveExpr(expr.arg, frame) }
    case "binary":
      return { kind: "binary", op: expr.op, left: resolveExpr(expr.left, frame), right: resolveExpr(expr.right, frame) }
    case "list":
      return { kind: "list", items: expr.items.map((item) => resolveExpr(item, frame)) }
    case "record":
      return { kind: "record", entries: expr.entries.map((e) => ({ key: e.key, value: resolveExpr(e.value, frame) })) }
    case "call":
      return { kind: "call", fn: expr.fn, args: expr.args.map((arg) => resolveExpr(arg, frame)) }
  }
}

class Resolver {
  readonly depth: Array<number> = []
  readonly binderLevel: Array<number> = []
  readonly binderLabel: Array<string | undefined> = []
  nextUid = 0
  readonly params = new Map<string, ReadonlyArray<IParam>>()

  constructor(private readonly labels: { readonly [id: string]: string } | undefined) {}

  /**
   * The user's name of a node id or binder. A normalized input (one with
   * `labels`) names its canonical ids there; a canonical-looking id
   * without a label was a synthetic step. Other ids are the user's names.
   */
  labelOf(id: string): string | undefined {
    if (this.labels !== undefined) {
      if (hasOwn(this.labels, id)) return this.labels[id]
      if (CANONICAL_ID.test(id)) return undefined
    }
    return SYNTHETIC_ID.test(id) ? undefined : id
  }

  args(args: Args, frame: Frame): IArgs {
    return Object.keys(args)
      .sort(compareCodeUnits)
      .map((name) => ({ name, value: resolveExpr(args[name]!, frame) }))
  }

  policy(policy: Policy | undefined, frame: Frame, siblings: ReadonlyMap<string, IExpr>): IPolicy | undefined {
    if (policy === undefined) return undefined
    // `after` is a set: duplicates (by name, hence by node) are dropped.
    const after: Array<IAfter> = [...new Set(policy.after ?? [])].map((name) => {
      const hit = siblings.get(name)
      return hit !== undefined && hit.kind === "nref" ? { kind: "node", uid: hit.uid } : { kind: "free", name }
    })
    const out: IPolicy = {
      timeout: policy.timeout,
      retry: policy.retry === undefined ? undefined : withRetryDefaults(policy.retry),
      cache: policy.cache,
      idempotencyKey: policy.idempotencyKey === undefined ? undefined : resolveExpr(policy.idempotencyKey, frame),
      after,
      label: policy.label,
      budget: policy.budget,
      hedge: policy.hedge
    }
    return isEmptyPolicy(out) ? undefined : out
  }

  body(body: Body, parent: Frame, depth: number, level: number): IBody {
    const names = new Map<string, IExpr>()
    const uids = body.nodes.map((node) => {
      const uid = this.nextUid++
      this.depth[uid] = depth
      if (!names.has(node.id)) names.set(node.id, { kind: "nref", uid })
      return uid
    })
    const frame: Frame = { names, parent }
    return {
      nodes: body.nodes.map((node, i) => this.node(node, uids[i]!, frame, names, depth, level)),
      result: resolveExpr(body.result, frame)
    }
  }

  node(
    node: Node,
    uid: number,
    frame: Frame,
    siblings: ReadonlyMap<string, IExpr>,
    depth: number,
    level: number
  ): INode {
    const label = this.labelOf(node.id)
    const policy = this.policy(node.policy, frame, siblings)
    switch (node.kind) {
      case "tool":
        return { uid, label, policy, kind: "tool", tool: node.tool, args: this.args(node.args, frame) }
      case "llm":
        return {
          uid,
          label,
          policy,
          kind: "llm",
          signature: node.signature,
          args: this.args(node.args, frame),
          model: node.model,
          hedgeModel: node.hedgeModel
        }
      case "call":
        return {
          uid,
          label,
          policy,
          kind: "call",
          program: node.program,
          args: fillCallDefaults(this.args(node.args, frame), this.params.get(node.program))
        }
      case "map": {
        const bid = this.binderLevel.length
        this.binderLevel[bid] = level + 1
        this.binderLabel[bid] = this.labelOf(node.as)
        const inner: Frame = { names: new Map([[node.as, { kind: "bref", bid }]]), parent: frame }
        return {
          uid,
          label,
          policy,
          kind: "map",
          over: resolveExpr(node.over, frame),
          bid,
          body: this.body(node.body, inner, depth + 1, level + 1),
          concurrency: node.concurrency,
          take: node.take,
          fold: node.fold,
          init: node.init
        }
      }
      case "branch":
        return {
          uid,
          label,
          policy,
          kind: "branch",
          cond: resolveExpr(node.cond, frame),
          then: this.body(node.then, frame, depth + 1, level),
          else: node.else === null ? emptyBody() : this.body(node.else, frame, depth + 1, level)
        }
      case "choose":
        return {
          uid,
          label,
          policy,
          kind: "choose",
          key: node.key,
          options: node.options.map((o) => ({ label: o.label, body: this.body(o.body, frame, depth + 1, level) }))
        }
      case "race":
        return {
          uid,
          label,
          policy,
          kind: "race",
          options: node.options.map((o) => ({ label: o.label, body: this.body(o.body, frame, depth + 1, level) }))
        }
      case "expr":
        return { uid, label, policy, kind: "expr", expr: resolveExpr(node.expr, frame) }
      case "wait":
        return {
          uid,
          label,
          policy,
          kind: "wait",
          signal: node.signal,
          payload: node.payload === undefined ? undefined : resolveExpr(node.payload, frame),
          answer: node.answer,
          for: node.for
        }
    }
  }

  paramsOf(def: ProgramDef): { readonly frame: Frame; readonly params: Array<IParam> } {
    const names = new Map<string, IExpr>()
    for (const p of def.params) if (!names.has(p.name)) names.set(p.name, { kind: "pref", name: p.name })
    const frame: Frame = { names, parent: undefined }
    const params = def.params.map(
      (p): IParam => ({
        name: p.name,
        type: p.type,
        default: p.default === undefined ? undefined : resolveExpr(p.default, frame)
      })
    )
    return { frame, params }
  }
}

/** Resolves a whole IR document into the working form, applying N1. */
export const resolveDocument = (program: Program): IDocument => {
  const resolver = new Resolver(program.labels)
  const names = Object.keys(program.programs).sort(compareCodeUnits)
  const frames = new Map<string, Frame>()
  for (const name of names) {
    const { frame, params } = resolver.paramsOf(program.programs[name]!)
    frames.set(name, frame)
    resolver.params.set(name, params)
  }
  const programs = names.map(
    (name): IProgramDef => ({
      name,
      params: [...resolver.params.get(name)!],
      body: resolver.body(program.programs[name]!, frames.get(name)!, 0, 0)
    })
  )
  const signatures = Object.fromEntries(
    Object.keys(program.signatures)
      .sort(compareCodeUnits)
      .map((name) => [name, program.signatures[name]!] as const)
  )
  return {
    entry: program.entry,
    programs,
    signatures,
    depth: resolver.depth,
    binderLevel: resolver.binderLevel,
    binderLabel: resolver.binderLabel,
    nodeCount: resolver.nextUid
  }
}
