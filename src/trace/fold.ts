/**
 * The trace reducer (SPEC §5): `fold(state, event)` rebuilds a run's state
 * from its events — run status, hashes, seed, modes, times, output or
 * error, and per node path its state, attempts, output, error, chunk count
 * and choice. `RunState` is plain JSON-able data (no classes, no Maps), so
 * it can be stored as JSONB, sent over HTTP and compared with `toEqual`.
 *
 * Purity and cost: `fold` and `foldAll` never mutate their inputs. `foldAll`
 * works on a private draft — the state's node table is copied once per
 * call, and a node (or attempt) is copied the first time an event of the
 * call touches it, then updated in place — so folding n events costs
 * O(n + nodes), not O(n · nodes). `fold(s, e)` is `foldAll([e], s)`: one
 * shallow copy of the node table per event, fine for a live view, while a
 * whole trace should go through `foldAll`. Both agree:
 * `foldAll(a ++ b, s) = foldAll(b, foldAll(a, s))` (laws/trace.test.ts).
 */
import type { ErrorKind } from "../ir/schema.js"
import type { EventData, RunEvent } from "./events.js"

/** Where a run is: `pending` before its `RunStarted`, `running` until a terminal event. */
export type RunStatus = "pending" | "running" | "completed" | "failed" | "cancelled"

/**
 * Where a node is. `waiting` is a node seen first through an event other
 * than `NodeReady` (fold only knows nodes through their events), or a
 * `wait` step waiting for its signal or timer (`NodeState.wait`); `cached`
 * is a completed node whose result was served by the result cache or the
 * idempotency store; `cancelled` a node failed with kind `Cancelled`.
 */
export type NodeStatus = "waiting" | "ready" | "running" | "retrying" | "done" | "failed" | "cancelled" | "cached"

/** How a run was started: first `live` (or `replay`), then `resume` for every resumption. */
export type RunMode = EventData<"RunStarted">["mode"]

/** Where a tool result came from. */
export type ResultSource = EventData<"ToolReturned">["source"]

/** One tool call attempt of a node (one `ToolCalled` event and what ended it). */
export interface AttemptState {
  /** 1-based attempt number. */
  readonly attempt: number
  /** When the call was made (`ToolCalled`). */
  readonly startedAt: number
  /** When it returned or failed; null while in flight. */
  readonly endedAt: number | null
  readonly argsHash: string
  readonly idempotencyKey: string | null
  readonly outputHash: string | null
  readonly latencyMs: number | null
  readonly cost: number | null
  /** The error kind of a failed attempt (retried, or the node's final failure). */
  readonly errorKind: ErrorKind | null
  readonly message: string | null
  /** The delay before the next attempt, when this one was retried. */
  readonly retryDelayMs: number | null
}

/** A recorded `choose` decision. */
export type ChoiceState = EventData<"ChoiceMade">

/** What a `wait` step waits for, and how it was answered. */
export interface WaitState {
  /** The signal's name; null for a durable sleep. */
  readonly name: string | null
  readonly payload: unknown
  readonly deadline: number | null
  /** The declared answer type, if any (an IR `Type`). */
  readonly answer?: unknown
  /** The signal that answered it, once one did. */
  readonly signal: { readonly signalId: string; readonly payload: unknown; readonly at: number } | null
  /** When the timer fired, if it did. */
  readonly firedAt: number | null
}

/** The state of one node path. */
export interface NodeState {
  readonly path: string
  readonly state: NodeStatus
  /** The node kind (`tool`, `map`…), from `NodeReady` / `NodeStarted`. */
  readonly kind: string | null
  /** The user's name for the node, when it differs from its id. */
  readonly label: string | null
  /** The tool a tool node called. */
  readonly tool: string | null
  readonly readyAt: number | null
  readonly startedAt: number | null
  readonly endedAt: number | null
  /** Every tool call attempt, in order (results served without a call have none). */
  readonly attempts: ReadonlyArray<AttemptState>
  /** Where the node's tool result came from, once it returned. */
  readonly source: ResultSource | null
  /** The tool's output (from `ToolReturned`); the key is absent until there is one. */
  readonly output?: unknown
  /** The hash of the node's output (`ToolReturned`, then `NodeCompleted`). */
  readonly outputHash: string | null
  readonly error: { readonly kind: ErrorKind; readonly message: string } | null
  /** How many `Chunk` events the node streamed. */
  readonly chunks: number
  readonly choice: ChoiceState | null
  /** A wait step's wait (absent for other nodes). */
  readonly wait?: WaitState
  /** Total cost of the node's tool results. */
  readonly cost: number
}

/** A run's failure: `Cancelled` with the reason when it was cancelled. */
export interface RunError {
  readonly kind: ErrorKind
  readonly message: string
  /** The node path whose failure failed the run, when one did. */
  readonly node?: string
}

/** A run's state rebuilt from its events. Plain JSON-able data. */
export interface RunState {
  readonly runId: string
  readonly status: RunStatus
  readonly programHash: string | null
  readonly inputsHash: string | null
  readonly seed: number | null
  /** The inputs recorded by the last `RunStarted` that carried them; absent until then. */
  readonly inputs?: unknown
  /** The mode of the latest `RunStarted`. */
  readonly mode: RunMode | null
  /** The mode of every `RunStarted`, in order (`["live", "resume"]` for a resumed run). */
  readonly modes: ReadonlyArray<RunMode>
  /** When the run first started. */
  readonly startedAt: number | null
  /** When it ended (null while pending or running). */
  readonly endedAt: number | null
  /** The run's output (`RunCompleted`); the key is absent until it completed. */
  readonly output?: unknown
  readonly outputHash: string | null
  readonly error: RunError | null
  /** The seq of the last event folded (-1 for none). */
  readonly lastSeq: number
  /** How many events were folded. */
  readonly events: number
  /** Total cost of every tool result. */
  readonly cost: number
  /** Node states by node path, in the order nodes first appeared. */
  readonly nodes: { readonly [path: string]: NodeState }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }
type DraftNode = Mutable<NodeState> & { attempts: Array<AttemptState> }
type DraftRun = Mutable<RunState> & { nodes: Record<string, NodeState> }

/** The state of a run before any event. */
export const initialState = (runId: string): RunState => ({
  runId,
  status: "pending",
  programHash: null,
  inputsHash: null,
  seed: null,
  mode: null,
  modes: [],
  startedAt: null,
  endedAt: null,
  outputHash: null,
  error: null,
  lastSeq: -1,
  events: 0,
  cost: 0,
  nodes: {}
})

const newNode = (path: string): DraftNode => ({
  path,
  state: "waiting",
  kind: null,
  label: null,
  tool: null,
  readyAt: null,
  startedAt: null,
  endedAt: null,
  attempts: [],
  source: null,
  outputHash: null,
  error: null,
  chunks: 0,
  choice: null,
  cost: 0
})

/** Own-property access: node paths come from outside and may be `__proto__` or `constructor`. */
const hasOwn = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key)
const define = (o: object, key: string, value: unknown): void => {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true })
}

/** A private, copy-on-first-touch working copy of a state. */
class Draft {
  readonly run: DraftRun
  /** Node objects created by this draft (safe to update in place). */
  private readonly owned = new Set<NodeState>()
  private nodesCopied = false

  constructor(state: RunState) {
    this.run = { ...state } as DraftRun
  }

  /** The node at `path`, as a private copy (created when absent). */
  node(path: string): DraftNode {
    const nodes = this.run.nodes
    if (hasOwn(nodes, path)) {
      const current = nodes[path]!
      if (this.owned.has(current)) return current as DraftNode
    }
    if (!this.nodesCopied) {
      this.run.nodes = { ...nodes }
      this.nodesCopied = true
    }
    const copy: DraftNode = hasOwn(this.run.nodes, path)
      ? { ...(this.run.nodes[path] as NodeState), attempts: this.run.nodes[path]!.attempts.slice() }
      : newNode(path)
    define(this.run.nodes, path, copy)
    this.owned.add(copy)
    return copy
  }
}

/** Index of the last attempt numbered `attempt` (or the last one when undefined); -1 when none. */
const findAttempt = (node: DraftNode, attempt: number | undefined): number => {
  for (let i = node.attempts.length - 1; i >= 0; i--) {
    if (attempt === undefined || node.attempts[i]!.attempt === attempt) return i
  }
  return -1
}

const updateAttempt = (node: DraftNode, index: number, change: Partial<AttemptState>): void => {
  node.attempts[index] = { ...node.attempts[index]!, ...change }
}

/** Applies one event to a draft. */
const apply = (d: Draft, e: RunEvent): void => {
  const run = d.run
  run.lastSeq = e.seq
  run.events += 1
  switch (e.type) {
    case "RunStarted": {
      const data = e.data
      run.status = "running"
      run.programHash = data.programHash
      run.inputsHash = data.inputsHash
      run.seed = data.seed
      run.mode = data.mode
      run.modes = [...run.modes, data.mode]
      if (run.startedAt === null) run.startedAt = e.at
      if (data.inputs !== undefined) run.inputs = data.inputs
      run.endedAt = null
      run.error = null
      run.outputHash = null
      delete run.output
      return
    }
    case "RunCompleted":
      run.status = "completed"
      run.endedAt = e.at
      run.output = e.data.output
      run.outputHash = e.data.outputHash
      return
    case "RunFailed": {
      const { errorKind, message, failedNode } = e.data
      run.status = "failed"
      run.endedAt = e.at
      run.error = failedNode === undefined
        ? { kind: errorKind, message }
        : { kind: errorKind, message, node: failedNode }
      return
    }
    case "RunCancelled":
      run.status = "cancelled"
      run.endedAt = e.at
      run.error = { kind: "Cancelled", message: e.data.reason }
      return
  }
  // Node events; one without a node path has nothing to update but the counters above.
  if (e.node === undefined) return
  const node = d.node(e.node)
  switch (e.type) {
    case "NodeReady":
      node.state = "ready"
      node.kind = e.data.kind
      if (e.data.label !== undefined) node.label = e.data.label
      node.readyAt = e.at
      return
    case "NodeStarted":
      node.state = "running"
      node.kind = e.data.kind
      node.startedAt = e.at
      return
    case "ToolCalled":
      node.state = "running"
      node.tool = e.data.tool
      if (node.startedAt === null) node.startedAt = e.at
      node.attempts.push({
        attempt: e.attempt ?? node.attempts.length + 1,
        startedAt: e.at,
        endedAt: null,
        argsHash: e.data.argsHash,
        idempotencyKey: e.data.idempotencyKey ?? null,
        outputHash: null,
        latencyMs: null,
        cost: null,
        errorKind: null,
        message: null,
        retryDelayMs: null
      })
      return
    case "ToolReturned": {
      const data = e.data
      node.tool = data.tool
      node.source = data.source
      node.output = data.output
      node.outputHash = data.outputHash
      node.cost += data.cost
      run.cost += data.cost
      if (data.source !== "tool") return
      const i = findAttempt(node, e.attempt)
      if (i >= 0) {
        updateAttempt(node, i, {
          endedAt: e.at,
          outputHash: data.outputHash,
          latencyMs: data.latencyMs,
          cost: data.cost
        })
      }
      return
    }
    case "NodeRetrying": {
      node.state = "retrying"
      const i = findAttempt(node, e.data.attempt)
      if (i >= 0) {
        updateAttempt(node, i, {
          endedAt: e.at,
          errorKind: e.data.errorKind,
          message: e.data.message,
          retryDelayMs: e.data.delayMs
        })
      }
      return
    }
    case "NodeFailed": {
      const { errorKind, message } = e.data
      node.state = errorKind === "Cancelled" ? "cancelled" : "failed"
      node.error = { kind: errorKind, message }
      node.endedAt = e.at
      const i = findAttempt(node, undefined)
      if (i >= 0 && node.attempts[i]!.endedAt === null) updateAttempt(node, i, { endedAt: e.at, errorKind, message })
      return
    }
    case "NodeCompleted":
      node.state = node.source === "cache" || node.source === "idempotency" ? "cached" : "done"
      node.outputHash = e.data.outputHash
      node.endedAt = e.at
      return
    case "ChoiceMade":
      node.choice = { ...e.data }
      return
    case "Waiting": {
      const { name, payload, deadline, answer } = e.data
      node.state = "waiting"
      node.wait = {
        name,
        payload,
        deadline,
        ...(answer === undefined ? {} : { answer }),
        signal: node.wait?.signal ?? null,
        firedAt: node.wait?.firedAt ?? null
      }
      return
    }
    case "Signalled":
      node.state = "running"
      node.wait = {
        ...(node.wait ?? { name: e.data.name, payload: null, deadline: null, firedAt: null }),
        signal: { signalId: e.data.signalId, payload: e.data.payload, at: e.at }
      }
      return
    case "TimerFired":
      node.state = "running"
      node.wait = {
        ...(node.wait ?? { name: null, payload: null, deadline: e.data.deadline, signal: null }),
        firedAt: e.at
      }
      return
    case "Chunk":
      node.chunks += 1
      return
  }
}

/**
 * Folds events into a state, in order (default: the initial state of the
 * first event's run). Never mutates `state` or the events; O(events +
 * nodes of `state`).
 */
export const foldAll = (events: Iterable<RunEvent>, state?: RunState): RunState => {
  let draft: Draft | undefined = state === undefined ? undefined : new Draft(state)
  for (const e of events) {
    if (draft === undefined) draft = new Draft(initialState(e.runId))
    apply(draft, e)
  }
  return draft === undefined ? initialState("") : draft.run
}

/**
 * One step of the reducer: the state after `event`. Pure; copies the node
 * table (shallowly) each call, so fold a whole trace with `foldAll`.
 */
export const fold = (state: RunState, event: RunEvent): RunState => foldAll([event], state)

/** Whether the run has ended (completed, failed or cancelled). */
export const isFinished = (state: RunState): boolean =>
  state.status === "completed" || state.status === "failed" || state.status === "cancelled"
