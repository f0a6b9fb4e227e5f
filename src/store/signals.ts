/**
 * The SQL `SignalInbox` (SPEC §11): signals in `run_signals`, keyed by
 * `(run_id, signal_id)` so a repeated signal is stored once; a wait claims
 * the oldest unclaimed signal of its name (or the one it claimed before,
 * when its run runs again after a crash or a wake). A signal sent through
 * this layer also rings the in-process doorbell, so a run waiting live in
 * this process hears it at once.
 */
import { SqlClient } from "@effect/sql/SqlClient"
import { Effect, Layer, Option } from "effect"
import type { Json } from "../ir/eval.js"
import { Doorbells, SignalInbox } from "../runtime/signals.js"
import type { SignalInboxService } from "../runtime/signals.js"
import { storeOp } from "./failure.js"
import * as JsonText from "./jsonText.js"

type SignalRow = { readonly signal_id: string; readonly payload: string }

/** The SQL inbox on the `SqlClient` in context. */
export const make: Effect.Effect<SignalInboxService, never, SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient
  const bells = new Doorbells()
  const toSignal = (row: SignalRow) => ({ signalId: row.signal_id, payload: JsonText.decode(row.payload) as Json })
  const claimOnce = (runId: string, name: string, path: string) =>
    storeOp(
      "claim signal",
      sql.unsafe<SignalRow>(
        `UPDATE run_signals SET claimed_by = $3
         WHERE run_id = $1 AND (claimed_by IS NULL OR claimed_by = $3) AND signal_id = (
           SELECT signal_id FROM run_signals
           WHERE run_id = $1 AND (claimed_by = $3 OR (claimed_by IS NULL AND name = $2))
           ORDER BY (claimed_by IS NULL), arrival LIMIT 1
         )
         RETURNING signal_id, payload::text AS payload`,
        [runId, name, path]
      )
    )
  return {
    send: (s) =>
      storeOp(
        "send signal",
        sql.unsafe<{ readonly signal_id: string }>(
          `INSERT INTO run_signals (run_id, signal_id, name, payload, received_at) VALUES ($1, $2, $3, $4::jsonb, $5)
           ON CONFLICT (run_id, signal_id) DO NOTHING RETURNING signal_id`,
          [s.runId, s.signalId, s.name, JsonText.encode(s.payload), s.at]
        )
      ).pipe(
        Effect.flatMap((rows) => rows.length === 0 ? Effect.succeed(false) : Effect.as(bells.ring(s.runId), true))
      ),
    claim: (runId, name, path) =>
      // Another process's wait may take the row between the pick and the update: look again (a few times).
      Effect.gen(function*() {
        for (let i = 0; i < 3; i++) {
          const rows = yield* claimOnce(runId, name, path)
          if (rows.length > 0) return Option.some(toSignal(rows[0]!))
          const left = yield* storeOp(
            "claim signal",
            sql.unsafe<{ readonly n: number | string }>(
              `SELECT count(*) AS n FROM run_signals WHERE run_id = $1 AND name = $2 AND claimed_by IS NULL`,
              [runId, name]
            )
          )
          if (Number(left[0]?.n ?? 0) === 0) break
        }
        return Option.none()
      }),
    listen: bells.listen
  }
})

/** `SignalInbox` on the `SqlClient` in context (schema from `migrations.ts`). */
export const layer: Layer.Layer<never, never, SqlClient> = Layer.effect(SignalInbox, make)
