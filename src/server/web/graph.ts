/**
 * The DAG of a program as the viewer draws it: every scope's nodes with
 * their same-scope dependencies (from the runtime's plan, so the picture is
 * the graph the scheduler runs), display labels, arguments printed as DSL
 * expressions, and nested scopes — a map's body, an `if`'s then/else, a
 * `choose`'s options, a `run` call's program — as groups. Each node has a
 * `key`: its node path template (`n3/*\/n4` for node `n4` in any item of map
 * `n3`), which is how the viewer matches event paths to the picture.
 */
import { Either, Schema } from "effect"
import { evalPure } from "../../ir/eval.js"
import type { Expr, Program } from "../../ir/schema.js"
import { mapExpr } from "../../ir/visit.js"
import { printExpr } from "../../language/printExpr.js"
import { make as makePlan } from "../../runtime/plan.js"
import type { PlanNode, ProgramPlan, ScopePlan } from "../../runtime/plan.js"
import { hashJson } from "../../trace/contentHash.js"

/** One node of the picture. */
export interface GraphNode {
  /** The node id in its scope (`n3`). */
  readonly id: string
  /** The node path template (`n3/*\/n4`; `*` stands for a map item index). */
  readonly key: string
  readonly kind: string
  /** The display name: the policy label, the user's name, else the id. */
  readonly label: string
  /** What it runs: the tool, signature or program name, the expression or condition, the map's list. */
  readonly detail: string
  /** Arguments as DSL expressions (user names in place of canonical ids). */
  readonly args: ReadonlyArray<{ readonly name: string; readonly expr: string }>
  /** Policy keys that are set (`timeout 2s`, `retry 3`), for display. */
  readonly policy: ReadonlyArray<string>
  /** Ids of the nodes of the same scope this one waits for. */
  readonly deps: ReadonlyArray<string>
  /** Nested scopes (map body, then/else, options, called program). */
  readonly scopes: ReadonlyArray<GraphScope>
}

/** A nested scope: `segment` is what its node paths add after the owner's path (`*`, `then`, `else`, a label; "" for a call). */
export interface GraphScope {
  readonly segment: string
  readonly title: string
  readonly nodes: ReadonlyArray<GraphNode>
  /** The scope's result as a DSL expression (what a body made only of expressions computes). */
  readonly result: string
  /**
   * The hash (`hashJson`) of the result when it is a constant (needs no node, input or binder): how the viewer
   * tells which arm of an `if` ran when neither arm has nodes (the branch's `NodeCompleted` carries the same hash).
   */
  readonly resultHash?: string
}

/** The picture of a program. */
export interface GraphView {
  /** The entry program's name. */
  readonly program: string
  readonly nodes: ReadonlyArray<GraphNode>
  /** True when the graph was cut at `MAX_GRAPH_NODES` nodes or `MAX_CALL_DEPTH` nested calls. */
  readonly truncated: boolean
}

const GraphNodeSchema: Schema.Schema<GraphNode> = Schema.Struct({
  id: Schema.String,
  key: Schema.String,
  kind: Schema.String,
  label: Schema.String,
  detail: Schema.String,
  args: Schema.Array(Schema.Struct({ name: Schema.String, expr: Schema.String })),
  policy: Schema.Array(Schema.String),
  deps: Schema.Array(Schema.String),
  scopes: Schema.Array(Schema.suspend((): Schema.Schema<GraphScope> => GraphScopeSchema))
}).annotations({ identifier: "GraphNode" })

const GraphScopeSchema: Schema.Schema<GraphScope> = Schema.Struct({
  segment: Schema.String,
  title: Schema.String,
  nodes: Schema.Array(GraphNodeSchema),
  result: Schema.String,
  resultHash: Schema.optionalWith(Schema.String, { exact: true })
}).annotations({ identifier: "GraphScope" })

/** The Schema of `GraphView` (the wire shape of `GET /v1/runs/:id/program`'s `graph`). */
export const GraphViewSchema: Schema.Schema<GraphView> = Schema.Struct({
  program: Schema.String,
  nodes: Schema.Array(GraphNodeSchema),
  truncated: Schema.Boolean
}).annotations({ identifier: "GraphView" })

/** Most nodes drawn (a bigger program is cut, with `truncated`). */
const MAX_GRAPH_NODES = 2000
/** Deepest nesting of `run` calls expanded. */
const MAX_CALL_DEPTH = 6
/** Longest printed expression kept (longer ones end with `…`). */
const MAX_EXPR = 240

const clip = (s: string): string => (s.length > MAX_EXPR ? s.slice(0, MAX_EXPR - 1) + "…" : s)

/** Builds the picture of `program`; a program the runtime cannot plan is a `Left` with the planner's message. */
export const graphOf = (program: Program): Either.Either<GraphView, string> => {
  const planned = makePlan(program)
  if (Either.isLeft(planned)) return Either.left(planned.left.message)
  const plan = planned.right
  const labels = program.labels ?? {}
  const show = (e: Expr): string =>
    clip(
      printExpr(
        mapExpr(
          e,
          (x) => (x.kind === "ref" && labels[x.name] !== undefined ? { kind: "ref", name: labels[x.name]! } : x)
        )
      )
    )
  let count = 0
  let truncated = false

  const policyOf = (pn: PlanNode): Array<string> => {
    const p = pn.node.policy
    if (p === undefined) return []
    const out: Array<string> = []
    if (p.timeout !== undefined) out.push(`timeout ${p.timeout}`)
    if (p.retry !== undefined) out.push(`retry ${p.retry.times ?? 3}× ${p.retry.backoff ?? "exponential"}`)
    if (p.cache !== undefined) out.push(p.cache === false ? "no cache" : `cache ${p.cache.ttl}`)
    if (p.idempotencyKey !== undefined) out.push(`idempotencyKey ${show(p.idempotencyKey)}`)
    if (p.after !== undefined && p.after.length > 0) out.push(`after ${p.after.map((a) => labels[a] ?? a).join(", ")}`)
    if (p.budget !== undefined) out.push(`budget ${JSON.stringify(p.budget)}`)
    return out
  }

  const scopeNodes = (scope: ScopePlan, prefix: string, depth: number): Array<GraphNode> => {
    const deps = new Map<number, Array<string>>()
    for (const pn of scope.nodes) {
      for (const j of pn.dependents) {
        const list = deps.get(j)
        if (list === undefined) deps.set(j, [pn.id])
        else list.push(pn.id)
      }
    }
    const out: Array<GraphNode> = []
    for (const pn of scope.nodes) {
      if (count >= MAX_GRAPH_NODES) {
        truncated = true
        break
      }
      count++
      const key = prefix + pn.id
      const node = pn.node
      const nested = (i: number, segment: string, title: string): GraphScope => {
        const s = pn.scopes[i]
        const base = segment === "" ? `${key}/` : `${key}/${segment}/`
        return s === undefined ? { segment, title, nodes: [], result: "" } : scopeOf(s, segment, title, base, depth)
      }
      let detail = ""
      let args: Array<{ name: string; expr: string }> = []
      let scopes: Array<GraphScope> = []
      switch (node.kind) {
        case "tool":
          detail = node.tool
          args = Object.keys(node.args).map((name) => ({ name, expr: show(node.args[name]!) }))
          break
        case "llm":
          detail = node.model === undefined ? node.signature : `${node.signature} (${node.model})`
          args = Object.keys(node.args).map((name) => ({ name, expr: show(node.args[name]!) }))
          break
        case "call": {
          detail = node.program
          args = Object.keys(node.args).map((name) => ({ name, expr: show(node.args[name]!) }))
          const callee: ProgramPlan | undefined = plan.programs.get(node.program)
          if (callee !== undefined && depth < MAX_CALL_DEPTH) {
            scopes = [scopeOf(callee.scope, "", `program ${node.program}`, `${key}/`, depth + 1)]
          } else if (callee !== undefined) truncated = true
          break
        }
        case "map":
          detail = `${labels[node.as] ?? node.as} in ${show(node.over)}`
          scopes = [nested(0, "*", "each item")]
          break
        case "branch":
          detail = `if ${show(node.cond)}`
          scopes = [nested(0, "then", "then"), ...(node.else === null ? [] : [nested(1, "else", "else")])]
          break
        case "choose":
          detail = `choose "${node.key}"`
          scopes = node.options.map((o, i) => nested(i, o.label, o.label))
          break
        case "race":
          detail = "race"
          scopes = node.options.map((o, i) => nested(i, o.label, o.label))
          break
        case "expr":
          detail = show(node.expr)
          break
      }
      out.push({
        id: pn.id,
        key,
        kind: node.kind,
        label: pn.label,
        detail,
        args,
        policy: policyOf(pn),
        deps: deps.get(pn.index) ?? [],
        scopes
      })
    }
    return out
  }

  function scopeOf(scope: ScopePlan, segment: string, title: string, prefix: string, depth: number): GraphScope {
    const nodes = scopeNodes(scope, prefix, depth)
    const constant = evalPure(scope.result, new Map())
    return Either.isRight(constant)
      ? { segment, title, nodes, result: show(scope.result), resultHash: hashJson(constant.right) }
      : { segment, title, nodes, result: show(scope.result) }
  }

  const nodes = scopeNodes(plan.entry.scope, "", 0)
  return Either.right({ program: plan.entry.name, nodes, truncated })
}
