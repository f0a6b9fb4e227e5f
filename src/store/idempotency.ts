/**
 * `IdempotencyStore` over SQL (table `idempotency_records`): the recorded
 * result of each completed keyed call, keyed by (workspace, tool, key) and
 * bound to the hash of its arguments; the first record of a key wins (a
 * second `put` is ignored), so a resumed run finds what already happened,
 * and the same key with other arguments is a `Permanent` conflict. The
 * workspace is the running run's (`currentWorkspace`). A key is stored as
 * its escaped JSON text (a key may hold U+0000, which TEXT refuses). A SQL failure is
 * retried briefly, then becomes a defect with a clear message (the runtime
 * reports it as `Defect`).
 */
import { SqlClient } from "@effect/sql/SqlClient"
import { Clock, Effect, Layer, Option } from "effect"
import type { Json } from "../ir/eval.js"
import { conflict, IdempotencyStore, workspaceNow } from "../runtime/policy/idempotency.js"
import { orDieAfterRetries, storeOp } from "./failure.js"
import * as JsonText from "./jsonText.js"

/** The SQL `IdempotencyStore` on the `SqlClient` in context. */
export const make: Effect.Effect<IdempotencyStore["Type"], never, SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient
  return IdempotencyStore.of({
    get: (call) =>
      Effect.flatMap(workspaceNow, (workspace) =>
        orDieAfterRetries(
          `reading idempotency record ${call.key}`,
          storeOp(
            "get idempotency record",
            sql.unsafe<{ readonly value: string; readonly args_hash: string }>(
              `SELECT value::text AS value, args_hash FROM idempotency_records WHERE workspace = $1 AND tool = $2 AND key = $3`,
              [workspace, call.tool, JsonText.encode(call.key)]
            )
          )
        ).pipe(Effect.flatMap((rows) => {
          if (rows.length === 0) return Effect.succeedNone
          if (rows[0]!.args_hash !== call.argsHash) return Effect.fail(conflict(call))
          return Effect.succeed(Option.some(JsonText.decode(rows[0]!.value) as Json))
        }))),
    put: (call, value) =>
      Effect.flatMap(workspaceNow, (workspace) =>
        orDieAfterRetries(
          `recording idempotency record ${call.key}`,
          Effect.flatMap(Clock.currentTimeMillis, (now) =>
            storeOp(
              "put idempotency record",
              sql.unsafe(
                `INSERT INTO idempotency_records (workspace, tool, key, args_hash, value, created_at)
                 VALUES ($1, $2, $3, $4, $5::jsonb, $6) ON CONFLICT (workspace, tool, key) DO NOTHING`,
                [workspace, call.tool, JsonText.encode(call.key), call.argsHash, JsonText.encode(value), now]
              )
            ))
        ).pipe(Effect.asVoid))
  })
})

/** `IdempotencyStore` on the `SqlClient` in context (schema from `migrations.ts`). */
export const layer: Layer.Layer<IdempotencyStore, never, SqlClient> = Layer.effect(IdempotencyStore, make)
