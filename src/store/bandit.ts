/**
 * `PolicyStore` over SQL (table `bandit_state`): `choose` reads a key's
 * state and picks with the pure strategy (`runtime/bandit/strategy.ts`,
 * Effect's `Random`: seeded runs choose reproducibly); `feedback` is a
 * read-modify-write in one transaction that locks the key's row
 * (`SELECT … FOR UPDATE`), so concurrent feedbacks — from this process or
 * another — never lose an update. The service's signature cannot fail: a
 * SQL failure is retried briefly, then becomes a defect with a clear message.
 */
import { SqlClient } from "@effect/sql/SqlClient"
import { Effect, Layer, Schema } from "effect"
import { applyFeedback, BanditState, emptyState } from "../runtime/bandit/state.js"
import { PolicyStore } from "../runtime/bandit/store.js"
import { chooseArm } from "../runtime/bandit/strategy.js"
import { StoreError } from "../trace/errors.js"
import { orDieAfterRetries, storeOp, toStoreError } from "./failure.js"

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

  const read = (key: string, forUpdate: boolean): Effect.Effect<BanditState, StoreError> =>
    storeOp(
      "read bandit state",
      sql.unsafe<{ readonly state: string }>(
        `SELECT state::text AS state FROM bandit_state WHERE key = $1${forUpdate ? " FOR UPDATE" : ""}`,
        [key]
      )
    ).pipe(Effect.flatMap((rows) => (rows.length === 0 ? Effect.succeed(emptyState(key)) : decodeState(key, rows[0]!.state))))

  const snapshot = (key: string): Effect.Effect<BanditState> => orDieAfterRetries(`reading the bandit state of "${key}"`, read(key, false))

  const feedback = (key: string, option: string, reward: number): Effect.Effect<void> => {
    if (!Number.isFinite(reward)) return Effect.void
    const update = Effect.gen(function*() {
      // Make sure the row exists, so FOR UPDATE has a row to lock (concurrent inserts wait on the key).
      yield* storeOp(
        "record bandit feedback",
        sql.unsafe(`INSERT INTO bandit_state (key, state, version) VALUES ($1, $2::jsonb, 0) ON CONFLICT (key) DO NOTHING`, [
          key,
          JSON.stringify(emptyState(key))
        ])
      )
      const before = yield* read(key, true)
      const after = applyFeedback(before, option, reward)
      yield* storeOp(
        "record bandit feedback",
        sql.unsafe(`UPDATE bandit_state SET state = $2::jsonb, version = $3 WHERE key = $1`, [
          key,
          JSON.stringify(after),
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
