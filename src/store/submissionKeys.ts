/**
 * `SubmissionKeys` over SQL (table `http_idempotency`, migration
 * `0010_http_idempotency`): the `Idempotency-Key`s of run submissions,
 * keyed by (workspace, key), with the body hash, the run id and the expiry.
 * A claim is one `INSERT … ON CONFLICT DO UPDATE … WHERE expired`, so two
 * replicas racing for one key agree on the first; one claim in 256 also
 * deletes expired records.
 */
import { SqlClient } from "@effect/sql/SqlClient"
import { Effect, Layer, Option } from "effect"
import { SubmissionKeys } from "../runtime/submissionKeys.js"
import type { Claim, SubmissionKey } from "../runtime/submissionKeys.js"
import { StoreError } from "../trace/errors.js"
import { storeOp } from "./failure.js"

/** The SQL `SubmissionKeys` on the `SqlClient` in context. */
export const make: Effect.Effect<SubmissionKeys["Type"], never, SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient
  let claims = 0
  const read = (workspace: string, key: string, now: number) =>
    storeOp(
      "read idempotency key",
      sql.unsafe<{ readonly body_hash: string; readonly run_id: string }>(
        `SELECT body_hash, run_id FROM http_idempotency WHERE workspace = $1 AND key = $2 AND expires_at > $3`,
        [workspace, key, now]
      )
    ).pipe(Effect.map((rows) =>
      rows.length === 0
        ? Option.none<SubmissionKey>()
        : Option.some({ bodyHash: rows[0]!.body_hash, runId: rows[0]!.run_id })
    ))
  const sweep = (now: number) =>
    storeOp("delete expired idempotency keys", sql.unsafe(`DELETE FROM http_idempotency WHERE expires_at <= $1`, [now]))
  return SubmissionKeys.of({
    get: read,
    claim: (workspace, key, record, now, ttlMs) => {
      const attempt = (left: number): Effect.Effect<Claim, StoreError> =>
        Effect.gen(function*() {
          const won = yield* storeOp(
            "claim idempotency key",
            sql.unsafe<{ readonly run_id: string }>(
              `INSERT INTO http_idempotency (workspace, key, body_hash, run_id, created_at, expires_at)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (workspace, key) DO UPDATE
                 SET body_hash = EXCLUDED.body_hash, run_id = EXCLUDED.run_id,
                     created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
                 WHERE http_idempotency.expires_at <= $5
               RETURNING run_id`,
              [workspace, key, record.bodyHash, record.runId, now, now + ttlMs]
            )
          )
          if (won.length > 0 && won[0]!.run_id === record.runId) return { _tag: "claimed" } satisfies Claim
          const held = yield* read(workspace, key, now)
          if (Option.isSome(held)) return { _tag: "held", record: held.value } satisfies Claim
          // The record we lost to was swept between the two statements: claim again.
          if (left > 0) return yield* attempt(left - 1)
          return yield* new StoreError({ operation: "claim idempotency key", message: `key ${key} kept changing` })
        })
      claims += 1
      return Effect.zipRight(claims % 256 === 0 ? sweep(now) : Effect.void, attempt(2))
    }
  })
})

/** `SubmissionKeys` on the `SqlClient` in context (schema from `migrations.ts`). */
export const layer: Layer.Layer<SubmissionKeys, never, SqlClient> = Layer.effect(SubmissionKeys, make)
