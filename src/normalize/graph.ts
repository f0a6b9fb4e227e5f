/**
 * The dependency graph of every scope, built in one walk of the document.
 * A ref anywhere inside node `m` (in its expressions, its policy's
 * idempotency key, or a body nested in it) to a node `u` of an enclosing
 * scope is a data edge from `m`'s ancestor in `u`'s scope to `u`. With
 * lexical resolution that ancestor is always a sibling of `u`.
 */
import type { IBody, IDocument, IExpr, INode } from "./internal.js"
import { afterUids, childBodies, nodeExprs } from "./internal.js"

/** Marks the result expression of a scope in the walk's ancestor chain. */
const RESULT = -1

/** The data edges of a document. */
export interface Graph {
  /** Sibling uids each node uses as data (anywhere inside it), indexed by uid; may repeat. */
  readonly deps: ReadonlyArray<ReadonlyArray<number> | undefined>
  /** Uids of the nodes each scope's result expression uses. */
  readonly resultUses: ReadonlyMap<IBody, ReadonlyArray<number>>
}

/** Calls `visit` with the uid of every node ref in `expr`. */
const forEachNodeRef = (expr: IExpr, visit: (uid: number) => void): void => {
  switch (expr.kind) {
    case "nref":
      return visit(expr.uid)
    case "lit":
    case "bref":
    case "pref":
    case "fref":
      return
    case "get":
      return forEachNodeRef(expr.target, visit)
    case "index":
      forEachNodeRef(expr.target, visit)
      return forEachNodeRef(expr.index, visit)
    case "slice":
      forEachNodeRef(expr.target, visit)
      if (expr.start !== null) forEachNodeRef(expr.start, visit)
      if (expr.end !== null) forEachNodeRef(expr.end, visit)
      return
    case "unary":
      return forEachNodeRef(expr.arg, visit)
    case "binary":
      forEachNodeRef(expr.left, visit)
      return forEachNodeRef(expr.right, visit)
    case "list":
      for (const item of expr.items) forEachNodeRef(item, visit)
      return
    case "record":
      for (const e of expr.entries) forEachNodeRef(e.value, visit)
      return
    case "call":
      for (const arg of expr.args) forEachNodeRef(arg, visit)
      return
  }
}

/** Builds the data edges of every scope of the document. */
export const buildGraph = (doc: IDocument): Graph => {
  const deps: Array<Array<number> | undefined> = []
  const resultUses = new Map<IBody, Array<number>>()
  const chain: Array<number> = []
  let uses: Array<number> = []
  let depth = 0

  const visit = (uid: number): void => {
    const d = doc.depth[uid]
    // A ref into a deeper scope cannot come from lexical resolution; ignore it.
    if (d === undefined || d > depth) return
    const user = chain[d]!
    if (user === RESULT) {
      uses.push(uid)
      return
    }
    const list = deps[user]
    if (list === undefined) deps[user] = [uid]
    else list.push(uid)
  }

  const walkBody = (body: IBody, at: number): void => {
    for (const node of body.nodes) {
      chain[at] = node.uid
      depth = at
      for (const e of nodeExprs(node)) forEachNodeRef(e, visit)
      for (const child of childBodies(node)) walkBody(child, at + 1)
    }
    chain[at] = RESULT
    depth = at
    uses = []
    forEachNodeRef(body.result, visit)
    resultUses.set(body, uses)
  }

  for (const program of doc.programs) walkBody(program.body, 0)
  return { deps, resultUses }
}

/** The edges of one scope: how many siblings each node waits for, and who waits for each node. */
export interface ScopeEdges {
  readonly indegree: Int32Array
  /** Positions of the nodes that wait for the node at each position. */
  readonly dependents: ReadonlyArray<ReadonlyArray<number>>
}

/** Collects the data and `after` edges between the nodes of one scope (each edge once). */
export const scopeEdges = (nodes: ReadonlyArray<INode>, graph: Graph): ScopeEdges => {
  const n = nodes.length
  const position = new Map<number, number>()
  nodes.forEach((node, i) => position.set(node.uid, i))
  const indegree = new Int32Array(n)
  const dependents: Array<Array<number>> = Array.from({ length: n }, () => [])
  const seen = new Int32Array(n).fill(-1)
  for (let i = 0; i < n; i++) {
    const node = nodes[i]!
    let count = 0
    const mark = (uid: number): void => {
      const j = position.get(uid)
      if (j === undefined || seen[j] === i) return
      seen[j] = i
      count++
      dependents[j]!.push(i)
    }
    for (const uid of graph.deps[node.uid] ?? []) mark(uid)
    for (const uid of afterUids(node)) mark(uid)
    indegree[i] = count
  }
  return { indegree, dependents }
}

/**
 * Orders the nodes of one scope so that every node comes after the
 * siblings it uses (data and `after` edges): Kahn's algorithm, iterative,
 * first-in first-out from input order. Nodes on a cycle (an invalid
 * program) come last, in input order.
 */
export const topoOrder = (nodes: ReadonlyArray<INode>, graph: Graph): Array<INode> => {
  const n = nodes.length
  if (n === 0) return []
  const { indegree, dependents } = scopeEdges(nodes, graph)
  const order: Array<INode> = []
  const queue: Array<number> = []
  for (let i = 0; i < n; i++) if (indegree[i] === 0) queue.push(i)
  for (let head = 0; head < queue.length; head++) {
    const i = queue[head]!
    order.push(nodes[i]!)
    for (const j of dependents[i]!) if ((indegree[j] = indegree[j]! - 1) === 0) queue.push(j)
  }
  if (order.length < n) { for (let i = 0; i < n; i++) if (indegree[i]! > 0) order.push(nodes[i]!) }
  return order
}
