/**
 * N4 and N5 on the working form.
 *
 * One pass over every scope in dependency order folds every expression
 * (N4) and inlines `expr` nodes that are only a ref (an alias) or a
 * constant of weight at most `FOLD_LIMIT` into their uses; in `after`
 * lists such a node is replaced by the sibling it aliases, or dropped.
 * An `expr` node with a non-empty `after` is never inlined: its ordering
 * would be lost.
 *
 * Then unused pure nodes are dropped, transitively (N5). A node is pure
 * when it is an `expr` node, or a `map` / `branch` whose bodies hold only
 * pure nodes; `tool`, `llm`, `call` and `choose` (it records a choice)
 * are effects and are never dropped. A pure node is used when the scope's
 * result, or a kept sibling (through data or `after`), needs it.
 */
import { FOLD_LIMIT, type Folded, foldExpr } from "./fold.js"
import { buildGraph, type Graph, topoOrder } from "./graph.js"
import type { IAfter, IBody, IDocument, INode } from "./internal.js"
import { afterUids, childBodies, isEmptyPolicy } from "./internal.js"

/** Folds and inlines in every scope (N4, and the alias part of N5). */
const foldAndInline = (doc: IDocument): void => {
  const graph = buildGraph(doc)
  const subst: Array<Folded | undefined> = []
  const fold = (e: Parameters<typeof foldExpr>[0]) => foldExpr(e, subst).expr

  /** The sibling that replaces an inlined node in an `after` list, if any. */
  const redirect = (uid: number): number | undefined => {
    const target = subst[uid]!.expr
    return target.kind === "nref" && doc.depth[target.uid] === doc.depth[uid] ? target.uid : undefined
  }

  const scope = (body: IBody): void => {
    const inlined = new Set<number>()
    for (const node of topoOrder(body.nodes, graph)) {
      if (node.policy !== undefined) {
        const policy = node.policy
        if (policy.idempotencyKey !== undefined) policy.idempotencyKey = fold(policy.idempotencyKey)
        if (policy.after.length > 0) {
          const after: Array<IAfter> = []
          const seen = new Set<number | string>()
          const add = (a: IAfter): void => {
            const key = a.kind === "node" ? a.uid : a.name
            if (seen.has(key)) return
            seen.add(key)
            after.push(a)
          }
          for (const a of policy.after) {
            if (a.kind === "free" || subst[a.uid] === undefined) add(a)
            else {
              const target = redirect(a.uid)
              if (target !== undefined) add({ kind: "node", uid: target })
            }
          }
          policy.after = after
          if (isEmptyPolicy(policy)) node.policy = undefined
        }
      }
      switch (node.kind) {
        case "tool":
        case "llm":
        case "call":
          for (const arg of node.args) arg.value = fold(arg.value)
          break
        case "map":
          node.over = fold(node.over)
          break
        case "branch":
          node.cond = fold(node.cond)
          break
        case "choose":
        case "race":
          break
        case "wait":
          if (node.payload !== undefined) node.payload = fold(node.payload)
          break
        case "expr": {
          const folded = foldExpr(node.expr, subst)
          node.expr = folded.expr
          if ((node.policy?.after.length ?? 0) > 0) break
          const e = folded.expr
          const alias = (e.kind === "nref" && e.uid !== node.uid) || e.kind === "bref" || e.kind === "pref" ||
            e.kind === "fref"
          if (alias || (folded.weight >= 0 && folded.weight <= FOLD_LIMIT)) {
            subst[node.uid] = folded
            inlined.add(node.uid)
          }
          break
        }
      }
      for (const child of childBodies(node)) scope(child)
    }
    if (inlined.size > 0) body.nodes = body.nodes.filter((node) => !inlined.has(node.uid))
    body.result = fold(body.result)
  }

  for (const program of doc.programs) {
    program.params = program.params.map((p) => (p.default === undefined ? p : { ...p, default: fold(p.default) }))
    scope(program.body)
  }
}

/** Purity of each node by uid: 0 not yet known, 1 pure, 2 an effect. */
type PurityMemo = Array<number>

/** True when a node has no effect: an `expr` node, or a map/branch of pure bodies. */
const isPure = (node: INode, memo: PurityMemo): boolean => {
  const known = memo[node.uid]
  if (known !== undefined && known !== 0) return known === 1
  let pure: boolean
  switch (node.kind) {
    case "expr":
      pure = true
      break
    case "map":
    case "branch":
      // A map with `fold` runs a program per result (like a call): an effect.
      pure = (node.kind !== "map" || node.fold === undefined) &&
        childBodies(node).every((body) => body.nodes.every((inner) => isPure(inner, memo)))
      break
    case "tool":
    case "llm":
    case "call":
    case "choose":
    case "race":
    case "wait":
      pure = false
      break
  }
  memo[node.uid] = pure ? 1 : 2
  return pure
}

/** Drops the unused pure nodes of one scope and, recursively, of the kept nodes' bodies; true if any went. */
const pruneScope = (body: IBody, graph: Graph, memo: PurityMemo): boolean => {
  const byUid = new Map<number, INode>()
  for (const node of body.nodes) byUid.set(node.uid, node)
  const live = new Set<number>()
  const work: Array<number> = []
  const mark = (uid: number): void => {
    if (!live.has(uid) && byUid.has(uid)) {
      live.add(uid)
      work.push(uid)
    }
  }
  for (const uid of graph.resultUses.get(body) ?? []) mark(uid)
  for (const node of body.nodes) if (!isPure(node, memo)) mark(node.uid)
  while (work.length > 0) {
    const uid = work.pop()!
    for (const dep of graph.deps[uid] ?? []) mark(dep)
    for (const dep of afterUids(byUid.get(uid)!)) mark(dep)
  }
  let changed = false
  if (live.size < body.nodes.length) {
    body.nodes = body.nodes.filter((node) => live.has(node.uid))
    changed = true
  }
  for (const node of body.nodes) {
    for (const child of childBodies(node)) if (pruneScope(child, graph, memo)) changed = true
  }
  return changed
}

/** Drops unused pure nodes until none is left (N5). */
const pruneDocument = (doc: IDocument): void => {
  const memo: PurityMemo = []
  let changed = true
  while (changed) {
    const graph = buildGraph(doc)
    changed = false
    for (const program of doc.programs) if (pruneScope(program.body, graph, memo)) changed = true
  }
}

/** Applies N4 (folding, constant propagation) and N5 (no-op removal) in place. */
export const simplifyDocument = (doc: IDocument): void => {
  foldAndInline(doc)
  pruneDocument(doc)
}
