/**
 * The Policy service of `choose` steps (SPEC §4): bandits keyed by the
 * choose key, choosing by a strategy and learning from rewards posted later.
 * This is the in-memory layer; the durable one comes with the store.
 */
import { Context, Effect, Layer } from "effect"
import { applyFeedback, emptyState } from "./state.js"
import type { BanditState, BanditStrategy } from "./state.js"
import { chooseArm } from "./strategy.js"
import type { Choice } from "./strategy.js"

/** Bandit state per choose key: choices and feedback. */
export class PolicyStore extends Context.Tag("trellis/PolicyStore")<PolicyStore, {
  /** Chooses among `options` for `key` by `strategy` (uses Effect's `Random`: seeded runs choose reproducibly). */
  readonly choose: (key: string, options: ReadonlyArray<string>, strategy: BanditStrategy) => Effect.Effect<Choice>
  /** Records `reward` for `option` of `key` (the version grows by one; non-finite rewards are ignored). */
  readonly feedback: (key: string, option: string, reward: number) => Effect.Effect<void>
  /** The current state of `key` (empty, version 0, when it has none). */
  readonly snapshot: (key: string) => Effect.Effect<BanditState>
}>() {
  /** Bandit state in memory, for one process; a fresh one per layer build. */
  static readonly layerMemory: Layer.Layer<PolicyStore> = Layer.sync(PolicyStore, () => {
    const states = new Map<string, BanditState>()
    const stateOf = (key: string): BanditState => states.get(key) ?? emptyState(key)
    return PolicyStore.of({
      choose: (key, options, strategy) => Effect.suspend(() => chooseArm(stateOf(key), options, strategy)),
      feedback: (key, option, reward) =>
        Effect.sync(() => {
          const before = stateOf(key)
          const after = applyFeedback(before, option, reward)
          if (after !== before) states.set(key, after)
        }),
      snapshot: (key) => Effect.sync(() => stateOf(key))
    })
  })
}
