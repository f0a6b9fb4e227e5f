/**
 * `PolicyStore` over SQL (table `bandit_states`, keyed by (scope, key): the
 * scope is the running run's workspace, or `*` when `sharedPolicy` is set —
 * see `runtime/bandit/store.ts`): `choose` reads a key's
 * state and picks with the pure strategy (`runtime/bandit/strategy.ts`,
 * Effect's `Random`: seeded runs choose reproducibly); `feedback` is a
 * read-modify-write in one transaction that locks the key's row
 * (`SELECT … FOR UPDATE`), so concurrent feedbacks — from this process or
 * another — never lose an update. The state is one JSONB value, LinUCB's
 * online statistics (`BanditState.linear`) included, so they change in the
 * same transaction as the rest of the key's state. The service's signature cannot fail: a
 * SQL failure is retried briefly, then becomes a defect with a clear message.
 */
import { SqlClient } from "@effect/sql/SqlClient"
import { Effect, Layer, Schema } from "effect"
import { applyFeedback, BanditState, emptyState } from "../runtime/bandit/state.js"
import { policyScope, PolicyStore } from "../runtime/bandit/store.js"
import { chooseArm } from "../runtime/bandit/strategy.js"
import { StoreError } from "../trace/errors.js"
import { orDieAfterRetries, storeOp, toStoreError } from "./failure.js"
import * as JsonText from "./jsonText.js"

const decodeState = (key: string, text: string): Effect.Effect<BanditState, StoreError> =>
  Effect.try({ try: () => JSON.parse(text) as unknown, catch: (e) => e }).pipe(
    Effect.flatMap(Schema.decodeUnknown(BanditState)),
    Effect.mapError((e) =>
      new StoreError({
        operation: "read bandit state",
        message: `the stored state of key "${key}" cannot be decoded: ${e instanceof Error ? e.message : String(e)}`
      })
    )
  )

/** The SQL `PolicyStore` on the `SqlClient` in context. */
export const make: Effect.Effect<PolicyStore["Type"], never, SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient

  const read = (scope: string, key: string, forUpdate: boolean): Effect.Effect<BanditState, StoreError> =>
    storeOp(
      "read bandit state",
      sql.unsafe<{ readonly state: string }>(
        `SELECT state::text AS state FROM bandit_states WHERE scope = $1 AND key = $2${forUpdate ? " FOR UPDATE" : ""}`,
        [scope, JsonText.encode(key)]
      )
    ).pipe(
      Effect.flatMap((
        rows
      ) => (rows.length === 0
        ? Effect.succeed(emptyState(key))
        : decodeState(key, JsonText.decodeText(rows[0]!.state)))
      )
    )

  const snapshot = (key: string): Effect.Effect<BanditState> =>
    Effect.flatMap(
      policyScope,
      (scope) => orDieAfterRetries(`reading the bandit state of "${key}"`, read(scope, key, false))
    )

  const feedback = (
    key: string,
    option: string,
    reward: number,
    context?: ReadonlyArray<number>
  ): Effect.Effect<void> => {
    if (!Number.isFinite(reward)) return Effect.void
    const update = Effect.gen(function*() {
      const scope = yield* policyScope
      // Make sure the row exists, so FOR UPDATE has a row to lock (concurrent inserts wait on the key).
      yield* storeOp(
        "record bandit feedback",
        sql.unsafe(
          `INSERT INTO bandit_states (scope, key, state, version) VALUES ($1, $2, $3::jsonb, 0) ON CONFLICT (scope, key) DO NOTHING`,
          [scope, JsonText.encode(key), JsonText.encode(emptyState(key))]
        )
      )
      const before = yield* read(scope, key, true)
      const after = applyFeedback(before, option, reward, context)
      yield* storeOp(
        "record bandit feedback",
        sql.unsafe(`UPDATE bandit_states SET state = $3::jsonb, version = $4 WHERE scope = $1 AND key = $2`, [
          scope,
          JsonText.encode(key),
          JsonText.encode(after),
          after.version
        ])
      )
    })
    return orDieAfterRetries(
      `recording feedback for "${key}"`,
      sql.withTransaction(update).pipe(
        Effect.mapError((e) => (e._tag === "StoreError" ? e : toStoreError("record bandit feedback")(e)))
      )
    )
  }

  return PolicyStore.of({
    choose: (key, options, strategy) => Effect.flatMap(snapshot(key), (state) => chooseArm(state, options, strategy)),
    feedback,
    snapshot
  })
})

/** `PolicyStore` on the `SqlClient` in context (schema from `migrations.ts`). */
export const layer: Layer.Layer<PolicyStore, never, SqlClient> = Layer.effect(PolicyStore, make)
