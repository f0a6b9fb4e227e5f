/**
 * The execution plan: a program turned, once, into immutable per-scope
 * tables the scheduler runs many times — for every scope, its nodes by
 * index, each node's count of same-scope dependencies, its dependents, and
 * the nested scopes of `map`, `branch` and `choose` nodes. Dependencies are
 * the refs a node makes to nodes of its own scope (directly or from inside
 * its nested bodies) plus its `after:` list. Building a plan checks what
 * would otherwise hang or crash a run: cycles, unknown callees, unknown
 * `after:` names.
 */
import { Either, Schema } from "effect"
import type { Body, Expr, Node, Param, Program } from "../ir/schema.js"
import { forEachSubExpr } from "../ir/visit.js"
import { hashProgram } from "../normalize/index.js"
import { patchesOf } from "./patches.js"

/** A program the runtime cannot run: it has a cycle or names a program or node that does not exist. */
export class PlanError extends Schema.TaggedError<PlanError>()("PlanError", {
  message: Schema.String,
  node: Schema.optionalWith(Schema.String, { exact: true })
}) {}

/** One node of a scope, with its place in the scope's graph. */
export interface PlanNode {
  /** Position in its scope's `nodes`. */
  readonly index: number
  /** The node's id in the IR (canonical `n3` after normalization). */
  readonly id: string
  /** The display name: `policy.label`, else the user's name from `labels`, else the id. */
  readonly label: string
  readonly node: Node
  /** Number of distinct nodes of the same scope this one waits for. */
  readonly deps: number
  /** Indexes of the nodes of the same scope that wait for this one. */
  readonly dependents: ReadonlyArray<number>
  /**
   * The longest chain of same-scope nodes that starts here (this node
   * counted): 1 for a node nothing waits for. Free call slots go to the
   * waiting call of highest rank (critical path first).
   */
  readonly rank: number
  /** Nested scopes: the body of a map, `[then, else]` of a branch, one per option of a choose. */
  readonly scopes: ReadonlyArray<ScopePlan>
  /** The `data` of this node's `NodeReady` events (shared, immutable). */
  readonly readyData: { readonly kind: Node["kind"]; readonly label?: string }
  /** The `data` of this node's `NodeStarted` events (shared, immutable). */
  readonly startedData: { readonly kind: Node["kind"] }
}

/** A scope (a program's top level or a body): its nodes and result. */
export interface ScopePlan {
  readonly nodes: ReadonlyArray<PlanNode>
  /** Node index by id. */
  readonly indexOf: ReadonlyMap<string, number>
  /** Dependency counts by node index (copied by each run of the scope). */
  readonly depCounts: Int32Array
  /** Nodes with no dependencies, in node order. */
  readonly roots: ReadonlyArray<number>
  readonly result: Expr
}

/** One program of the document. */
export interface ProgramPlan {
  readonly name: string
  readonly params: ReadonlyArray<Param>
  readonly scope: ScopePlan
}

/** A whole program document, planned. */
export interface Plan {
  readonly program: Program
  /** The program's identity (`hashProgram`). */
  readonly hash: string
  readonly entry: ProgramPlan
  readonly programs: ReadonlyMap<string, ProgramPlan>
  /** Every tool name used anywhere. */
  readonly tools: ReadonlySet<string>
  /** The patch ids of its `patched("id")` calls, sorted (patches.ts). */
  readonly patches: ReadonlyArray<string>
  /** Total nodes of all programs (each body counted once). */
  readonly nodeCount: number
}

/** Adds the names an expression refers to into `out` (iterative). */
const exprRefs = (root: Expr, out: Set<string>): void =>
  forEachSubExpr(root, (e) => {
    if (e.kind === "ref") out.add(e.name)
  })

/** The display labels of a document (canonical id → user name). */
type Labels = { readonly [id: string]: string }

interface Built {
  readonly scope: ScopePlan
  /** Names the scope refers to that it does not bind. */
  readonly free: ReadonlySet<string>
}

class Planner {
  nodeCount = 0
  readonly tools = new Set<string>()
  constructor(readonly labels: Labels, readonly programNames: ReadonlySet<string>) {}

  /** Plans a body; `binder` is the map variable bound in it, if any. */
  scope(body: Body, binder: string | undefined, where: string): Either.Either<Built, PlanError> {
    const nodes = body.nodes
    const n = nodes.length
    this.nodeCount += n
    const indexOf = new Map<string, number>()
    for (let i = 0; i < n; i++) {
      const id = nodes[i]!.id
      if (indexOf.has(id)) {
        return Either.left(new PlanError({ message: `Duplicate node id "${id}" in ${where}`, node: id }))
      }
      indexOf.set(id, i)
    }
    const free = new Set<string>()
    const refsOf: Array<ReadonlySet<string>> = []
    const nested: Array<ReadonlyArray<ScopePlan>> = []
    for (let i = 0; i < n; i++) {
      const node = nodes[i]!
      const refs = new Set<string>()
      const scopes: Array<ScopePlan> = []
      const inner = (b: Body, as: string | undefined, what: string): PlanError | undefined => {
        const built = this.scope(b, as, what)
        if (Either.isLeft(built)) return built.left
        scopes.push(built.right.scope)
        for (const name of built.right.free) refs.add(name)
        return undefined
      }
      let error: PlanError | undefined
      switch (node.kind) {
        case "tool":
          this.tools.add(node.tool)
          for (const k in node.args) exprRefs(node.args[k]!, refs)
          break
        case "llm":
          for (const k in node.args) exprRefs(node.args[k]!, refs)
          break
        case "call":
          if (!this.programNames.has(node.program)) {
            error = new PlanError({
              message: `Node "${node.id}" runs unknown program "${node.program}"`,
              node: node.id
            })
          }
          for (const k in node.args) exprRefs(node.args[k]!, refs)
          break
        case "map":
          exprRefs(node.over, refs)
          error = inner(node.body, node.as, `the body of map "${node.id}"`)
          break
        case "branch":
          exprRefs(node.cond, refs)
          error = inner(node.then, undefined, `the then-body of "${node.id}"`) ??
            inner(
              node.else ?? { nodes: [], result: { kind: "lit", value: null } },
              undefined,
              `the else-body of "${node.id}"`
            )
          break
        case "choose":
        case "race":
          for (const option of node.options) {
            error ??= inner(option.body, undefined, `option "${option.label}" of "${node.id}"`)
          }
          break
        case "expr":
          exprRefs(node.expr, refs)
          break
        case "wait":
          if (node.payload !== undefined) exprRefs(node.payload, refs)
          break
      }
      if (error !== undefined) return Either.left(error)
      const key = node.policy?.idempotencyKey
      if (key !== undefined) exprRefs(key, refs)
      for (const name of node.policy?.after ?? []) {
        if (!indexOf.has(name)) {
          return Either.left(
            new PlanError({ message: `Node "${node.id}" waits for unknown node "${name}"`, node: node.id })
          )
        }
        refs.add(name)
      }
      refs.delete(node.id)
      refsOf.push(refs)
      nested.push(scopes)
      for (const name of refs) if (!indexOf.has(name)) free.add(name)
    }
    exprRefs(body.result, free)
    for (const id of indexOf.keys()) free.delete(id)
    if (binder !== undefined) free.delete(binder)

    const depCounts = new Int32Array(n)
    const dependents: Array<Array<number>> = Array.from({ length: n }, () => [])
    for (let i = 0; i < n; i++) {
      for (const name of refsOf[i]!) {
        const j = indexOf.get(name)
        if (j === undefined) continue
        depCounts[i]!++
        dependents[j]!.push(i)
      }
    }
    // Kahn's algorithm: every node must be reachable from the roots.
    const roots: Array<number> = []
    for (let i = 0; i < n; i++) if (depCounts[i] === 0) roots.push(i)
    const counts = depCounts.slice()
    const queue = roots.slice()
    let seen = 0
    while (seen < queue.length) {
      const i = queue[seen++]!
      for (const j of dependents[i]!) if (--counts[j]! === 0) queue.push(j)
    }
    if (seen < n) {
      const stuck = nodes.filter((_, i) => counts[i]! > 0).map((x) => x.id)
      return Either.left(
        new PlanError({ message: `Cycle among nodes ${stuck.join(", ")} in ${where}`, node: stuck[0]! })
      )
    }
    // Critical-path rank: the longest chain of same-scope dependents from each node (itself counted), in reverse topological order.
    const ranks = new Int32Array(n)
    for (let k = n - 1; k >= 0; k--) {
      const i = queue[k]!
      let longest = 0
      for (const j of dependents[i]!) if (ranks[j]! > longest) longest = ranks[j]!
      ranks[i] = longest + 1
    }
    const planNodes: Array<PlanNode> = nodes.map((node, i) => {
      const label = node.policy?.label ?? this.labels[node.id] ?? node.id
      return {
        index: i,
        id: node.id,
        label,
        node,
        deps: depCounts[i]!,
        dependents: dependents[i]!,
        rank: ranks[i]!,
        scopes: nested[i]!,
        readyData: Object.freeze(label === node.id ? { kind: node.kind } : { kind: node.kind, label }),
        startedData: Object.freeze({ kind: node.kind })
      }
    })
    return Either.right({ scope: { nodes: planNodes, indexOf, depCounts, roots, result: body.result }, free })
  }
}

/** Plans a program document once; the plan is immutable and shared by every run of the program. */
export const make = (program: Program): Either.Either<Plan, PlanError> => {
  const names = new Set(Object.keys(program.programs))
  const planner = new Planner(program.labels ?? {}, names)
  const programs = new Map<string, ProgramPlan>()
  for (const name of Object.keys(program.programs).sort()) {
    const def = program.programs[name]!
    const built = planner.scope(def, undefined, `program "${name}"`)
    if (Either.isLeft(built)) return Either.left(built.left)
    programs.set(name, { name, params: def.params, scope: built.right.scope })
  }
  const entry = programs.get(program.entry)
  if (entry === undefined) {
    return Either.left(new PlanError({ message: `Entry program "${program.entry}" does not exist` }))
  }
  return Either.right({
    program,
    hash: hashProgram(program),
    entry,
    programs,
    tools: planner.tools,
    patches: patchesOf(program),
    nodeCount: planner.nodeCount
  })
}
