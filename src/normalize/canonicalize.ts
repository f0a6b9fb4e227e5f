/**
 * N2 and N3: canonical order and names, and the way back to IR.
 *
 * Each scope is ordered by Kahn's algorithm over its data and `after`
 * edges, always taking the ready node with the smallest key: its refined
 * structural colour (refine.ts), then the canonical numbers of the nodes
 * it refers to (with the paths of those refs), then its input position. Node ids become
 * `n0, n1, …` and binders `v0, v1, …` in one global pre-order: programs by
 * name, each scope in canonical order, a node's bodies right after it.
 * A number whose name is a param of the current program is skipped, so a
 * canonical id never shadows a param. Params and program names are kept.
 */
import { compareCodeUnits } from "../ir/canonical.js"
import type { Body, Expr, Node, Param, Policy, Program, ProgramDef } from "../ir/schema.js"
import { IR_VERSION } from "../ir/schema.js"
import { type Graph, scopeEdges } from "./graph.js"
import type { IArgs, IBody, IDocument, IExpr, INode, IPolicy } from "./internal.js"
import { childBodies, isEmptyPolicy } from "./internal.js"
import { ScopeColors } from "./refine.js"
import type { StructuralHashes } from "./structuralHash.js"

interface Entry {
  readonly index: number
  /** The first 48 bits of `color`, to compare as a number first. */
  readonly rank: number
  readonly color: string
}

/** Makes a heap entry for the node at `index` with colour `color`. */
const entry = (index: number, color: string): Entry => ({ index, rank: parseInt(color.slice(0, 12), 16), color })

/**
 * A binary min-heap of ready nodes, by colour, then tie key (computed
 * only when two colours are equal), then input position.
 */
class ReadyHeap {
  private readonly items: Array<Entry> = []

  constructor(private readonly tieKey: (index: number) => string) {}

  private before(a: Entry, b: Entry): boolean {
    if (a.rank !== b.rank) return a.rank < b.rank
    if (a.color !== b.color) return a.color < b.color
    const ka = this.tieKey(a.index)
    const kb = this.tieKey(b.index)
    return ka !== kb ? ka < kb : a.index < b.index
  }

  get size(): number {
    return this.items.length
  }

  push(entry: Entry): void {
    const items = this.items
    let i = items.length
    items.push(entry)
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.before(entry, items[parent]!)) break
      items[i] = items[parent]!
      i = parent
    }
    items[i] = entry
  }

  pop(): Entry {
    const items = this.items
    const top = items[0]!
    const last = items.pop()!
    if (items.length > 0) {
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        if (l >= items.length) break
        const r = l + 1
        const child = r < items.length && this.before(items[r]!, items[l]!) ? r : l
        if (!this.before(items[child]!, last)) break
        items[i] = items[child]!
        i = child
      }
      items[i] = last
    }
    return top
  }
}

/** Canonical names given out by `orderDocument`. */
export interface Naming {
  readonly node: ReadonlyArray<string | undefined>
  readonly binder: ReadonlyArray<string | undefined>
  /** Canonical id or binder → the user's name, sorted by key. */
  readonly labels: ReadonlyArray<readonly [string, string]>
}

/** Puts every scope in canonical order (in place) and names nodes and binders. */
export const orderDocument = (doc: IDocument, graph: Graph, hashes: StructuralHashes): Naming => {
  const number: Array<number | undefined> = []
  const node: Array<string | undefined> = []
  const binder: Array<string | undefined> = []
  const labels: Array<readonly [string, string]> = []
  let nextNode = 0
  let nextBinder = 0
  let reserved: ReadonlySet<string> = new Set()

  const name = (n: INode): void => {
    while (reserved.has("n" + nextNode)) nextNode++
    number[n.uid] = nextNode
    const id = "n" + nextNode++
    node[n.uid] = id
    if (n.label !== undefined) labels.push([id, n.label])
    if (n.kind === "map") {
      while (reserved.has("v" + nextBinder)) nextBinder++
      const v = "v" + nextBinder++
      binder[n.bid] = v
      const label = doc.binderLabel[n.bid]
      if (label !== undefined) labels.push([v, label])
    }
  }

  const numberKey = (uid: number): string => {
    const k = number[uid]
    return k === undefined ? "?" : String(k).padStart(10, "0")
  }

  const tieKey = (uid: number): string =>
    (hashes.refs[uid] ?? [])
      .map((r) => r.path + "=" + numberKey(r.target))
      .sort()
      .join(";")

  const orderScope = (body: IBody): void => {
    const nodes = body.nodes
    const n = nodes.length
    if (n === 0) return
    const { indegree, dependents } = scopeEdges(nodes, graph)
    const colors = new ScopeColors(nodes, hashes, (uid) => node[uid])
    // 0: waits for siblings, 1: ready (in the heap), 2: placed.
    const state = new Uint8Array(n)
    const keys: Array<string | undefined> = new Array(n)
    const heap = new ReadyHeap((i) => (keys[i] ??= tieKey(nodes[i]!.uid)))
    const ready = (i: number): void => {
      state[i] = 1
      heap.push(entry(i, colors.color(i)))
    }
    for (let i = 0; i < n; i++) if (indegree[i] === 0) ready(i)
    const out: Array<INode> = []
    const place = (x: INode): void => {
      name(x)
      for (const child of childBodies(x)) orderScope(child)
      out.push(x)
    }
    while (heap.size > 0) {
      const top = heap.pop()
      const index = top.index
      // Skip entries made stale by a recolouring (a fresh one was pushed).
      if (state[index] === 2 || top.color !== colors.color(index)) continue
      if (colors.ambiguous(index)) {
        for (const j of colors.individualize(index, String(out.length))) {
          if (j !== index && state[j] === 1) heap.push(entry(j, colors.color(j)))
        }
      }
      state[index] = 2
      place(nodes[index]!)
      for (const j of dependents[index]!) if ((indegree[j] = indegree[j]! - 1) === 0) ready(j)
    }
    // Nodes on a cycle (an invalid program): input order.
    if (out.length < n) { for (let i = 0; i < n; i++) if (indegree[i]! > 0) place(nodes[i]!) }
    body.nodes = out
  }

  for (const program of doc.programs) {
    reserved = new Set(program.params.map((p) => p.name))
    orderScope(program.body)
  }
  labels.sort((a, b) => compareCodeUnits(a[0], b[0]))
  return { node, binder, labels }
}

/** Turns the ordered working form back into IR with canonical names (N3 key order). */
export const emitDocument = (doc: IDocument, naming: Naming): Program => {
  const expr = (e: IExpr): Expr => {
    switch (e.kind) {
      case "lit":
        return e
      case "nref":
        return { kind: "ref", name: naming.node[e.uid] ?? "?" }
      case "bref":
        return { kind: "ref", name: naming.binder[e.bid] ?? "?" }
      case "pref":
      case "fref":
        return { kind: "ref", name: e.name }
      case "get":
        return { kind: "get", target: expr(e.target), field: e.field }
      case "index":
        return { kind: "index", target: expr(e.target), index: expr(e.index) }
      case "slice":
        return {
          kind: "slice",
          target: expr(e.target),
          start: e.start === null ? null : expr(e.start),
          end: e.end === null ? null : expr(e.end)
        }
      case "unary":
        return { kind: "unary", op: e.op, arg: expr(e.arg) }
      case "binary":
        return { kind: "binary", op: e.op, left: expr(e.left), right: expr(e.right) }
      case "list":
        return { kind: "list", items: e.items.map(expr) }
      case "record":
        return { kind: "record", entries: e.entries.map((entry) => ({ key: entry.key, value: expr(entry.value) })) }
      case "call":
        return { kind: "call", fn: e.fn, args: e.args.map(expr) }
    }
  }

  const args = (a: IArgs): { readonly [name: string]: Expr } =>
    Object.fromEntries(a.map((x) => [x.name, expr(x.value)]))

  const policy = (p: IPolicy | undefined): { readonly policy?: Policy } => {
    if (p === undefined || isEmptyPolicy(p)) return {}
    const after = [
      ...new Set(p.after.map((a) => (a.kind === "node" ? (naming.node[a.uid] ?? "?") : a.name)))
    ].sort(compareCodeUnits)
    const out: Policy = {
      ...(p.timeout !== undefined ? { timeout: p.timeout } : {}),
      ...(p.retry !== undefined ? { retry: p.retry } : {}),
      ...(p.cache !== undefined ? { cache: p.cache } : {}),
      ...(p.idempotencyKey !== undefined ? { idempotencyKey: expr(p.idempotencyKey) } : {}),
      ...(after.length > 0 ? { after } : {}),
      ...(p.label !== undefined ? { label: p.label } : {}),
      ...(p.budget !== undefined ? { budget: p.budget } : {}),
      ...(p.hedge !== undefined ? { hedge: p.hedge } : {})
    }
    return { policy: out }
  }

  const body = (b: IBody): Body => ({ nodes: b.nodes.map(node), result: expr(b.result) })

  const node = (n: INode): Node => {
    const id = naming.node[n.uid] ?? "?"
    switch (n.kind) {
      case "tool":
        return { id, kind: "tool", tool: n.tool, args: args(n.args), ...policy(n.policy) }
      case "llm":
        return {
          id,
          kind: "llm",
          signature: n.signature,
          args: args(n.args),
          ...(n.model !== undefined ? { model: n.model } : {}),
          ...(n.hedgeModel !== undefined ? { hedgeModel: n.hedgeModel } : {}),
          ...policy(n.policy)
        }
      case "call":
        return { id, kind: "call", program: n.program, args: args(n.args), ...policy(n.policy) }
      case "map":
        return {
          id,
          kind: "map",
          over: expr(n.over),
          as: naming.binder[n.bid] ?? "?",
          body: body(n.body),
          ...(n.concurrency !== undefined ? { concurrency: n.concurrency } : {}),
          ...(n.take !== undefined ? { take: n.take } : {}),
          ...(n.fold !== undefined ? { fold: n.fold } : {}),
          ...(n.init !== undefined ? { init: n.init } : {}),
          ...policy(n.policy)
        }
      case "branch":
        return { id, kind: "branch", cond: expr(n.cond), then: body(n.then), else: body(n.else), ...policy(n.policy) }
      case "choose":
        return {
          id,
          kind: "choose",
          key: n.key,
          options: n.options.map((o) => ({ label: o.label, body: body(o.body) })),
          ...policy(n.policy)
        }
      case "race":
        return {
          id,
          kind: "race",
          options: n.options.map((o) => ({ label: o.label, body: body(o.body) })),
          ...policy(n.policy)
        }
      case "expr":
        return { id, kind: "expr", expr: expr(n.expr), ...policy(n.policy) }
      case "wait":
        return {
          id,
          kind: "wait",
          ...(n.signal !== undefined ? { signal: n.signal } : {}),
          ...(n.payload !== undefined ? { payload: expr(n.payload) } : {}),
          ...(n.answer !== undefined ? { answer: n.answer } : {}),
          ...(n.for !== undefined ? { for: n.for } : {}),
          ...policy(n.policy)
        }
    }
  }

  const programs = Object.fromEntries(
    doc.programs.map((p): readonly [string, ProgramDef] => [
      p.name,
      {
        params: p.params.map(
          (param): Param => ({
            name: param.name,
            type: param.type,
            ...(param.default !== undefined ? { default: expr(param.default) } : {})
          })
        ),
        ...body(p.body)
      }
    ])
  )

  return {
    ir: IR_VERSION,
    entry: doc.entry,
    programs,
    signatures: doc.signatures,
    labels: Object.fromEntries(naming.labels)
  }
}
