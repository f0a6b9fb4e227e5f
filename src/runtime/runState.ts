/** The state of one run that the scheduler, the driver and the node kinds share: settings, services, nodes, scopes. */
import type { Clock, Fiber, Runtime } from "effect"
import type { Json } from "../ir/eval.js"
import type { ToolError } from "../tools/errors.js"
import type { ToolRegistryService } from "../tools/registry.js"
import type { BanditStrategy } from "./bandit/state.js"
import type { PolicyStore } from "./bandit/store.js"
import type { LlmRunnerService } from "./llm.js"
import type { Plan, PlanNode, ScopePlan } from "./plan.js"
import type { Budgeter } from "./policy/budget.js"
import type { RunHooks } from "./policy/hooks.js"
import type { Recorded } from "./recorded.js"
import type { SignalInboxService } from "./signals.js"
import type { CallEnv, CallSite } from "./toolCall.js"

/** Limits and settings of one run. */
export interface RunConfig {
  readonly runId: string
  readonly plan: Plan
  readonly params: ReadonlyMap<string, Json>
  /** The patch ids in force: what `patched(id)` answers true for (patches.ts). */
  readonly patches: ReadonlySet<string>
  /** Most tool/llm calls in flight at once (calls that complete synchronously never wait). */
  readonly concurrency: number
  /** Most node executions in the whole run. */
  readonly maxNodes: number
  /** Deepest nesting of scopes (map items, branches, options, calls). */
  readonly maxDepth: number
  /** Longest run time in ms, if bounded. */
  readonly maxRunTimeMs: number | undefined
  /** The run's own budget, if any. */
  readonly budget: Budgeter | undefined
  /** The bandit strategy of a choose key. */
  readonly strategyFor: (key: string) => BanditStrategy
  /** Seed of the run, when seeded: each choose then draws from its own Random seeded by (seed, node path). */
  readonly seed: number | undefined
  /** The run's record, when it is resumed or replayed (see recorded.ts). */
  readonly recorded: Recorded | undefined
}

/** The services a run uses, resolved once. */
export interface RunServices {
  readonly registry: ToolRegistryService
  readonly policy: PolicyStore["Type"]
  readonly hooks: RunHooks
  readonly llm: LlmRunnerService
  readonly signals: SignalInboxService
  readonly clock: Clock.Clock
  /** The runtime in-flight effects are forked with (carries Clock, Random and services). */
  readonly runtime: Runtime.Runtime<never>
  readonly call: Omit<CallEnv, "emit" | "now" | "runId" | "seed" | "recorded">
}

/** Resolves a name in a scope instance (undefined when unbound). */
export type Env = (name: string) => Json | undefined

/** The state of a map node while its items run. */
export interface MapState {
  readonly items: ReadonlyArray<Json>
  readonly results: Array<Json>
  readonly cap: number
  next: number
  active: number
  done: number
  starting: boolean
}

/**
 * A part of a run that fails and is cancelled on its own: an option of a `race`, an item of a map with
 * `take`. Nodes of its scopes (and of scopes nested in them) report failures to `onFail` instead of failing
 * the run; cancelling it cancels its nodes and the groups nested in it.
 */
export interface Group {
  cancelled: boolean
  /** Node executions of the group not yet done. */
  readonly nodes: Set<NodeRun>
  readonly children: Array<Group>
  readonly onFail: (error: ToolError) => void
}

/** One execution of a node. */
export interface NodeRun {
  readonly scope: ScopeRun
  readonly pn: PlanNode
  readonly path: string
  budgets: ReadonlyArray<Budgeter>
  done: boolean
  /** In-flight effect of the node (call, choice, hook), if any. */
  fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined
  /** Timer of a node-level timeout. */
  timer: Fiber.RuntimeFiber<unknown, unknown> | undefined
  map: MapState | undefined
  /** The tool call of a tool node. */
  site: CallSite | undefined
  /** The groups a fan-in node (race, map with take) runs its options or items in. */
  groups: Array<Group> | undefined
}

/** One execution of a scope: values by node index and remaining dependency counts. */
export interface ScopeRun {
  readonly plan: ScopePlan
  readonly values: Array<Json | undefined>
  readonly counts: Int32Array
  left: number
  readonly prefix: string
  readonly env: Env
  readonly depth: number
  readonly budgets: ReadonlyArray<Budgeter>
  readonly onDone: (value: Json) => void
  readonly onFail: (error: ToolError) => void
  /** The group the scope runs in, if any (see `Group`). */
  readonly group: Group | undefined
}

/** How the run ended. */
export type RunStatus = "running" | "completed" | "failed" | "cancelled" | "waiting"
