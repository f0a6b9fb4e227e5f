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

/**
 * The key (path template) of an event's node path: walks the path through
 * the graph, replacing a map's item index with `*`. Undefined for a path
 * the graph does not know.
 */
export const keyOf = (graph: GraphView, path: string): string | undefined => {
  const parts = path.split("/")
  let nodes: ReadonlyArray<GraphNode> = graph.nodes
  const key: Array<string> = []
  let i = 0
  for (;;) {
    const id = parts[i++]
    const node = nodes.find((n) => n.id === id)
    if (node === undefined) return undefined
    key.push(node.id)
    if (i >= parts.length) return key.join("/")
    if (node.kind === "call") {
      nodes = node.scopes[0]?.nodes ?? []
      continue
    }
    const segment = parts[i++]
    if (segment === undefined) return undefined
    const scope = node.kind === "map" ? node.scopes[0] : node.scopes.find((s) => s.segment === segment)
    if (scope === undefined) return undefined
    key.push(node.kind === "map" ? "*" : segment)
    if (i >= parts.length) return undefined
    nodes = scope.nodes
  }
}

/** A run as the viewer follows it. */
export class RunModel {
  state: RunState
  readonly events: Array<RunEvent> = []
  /** Node paths by key, in first-seen order. */
  readonly instances = new Map<string, Array<string>>()
  constructor(readonly runId: string, readonly graph: GraphView | undefined) {
    this.state = initialState(runId)
  }

  /** Folds a batch of events in. */
  add(batch: ReadonlyArray<RunEvent>): void {
    for (const e of batch) {
      this.events.push(e)
      if (e.node !== undefined && this.graph !== undefined) {
        const key = keyOf(this.graph, e.node)
        if (key !== undefined) {
          const list = this.instances.get(key)
          if (list === undefined) this.instances.set(key, [e.node])
          else if (!list.includes(e.node)) list.push(e.node)
        }
      }
    }
    this.state = foldAll(batch, this.state)
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
