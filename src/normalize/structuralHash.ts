/**
 * Structural hashes for N2 (canonical ordering). Names never enter them.
 *
 * - `down[u]` (Merkle): node `u`'s kind and fields, with a ref to a node
 *   replaced by that node's `down` hash, a ref to a map binder by its de
 *   Bruijn index (how many maps out it was bound), a ref to a param by the
 *   param's name, and each nested body by the hash of the multiset of its
 *   nodes' `down` hashes plus its result.
 * - `up[u]`: `down[u]` plus where `u` is used in its scope: for every use,
 *   the user's `up` hash (or "the result") and the name-free path of the
 *   ref inside the user. Two nodes with equal `down` (two identical tool
 *   calls) differ in `up` as soon as they are used differently.
 *
 * Also records, for every node, the refs to nodes of its own or enclosing
 * scopes found anywhere inside it, with their paths: the canonical ordering
 * breaks remaining ties with the canonical numbers of those targets.
 */
import { canonicalJson } from "../ir/canonical.js"
import { fastHash } from "../ir/hash.js"
import { type Graph, topoOrder } from "./graph.js"
import type { IBody, IDocument, IExpr, INode, IPolicy } from "./internal.js"
import { childBodies } from "./internal.js"

/** Marks the result expression of a scope in the ancestor chain. */
const RESULT = -1

/** A ref found inside a node: the path to it (name-free) and the node it names. */
export interface InnerRef {
  readonly path: string
  readonly target: number
}

/** Structural hashes of every node, indexed by uid. */
export interface StructuralHashes {
  readonly down: ReadonlyArray<string | undefined>
  readonly up: ReadonlyArray<string | undefined>
  /** Refs inside each node to nodes of its own or an enclosing scope, indexed by uid. */
  readonly refs: ReadonlyArray<ReadonlyArray<InnerRef> | undefined>
}

const q = (s: string): string => JSON.stringify(s)

/** A name-free description of `expr` at map nesting `level`. */
const describeExpr = (expr: IExpr, level: number, doc: IDocument, down: ReadonlyArray<string | undefined>): string => {
  const go = (e: IExpr): string => describeExpr(e, level, doc, down)
  switch (expr.kind) {
    case "lit":
      return "L" + (typeof expr.value === "string" ? q(expr.value) : String(expr.value))
    case "nref":
      return "N" + (down[expr.uid] ?? "?")
    case "bref":
      return "B" + (level - (doc.binderLevel[expr.bid] ?? 0))
    case "pref":
      return "P" + q(expr.name)
    case "fref":
      return "F" + q(expr.name)
    case "get":
      return "G(" + go(expr.target) + "," + q(expr.field) + ")"
    case "index":
      return "I(" + go(expr.target) + "," + go(expr.index) + ")"
    case "slice":
      return (
        "S(" + go(expr.target) + "," + (expr.start === null ? "_" : go(expr.start)) + "," +
        (expr.end === null ? "_" : go(expr.end)) + ")"
      )
    case "unary":
      return "U" + expr.op + "(" + go(expr.arg) + ")"
    case "binary":
      return "O" + expr.op + "(" + go(expr.left) + "," + go(expr.right) + ")"
    case "list": {
      let s = "["
      for (let i = 0; i < expr.items.length; i++) s += (i > 0 ? "," : "") + go(expr.items[i]!)
      return s + "]"
    }
    case "record": {
      let s = "{"
      for (let i = 0; i < expr.entries.length; i++) {
        const e = expr.entries[i]!
        s += (i > 0 ? "," : "") + q(e.key) + ":" + go(e.value)
      }
      return s + "}"
    }
    case "call": {
      let s = "C" + expr.fn + "("
      for (let i = 0; i < expr.args.length; i++) s += (i > 0 ? "," : "") + go(expr.args[i]!)
      return s + ")"
    }
  }
}

const describePolicy = (
  policy: IPolicy,
  level: number,
  doc: IDocument,
  down: ReadonlyArray<string | undefined>
): string => {
  let s = "|P" +
    canonicalJson({
      timeout: policy.timeout,
      retry: policy.retry,
      cache: policy.cache,
      label: policy.label,
      budget: policy.budget
    })
  if (policy.hedge !== undefined) s += "|H" + q(policy.hedge)
  if (policy.idempotencyKey !== undefined) s += "|K" + describeExpr(policy.idempotencyKey, level, doc, down)
  const after = policy.after.map((a) => (a.kind === "node" ? "N" + (down[a.uid] ?? "?") : "F" + q(a.name))).sort()
  return s + "|A[" + after.join(",") + "]"
}

/** Computes `down`, `up` and the inner refs of every node of the document. */
export const structuralHashes = (doc: IDocument, graph: Graph): StructuralHashes => {
  const down: Array<string | undefined> = []
  const up: Array<string | undefined> = []
  const orders = new Map<IBody, ReadonlyArray<INode>>()

  // Down hashes: each scope in dependency order, bodies before their owner.
  const downBody = (body: IBody, level: number): string => {
    const order = topoOrder(body.nodes, graph)
    orders.set(body, order)
    for (const node of order) {
      const inner = (e: IExpr): string => describeExpr(e, level, doc, down)
      let text: string = node.kind
      switch (node.kind) {
        case "tool":
        case "llm":
        case "call":
          text += q(node.kind === "tool" ? node.tool : node.kind === "llm" ? node.signature : node.program)
          if (node.kind === "llm") text += node.model === undefined ? "_" : q(node.model)
          if (node.kind === "llm" && node.hedgeModel !== undefined) text += "|h=" + q(node.hedgeModel)
          for (const arg of node.args) text += "|" + q(arg.name) + "=" + inner(arg.value)
          break
        case "map":
          text += "|over=" + inner(node.over) + "|c=" + String(node.concurrency ?? "_") +
            (node.take === undefined ? "" : "|t=" + String(node.take)) +
            (node.fold === undefined ? "" : "|f=" + q(node.fold) + "|i=" + canonicalJson(node.init ?? null)) +
            "|body=" +
            downBody(node.body, level + 1)
          break
        case "branch":
          text += "|cond=" + inner(node.cond) + "|then=" + downBody(node.then, level) + "|else=" +
            downBody(node.else, level)
          break
        case "choose":
          text += q(node.key)
          for (const option of node.options) text += "|" + q(option.label) + "=" + downBody(option.body, level)
          break
        case "race":
          for (const option of node.options) text += "|" + q(option.label) + "=" + downBody(option.body, level)
          break
        case "expr":
          text += "|" + inner(node.expr)
          break
        case "wait":
          // The signal's name is part of the identity (two waits for different signals differ).
          text += "|s=" + (node.signal === undefined ? "_" : q(node.signal)) + "|for=" +
            (node.for === undefined ? "_" : q(node.for)) + "|t=" +
            (node.answer === undefined ? "_" : q(JSON.stringify(node.answer))) +
            "|p=" + (node.payload === undefined ? "_" : inner(node.payload))
          break
      }
      if (node.policy !== undefined) text += describePolicy(node.policy, level, doc, down)
      down[node.uid] = fastHash(text)
    }
    const nodes = order.map((node) => down[node.uid]!).sort()
    return fastHash("body[" + nodes.join(",") + "]=" + describeExpr(body.result, level, doc, down))
  }
  for (const program of doc.programs) downBody(program.body, 0)

  // Uses and inner refs, with name-free paths, in one walk.
  const uses: Array<Array<{ readonly user: number; readonly path: string }> | undefined> = []
  const refs: Array<Array<InnerRef> | undefined> = []
  const chain: Array<number> = []
  const start: Array<number> = []
  const segments: Array<string> = []
  let depth = 0

  const addUse = (target: number, user: number, path: string): void => {
    const list = uses[target]
    if (list === undefined) uses[target] = [{ user, path }]
    else list.push({ user, path })
  }
  const addRef = (user: number, path: string, target: number): void => {
    const list = refs[user]
    if (list === undefined) refs[user] = [{ path, target }]
    else list.push({ path, target })
  }
  const visitRef = (uid: number): void => {
    const d = doc.depth[uid]
    if (d === undefined || d > depth) return
    addUse(uid, chain[d]!, segments.slice(start[d]!).join("/"))
    for (let k = d; k <= depth; k++) {
      const user = chain[k]!
      if (user !== RESULT) addRef(user, segments.slice(start[k]!).join("/"), uid)
    }
  }
  const walkExpr = (expr: IExpr): void => {
    const sub = (segment: string, e: IExpr): void => {
      segments.push(segment)
      walkExpr(e)
      segments.pop()
    }
    switch (expr.kind) {
      case "nref":
        return visitRef(expr.uid)
      case "lit":
      case "bref":
      case "pref":
      case "fref":
        return
      case "get":
        return sub("g", expr.target)
      case "index":
        sub("t", expr.target)
        return sub("i", expr.index)
      case "slice":
        sub("t", expr.target)
        if (expr.start !== null) sub("s", expr.start)
        if (expr.end !== null) sub("e", expr.end)
        return
      case "unary":
        return sub("u", expr.arg)
      case "binary":
        sub("l", expr.left)
        return sub("r", expr.right)
      case "list":
        expr.items.forEach((item, i) => sub(String(i), item))
        return
      case "record":
        expr.entries.forEach((e, i) => sub(String(i), e.value))
        return
      case "call":
        expr.args.forEach((arg, i) => sub(String(i), arg))
        return
    }
  }
  const walkBody = (body: IBody, at: number): void => {
    for (const node of body.nodes) {
      segments.push(down[node.uid]!)
      chain[at] = node.uid
      start[at] = segments.length
      depth = at
      const sub = (segment: string, e: IExpr): void => {
        segments.push(segment)
        walkExpr(e)
        segments.pop()
      }
      const nested = (segment: string, b: IBody): void => {
        segments.push(segment)
        walkBody(b, at + 1)
        segments.pop()
        depth = at
      }
      switch (node.kind) {
        case "tool":
        case "llm":
        case "call":
          for (const arg of node.args) sub("a" + q(arg.name), arg.value)
          break
        case "map":
          sub("over", node.over)
          nested("body", node.body)
          break
        case "branch":
          sub("cond", node.cond)
          nested("then", node.then)
          nested("else", node.else)
          break
        case "choose":
        case "race":
          node.options.forEach((option, i) => nested("o" + i, option.body))
          break
        case "expr":
          sub("x", node.expr)
          break
        case "wait":
          if (node.payload !== undefined) sub("p", node.payload)
          break
      }
      if (node.policy?.idempotencyKey !== undefined) sub("key", node.policy.idempotencyKey)
      for (const a of node.policy?.after ?? []) {
        if (a.kind !== "node") continue
        addUse(a.uid, node.uid, "after")
        addRef(node.uid, "after", a.uid)
      }
      segments.pop()
    }
    chain[at] = RESULT
    segments.push("R")
    start[at] = segments.length
    depth = at
    walkExpr(body.result)
    segments.pop()
  }
  for (const program of doc.programs) walkBody(program.body, 0)

  // Up hashes: each scope in reverse dependency order (users before the nodes they use).
  const upBody = (body: IBody): void => {
    const order = orders.get(body) ?? []
    for (let i = order.length - 1; i >= 0; i--) {
      const node = order[i]!
      // Uses grouped by user: one user reading u twice differs from two users reading it once.
      const byUser = new Map<number, Array<string>>()
      for (const use of uses[node.uid] ?? []) {
        const paths = byUser.get(use.user)
        if (paths === undefined) byUser.set(use.user, [use.path])
        else paths.push(use.path)
      }
      const contexts: Array<string> = []
      for (const [user, paths] of byUser) {
        contexts.push((user === RESULT ? "R" : (up[user] ?? "?")) + ":" + paths.sort().join("+"))
      }
      up[node.uid] = fastHash(down[node.uid]! + "|" + contexts.sort().join(","))
    }
    for (const node of body.nodes) for (const child of childBodies(node)) upBody(child)
  }
  for (const program of doc.programs) upBody(program.body)

  return { down, up, refs }
}
