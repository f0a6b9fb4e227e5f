/**
 * `RewardLog` over SQL (table `bandit_rewards`, migration
 * `0006_bandit_rewards`): one row per reward posted for a run's choices
 * under a key, in the bandit scope (the workspace, or `*` when shared), and
 * the logged decisions of a key for off-policy evaluation — its
 * `ChoiceMade` events joined with the rewards of their runs. Like the
 * `PolicyStore`, recording cannot fail: a SQL failure is retried briefly,
 * then becomes a defect with a clear message.
 */
import { SqlClient } from "@effect/sql/SqlClient"
import { Clock, Effect, Layer } from "effect"
import { RewardLog } from "../runtime/bandit/rewards.js"
import { policyScope } from "../runtime/bandit/store.js"
import { orDieAfterRetries, storeOp } from "./failure.js"
import * as JsonText from "./jsonText.js"

/** Run ids per statement of `ofRuns`. */
const RUN_BATCH = 500

/** The SQL `RewardLog` on the `SqlClient` in context. */
export const make: Effect.Effect<RewardLog["Type"], never, SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient
  return RewardLog.of({
    record: (runId, key, reward) =>
      Number.isFinite(reward)
        ? Effect.gen(function*() {
          const scope = yield* policyScope
          const at = yield* Clock.currentTimeMillis
          yield* orDieAfterRetries(
            `recording the reward of run ${runId} for "${key}"`,
            storeOp(
              "record bandit reward",
              sql.unsafe(
                `INSERT INTO bandit_rewards (scope, key, run_id, reward, at) VALUES ($1, $2, $3, $4, $5)`,
                [scope, JsonText.encodeText(JSON.stringify(key)), runId, reward, at]
              )
            )
          )
        })
        : Effect.void,
    rewards: (key, since) =>
      Effect.gen(function*() {
        const scope = yield* policyScope
        const rows = yield* orDieAfterRetries(
          `reading the rewards of "${key}"`,
          storeOp(
            "read bandit rewards",
            sql.unsafe<{ readonly run_id: string; readonly reward: number; readonly at: number | string }>(
              `SELECT run_id, reward, at FROM bandit_rewards WHERE scope = $1 AND key = $2 AND at >= $3 ORDER BY arrival`,
              [scope, JsonText.encodeText(JSON.stringify(key)), since]
            )
          )
        )
        return rows.map((r) => ({ runId: r.run_id, key, reward: Number(r.reward), at: Number(r.at) }))
      }),
    ofRuns: (runIds) =>
      Effect.gen(function*() {
        const scope = yield* policyScope
        const out: Array<{ runId: string; key: string; reward: number; at: number }> = []
        // Batches of run ids (one placeholder each) keep every statement's parameter list small.
        for (let i = 0; i < runIds.length; i += RUN_BATCH) {
          const batch = runIds.slice(i, i + RUN_BATCH)
          const rows = yield* orDieAfterRetries(
            `reading the rewards of ${batch.length} run(s)`,
            storeOp(
              "read run rewards",
              sql.unsafe<
                { readonly run_id: string; readonly key: string; readonly reward: number; readonly at: number | string }
              >(
                `SELECT run_id, key, reward, at FROM bandit_rewards WHERE scope = $1 AND run_id IN (${
                  batch.map((_, j) => `$${j + 2}`).join(", ")
                }) ORDER BY arrival`,
                [scope, ...batch]
              )
            )
          )
          for (const r of rows) {
            out.push({
              runId: r.run_id,
              key: String(JsonText.decode(r.key)),
              reward: Number(r.reward),
              at: Number(r.at)
            })
          }
        }
        return out
      })
  })
})

/** `RewardLog` on the `SqlClient` in context (schema from `migrations.ts`). */
export const layer: Layer.Layer<RewardLog, never, SqlClient> = Layer.effect(RewardLog, make)
