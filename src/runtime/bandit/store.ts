/**
 * The Policy service of `choose` steps (SPEC §4): bandits keyed by the
 * choose key within a scope, choosing by a strategy and learning from
 * rewards posted later. The scope is the running run's workspace
 * (`currentWorkspace`, `default` outside a durable run): one workspace's
 * feedback never moves another's choices, unless `sharedPolicy` is set
 * (a deliberate, configured choice: every workspace then shares scope `*`).
 * This is the in-memory layer; the durable one comes with the store.
 */
import { Context, Effect, FiberRef, Layer } from "effect"
import { globalValue } from "effect/GlobalValue"
import { currentWorkspace } from "../llm.js"
import { applyFeedback, emptyState } from "./state.js"
import type { BanditState, BanditStrategy } from "./state.js"
import { chooseArm } from "./strategy.js"
import type { Choice } from "./strategy.js"

/** Bandit state per choose key: choices and feedback. */
export class PolicyStore extends Context.Tag("trellis/PolicyStore")<PolicyStore, {
  /** Chooses among `options` for `key` by `strategy` (uses Effect's `Random`: seeded runs choose reproducibly). */
  readonly choose: (key: string, options: ReadonlyArray<string>, strategy: BanditStrategy) => Effect.Effect<Choice>
  /**
   * Records `reward` for `option` of `key` (the version grows by one; non-finite rewards are ignored). With the
   * `context` of the choice (LinUCB records it in `ChoiceMade`), the key's online LinUCB statistics learn it too.
   */
  readonly feedback: (
    key: string,
    option: string,
    reward: number,
    context?: ReadonlyArray<number>
  ) => Effect.Effect<void>
  /** The current state of `key` (empty, version 0, when it has none). */
  readonly snapshot: (key: string) => Effect.Effect<BanditState>
}>() {
  /** Bandit state in memory, for one process; a fresh one per layer build. */
  static readonly layerMemory: Layer.Layer<PolicyStore> = Layer.sync(PolicyStore, () => {
    const states = new Map<string, BanditState>()
    const stateOf = (scope: string, key: string): BanditState =>
      states.get(JSON.stringify([scope, key])) ?? emptyState(key)
    return PolicyStore.of({
      choose: (key, options, strategy) =>
        Effect.flatMap(policyScope, (scope) => chooseArm(stateOf(scope, key), options, strategy)),
      feedback: (key, option, reward, context) =>
        Effect.map(policyScope, (scope) => {
          const before = stateOf(scope, key)
          const after = applyFeedback(before, option, reward, context)
          if (after !== before) states.set(JSON.stringify([scope, key]), after)
        }),
      snapshot: (key) => Effect.map(policyScope, (scope) => stateOf(scope, key))
    })
  })
}

/** Whether bandit state is shared by every workspace (scope `*`) instead of kept per workspace. @default false */
export const sharedPolicy: FiberRef.FiberRef<boolean> = globalValue(
  "trellis/runtime/bandit/sharedPolicy",
  () => FiberRef.unsafeMake<boolean>(false)
)

/** The scope of bandit state now: `*` when shared, else the running run's workspace (`default` outside one). */
export const policyScope: Effect.Effect<string> = Effect.flatMap(
  FiberRef.get(sharedPolicy),
  (shared) => shared ? Effect.succeed("*") : Effect.map(FiberRef.get(currentWorkspace), (w) => w ?? "default")
)
