/**
 * `IdempotencyStore` over SQL (table `idempotency`): the recorded result of
 * each completed keyed call; the first record of a key wins (a second `put`
 * is ignored), so a resumed run finds what already happened. The service's
 * signature cannot fail: a SQL failure is retried briefly, then becomes a
 * defect with a clear message (the runtime reports it as `Defect`).
 */
import { SqlClient } from "@effect/sql/SqlClient"
import { Clock, Effect, Layer, Option } from "effect"
import type { Json } from "../ir/eval.js"
import { IdempotencyStore } from "../runtime/policy/idempotency.js"
import { orDieAfterRetries, storeOp } from "./failure.js"

/** The SQL `IdempotencyStore` on the `SqlClient` in context. */
export const make: Effect.Effect<IdempotencyStore["Type"], never, SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient
  return IdempotencyStore.of({
    get: (key) =>
      orDieAfterRetries(
        `reading idempotency record ${key}`,
        storeOp(
          "get idempotency record",
          sql.unsafe<{ readonly value: string }>(`SELECT value::text AS value FROM idempotency WHERE key = $1`, [key])
        )
      ).pipe(Effect.map((rows) => (rows.length === 0 ? Option.none() : Option.some(JSON.parse(rows[0]!.value) as Json)))),
    put: (key, value) =>
      orDieAfterRetries(
        `recording idempotency record ${key}`,
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          storeOp(
            "put idempotency record",
            sql.unsafe(
              `INSERT INTO idempotency (key, value, created_at) VALUES ($1, $2::jsonb, $3) ON CONFLICT (key) DO NOTHING`,
              [key, JSON.stringify(value), now]
            )
          ))
      ).pipe(Effect.asVoid)
  })
})

/** `IdempotencyStore` on the `SqlClient` in context (schema from `migrations.ts`). */
export const layer: Layer.Layer<IdempotencyStore, never, SqlClient> = Layer.effect(IdempotencyStore, make)
