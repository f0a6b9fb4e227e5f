/**
 * The viewer's model of a run: the program's graph (`graph.ts`) indexed by
 * node key, the run state folded from its events (`trace/fold.ts`, the same
 * reducer the server uses), and how an event's node path maps onto the
 * picture (browser code).
 */
import type { RunEvent } from "../../../trace/events.js"
import { foldAll, initialState } from "../../../trace/fold.js"
import type { NodeState, NodeStatus, RunState } from "../../../trace/fold.js"
import type { GraphNode, GraphView } from "../graph.js"

/** Every node state the viewer colours, in legend order. */
export const STATES: ReadonlyArray<NodeStatus> = [
  "waiting",
  "ready",
  "running",
  "retrying",
  "done",
  "cached",
  "failed",
  "cancelled"
]

/** Graph nodes by key, with their parent's key. */
export interface GraphIndex {
  readonly byKey: ReadonlyMap<string, GraphNode>
  readonly parent: ReadonlyMap<string, string>
}

/** Indexes a graph by node key. */
export const indexGraph = (graph: GraphView): GraphIndex => {
  const byKey = new Map<string, GraphNode>()
  const parent = new Map<string, string>()
  const walk = (nodes: ReadonlyArray<GraphNode>, owner: string | undefined): void => {
    for (const n of nodes) {
      byKey.set(n.key, n)
      if (owner !== undefined) parent.set(n.key, owner)
      for (const scope of n.scopes) walk(scope.nodes, n.key)
    }
  }
  walk(graph.nodes, undefined)
  return { byKey, parent }
}

/** An arm (scope) an event's node path went through: the owner node's path and key, and the scope's segment. */
export interface ArmStep {
  readonly ownerPath: string
  readonly ownerKey: string
  readonly segment: string
}

/**
 * Walks a node path through the graph: its key (path template, a map's item index replaced with `*`) and the
 * arms of `if`, `choose` and `race` nodes it passed through. Undefined for a path the graph does not know.
 */
export const walkPath = (
  graph: GraphView,
  path: string
): { readonly key: string; readonly arms: ReadonlyArray<ArmStep> } | undefined => {
  const parts = path.split("/")
  let nodes: ReadonlyArray<GraphNode> = graph.nodes
  const key: Array<string> = []
  const arms: Array<ArmStep> = []
  let i = 0
  for (;;) {
    const id = parts[i++]
    const node = nodes.find((n) => n.id === id)
    if (node === undefined) return undefined
    key.push(node.id)
    if (i >= parts.length) return { key: key.join("/"), arms }
    if (node.kind === "call") {
      nodes = node.scopes[0]?.nodes ?? []
      continue
    }
    const segment = parts[i++]
    if (segment === undefined) return undefined
    const scope = node.kind === "map" ? node.scopes[0] : node.scopes.find((s) => s.segment === segment)
    if (scope === undefined) return undefined
    if (node.kind !== "map") {
      arms.push({ ownerPath: parts.slice(0, i - 1).join("/"), ownerKey: key.join("/"), segment })
    }
    key.push(node.kind === "map" ? "*" : segment)
    if (i >= parts.length) return undefined
    nodes = scope.nodes
  }
}

/**
 * The key (path template) of an event's node path: walks the path through
 * the graph, replacing a map's item index with `*`. Undefined for a path
 * the graph does not know.
 */
export const keyOf = (graph: GraphView, path: string): string | undefined => walkPath(graph, path)?.key

/** A run as the viewer follows it. */
export class RunModel {
  state: RunState
  readonly events: Array<RunEvent> = []
  /** Node paths by key, in first-seen order. */
  readonly instances = new Map<string, Array<string>>()
  /** The arms (scope segments) entered, by the path of their `if`/`choose`/`race` node. */
  readonly entered = new Map<string, Set<string>>()
  /** The paths seen, with their key (undefined: not in the picture). */
  private readonly seen = new Map<string, string | undefined>()
  constructor(readonly runId: string, readonly graph: GraphView | undefined) {
    this.state = initialState(runId)
  }

  /** Folds a batch of events in. */
  add(batch: ReadonlyArray<RunEvent>): void {
    for (const e of batch) {
      this.events.push(e)
      if (e.node !== undefined && this.graph !== undefined && !this.seen.has(e.node)) {
        const walked = walkPath(this.graph, e.node)
        this.seen.set(e.node, walked?.key)
        if (walked !== undefined) {
          const list = this.instances.get(walked.key)
          if (list === undefined) this.instances.set(walked.key, [e.node])
          else list.push(e.node)
          for (const a of walked.arms) {
            const set = this.entered.get(a.ownerPath)
            if (set === undefined) this.entered.set(a.ownerPath, new Set([a.segment]))
            else set.add(a.segment)
          }
        }
      }
    }
    this.state = foldAll(batch, this.state)
  }

  /** The key of a node path seen in an event (undefined: not seen, or not in the picture). */
  keyOfPath(path: string): string | undefined {
    return this.seen.get(path)
  }

  /** The states of the instances of a key. */
  nodesOf(key: string): ReadonlyArray<NodeState> {
    return (this.instances.get(key) ?? []).flatMap((
      p
    ) => (Object.prototype.hasOwnProperty.call(this.state.nodes, p) ? [this.state.nodes[p]!] : []))
  }

  /** The events of one node path. */
  eventsOf(path: string): ReadonlyArray<RunEvent> {
    return this.events.filter((e) => e.node === path)
  }
}

const ENDED: ReadonlySet<NodeStatus> = new Set(["done", "cached", "failed", "cancelled"])

/**
 * Which arms of an `if`, `choose` or `race` node ran, over all its runs: each with a note (a `choose`'s
 * propensity and policy; `×3` when it ran in three map items). An `if` whose arms have no nodes is told by its
 * output hash against the arms' constant results; an arm without nodes is the one taken when the other, which
 * has nodes, never started. `settled` once every run of the node ended. Undefined for other kinds.
 */
export const armsOf = (
  model: RunModel,
  node: GraphNode
): { readonly arms: ReadonlyMap<string, string>; readonly settled: boolean } | undefined => {
  if (node.kind !== "branch" && node.kind !== "choose" && node.kind !== "race") return undefined
  const paths = model.instances.get(node.key) ?? []
  const counts = new Map<string, number>()
  const notes = new Map<string, string>()
  let settled = paths.length > 0
  const take = (segment: string) => counts.set(segment, (counts.get(segment) ?? 0) + 1)
  for (const p of paths) {
    const st = Object.prototype.hasOwnProperty.call(model.state.nodes, p) ? model.state.nodes[p] : undefined
    const ended = st !== undefined && ENDED.has(st.state)
    if (!ended) settled = false
    const entered = model.entered.get(p) ?? new Set<string>()
    if (node.kind === "choose" && st?.choice != null) {
      take(st.choice.option)
      notes.set(st.choice.option, `p=${st.choice.propensity.toFixed(2)} · policy ${st.choice.policy}`)
      continue
    }
    if (entered.size > 0) {
      for (const seg of entered) take(seg)
      continue
    }
    if (node.kind !== "branch" || st === undefined || (st.state !== "done" && st.state !== "cached")) continue
    const byHash = node.scopes.filter((sc) => sc.resultHash !== undefined && sc.resultHash === st.outputHash)
    const empty = node.scopes.filter((sc) => sc.nodes.length === 0)
    if (byHash.length === 1) take(byHash[0]!.segment)
    else if (empty.length === 1 && node.scopes.length === 2) take(empty[0]!.segment)
  }
  const arms = new Map<string, string>()
  for (const [seg, n] of counts) {
    const parts = [notes.get(seg), paths.length > 1 ? `×${n}` : undefined].filter((x) => x !== undefined)
    arms.set(seg, parts.join(" · "))
  }
  return { arms, settled }
}

const PRECEDENCE: ReadonlyArray<NodeStatus> = [
  "retrying",
  "running",
  "failed",
  "cancelled",
  "ready",
  "waiting",
  "done",
  "cached"
]

/** One state for a node drawn once but run many times (a map item's node): the most telling one, and counts. */
export const aggregate = (
  nodes: ReadonlyArray<NodeState>
): { readonly state: NodeStatus; readonly counts: ReadonlyMap<NodeStatus, number> } => {
  const counts = new Map<NodeStatus, number>()
  for (const n of nodes) counts.set(n.state, (counts.get(n.state) ?? 0) + 1)
  if (nodes.length === 0) return { state: "waiting", counts }
  const present = PRECEDENCE.filter((s) => counts.has(s))
  // All finished well: cached only when every instance was cached.
  if (present.every((s) => s === "done" || s === "cached")) {
    return { state: counts.has("done") ? "done" : "cached", counts }
  }
  return { state: present[0]!, counts }
}

/** The wall-clock duration of a node (started or ready → ended, or → now while active). */
export const durationOf = (n: NodeState, now: number): number | null => {
  const start = n.startedAt ?? n.readyAt
  if (start === null) return null
  return (n.endedAt ?? now) - start
}
