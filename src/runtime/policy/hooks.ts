/**
 * Run hooks (SPEC §4): pre-run, pre-node and post-node callbacks for
 * validation and policy checks. A hook vetoes by failing with a `ToolError`
 * (e.g. `Permanent` for a refused input, `BudgetExceeded` for a spent
 * budget). Hooks are off by default and free when off: the runtime reads the
 * `Hooks` reference once and skips every absent hook.
 */
import { Context, Effect, Layer } from "effect"
import type { Json } from "../../ir/eval.js"
import type { Node } from "../../ir/schema.js"
import type { ToolError } from "../../tools/errors.js"

/** What a pre-run hook sees. */
export interface RunStart {
  readonly runId: string
  readonly programHash: string
  readonly inputs: Json
}

/** What a pre-node hook sees: the node about to run (and, for tool steps, its evaluated args). */
export interface NodeStart {
  readonly runId: string
  /** The canonical node path. */
  readonly node: string
  readonly kind: Node["kind"]
  readonly attempt?: number | undefined
  readonly tool?: string | undefined
  readonly args?: Json | undefined
}

/** What a post-node hook sees: the node that completed and its output. */
export interface NodeEnd extends NodeStart {
  readonly output: Json
}

/** The hooks of a run; each may fail with a `ToolError` to veto (stopping the run or node). */
export interface RunHooks {
  /** Before the first node runs. */
  readonly preRun?: ((run: RunStart) => Effect.Effect<void, ToolError>) | undefined
  /** Before each node runs. */
  readonly preNode?: ((node: NodeStart) => Effect.Effect<void, ToolError>) | undefined
  /** After each node completes, before its output is visible to its dependents. */
  readonly postNode?: ((node: NodeEnd) => Effect.Effect<void, ToolError>) | undefined
}

/** The hooks in force; none by default. */
export class Hooks extends Context.Reference<Hooks>()("trellis/Hooks", {
  defaultValue: (): RunHooks => ({})
}) {
  /** A layer installing `hooks` (compose several with {@link composeHooks}). */
  static readonly layer = (hooks: RunHooks): Layer.Layer<never> => Layer.succeed(Hooks, hooks)
}

/** Runs `a` then `b` (skipping `b` when `a` vetoes); keeps the one that is present when the other is not. */
const both = <X>(
  a: ((x: X) => Effect.Effect<void, ToolError>) | undefined,
  b: ((x: X) => Effect.Effect<void, ToolError>) | undefined
): ((x: X) => Effect.Effect<void, ToolError>) | undefined =>
  a === undefined ? b : b === undefined ? a : (x) => Effect.zipRight(a(x), b(x))

/** Composes two sets of hooks: for each hook, `a`'s runs first, and a veto by `a` skips `b`'s. Associative, with `{}` as identity. */
export const composeHooks = (a: RunHooks, b: RunHooks): RunHooks => {
  const preRun = both(a.preRun, b.preRun)
  const preNode = both(a.preNode, b.preNode)
  const postNode = both(a.postNode, b.postNode)
  return {
    ...(preRun === undefined ? {} : { preRun }),
    ...(preNode === undefined ? {} : { preNode }),
    ...(postNode === undefined ? {} : { postNode })
  }
}

/** True when no hook is set (the runtime can skip hook calls entirely). */
export const isEmptyHooks = (hooks: RunHooks): boolean =>
  hooks.preRun === undefined && hooks.preNode === undefined && hooks.postNode === undefined
