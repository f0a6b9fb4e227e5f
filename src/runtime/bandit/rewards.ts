/**
 * The reward log of `choose` keys: every `Runtime.feedback(runId, key,
 * reward)` is recorded with its run, so the decisions a run made (its
 * `ChoiceMade` events) can be joined with the reward they earned for
 * off-policy evaluation later. Optional: `feedback` records when a
 * `RewardLog` is in context (the durable store provides one; `layerMemory`
 * is one in memory) and skips it otherwise.
 */
import { Clock, Context, Effect, Layer } from "effect"
import { policyScope } from "./store.js"

/** A reward posted for the choices of one run under one key. */
export interface RewardRecord {
  readonly runId: string
  readonly key: string
  readonly reward: number
  /** Milliseconds since the epoch (Effect's `Clock`). */
  readonly at: number
}

/** The rewards posted per run and key, within the bandit scope (`policyScope`). */
export class RewardLog extends Context.Tag("trellis/RewardLog")<RewardLog, {
  /** Records a finite `reward` for the choices of `runId` under `key` (a non-finite one is ignored). */
  readonly record: (runId: string, key: string, reward: number) => Effect.Effect<void>
  /** The rewards of `key` in the current scope posted at or after `since` (ms), oldest first. */
  readonly rewards: (key: string, since: number) => Effect.Effect<ReadonlyArray<RewardRecord>>
  /** The rewards posted for any of `runIds` (under any key) in the current scope, oldest first. */
  readonly ofRuns: (runIds: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<RewardRecord>>
}>() {
  /** A reward log in memory; a fresh one per layer build. */
  static readonly layerMemory: Layer.Layer<RewardLog> = Layer.sync(RewardLog, () => {
    const log: Array<RewardRecord & { readonly scope: string }> = []
    return RewardLog.of({
      record: (runId, key, reward) =>
        Number.isFinite(reward)
          ? Effect.zipWith(policyScope, Clock.currentTimeMillis, (scope, at) => {
            log.push({ scope, runId, key, reward, at })
          })
          : Effect.void,
      rewards: (key, since) =>
        Effect.map(
          policyScope,
          (scope) =>
            log.filter((r) => r.scope === scope && r.key === key && r.at >= since).map(({ scope: _, ...r }) => r)
        ),
      ofRuns: (runIds) =>
        Effect.map(policyScope, (scope) => {
          const wanted = new Set(runIds)
          return log.filter((r) => r.scope === scope && wanted.has(r.runId)).map(({ scope: _, ...r }) => r)
        })
    })
  })
}
