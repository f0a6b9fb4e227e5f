/**
 * The cluster's message storage keeps every message a run's entity was sent (`Execute`, `Wake`) and its reply,
 * processed or not: `@effect/cluster` deletes none of them, so on a busy cluster `cluster_messages` and
 * `cluster_replies` grow by a row or two per run forever. This collector deletes the processed messages (and their
 * replies) of runs that ended more than `graceMs` ago — the grace lets a submitter still read the `Execute` reply.
 *
 * A deleted `Execute` no longer deduplicates a second `Execute` of the same run: the entity answers that one from
 * the run's record (an ended run is never executed again), so nothing runs twice.
 *
 * It runs as a cluster singleton (one replica at a time), every `intervalMs`, at most `batch` messages per statement
 * until none is left.
 */
import { SqlClient } from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Clock, Duration, Effect, Schedule } from "effect"
import type { Scope } from "effect"
import { RUN_ENTITY_TYPE } from "./entity.js"
import type { ClusterRuns } from "./placement.js"

/** What one pass deleted. */
export interface MessageGcReport {
  readonly messages: number
  readonly replies: number
}

/** The table prefix of `@effect/cluster`'s SQL storage (its default, which `sharding.ts` keeps). */
const MESSAGES = "cluster_messages"
const REPLIES = "cluster_replies"

/** Deletes the processed messages and replies of runs ended before `now - graceMs`, `batch` at a time. */
export const collectMessages = (
  options: { readonly graceMs: number; readonly batch?: number }
): Effect.Effect<MessageGcReport, SqlError, SqlClient> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient
    const cutoff = (yield* Clock.currentTimeMillis) - options.graceMs
    const batch = options.batch ?? 5_000
    let messages = 0
    let replies = 0
    for (;;) {
      const rows = yield* sql<{ readonly messages: string; readonly replies: string }>`
        WITH done AS (
          SELECT m.id FROM ${sql(MESSAGES)} m JOIN runs r ON r.run_id = m.entity_id
          WHERE m.entity_type = ${RUN_ENTITY_TYPE} AND m.processed
            AND r.status IN ('completed', 'failed', 'cancelled') AND r.ended_at < ${cutoff}
          LIMIT ${batch}
        ), gone_replies AS (
          DELETE FROM ${sql(REPLIES)} WHERE request_id IN (SELECT id FROM done) RETURNING 1
        ), gone AS (
          DELETE FROM ${sql(MESSAGES)} WHERE id IN (SELECT id FROM done) RETURNING 1
        )
        SELECT (SELECT count(*) FROM gone) AS messages, (SELECT count(*) FROM gone_replies) AS replies`
      const m = Number(rows[0]?.messages ?? 0)
      messages += m
      replies += Number(rows[0]?.replies ?? 0)
      if (m < batch) return { messages, replies }
    }
  })

/** The collector as a cluster singleton, every `intervalMs` (nothing when it is 0). */
export const startMessageGc = (
  runs: ClusterRuns["Type"],
  options: { readonly intervalMs: number; readonly graceMs: number }
): Effect.Effect<void, never, SqlClient | Scope.Scope> =>
  Effect.gen(function*() {
    if (options.intervalMs <= 0) return
    const sql = yield* SqlClient
    const pass = collectMessages({ graceMs: options.graceMs }).pipe(
      Effect.tap((r) =>
        r.messages > 0
          ? Effect.logInfo(
            `cluster gc: deleted ${r.messages} processed messages and ${r.replies} replies of ended runs`
          )
          : Effect.void
      ),
      Effect.catchAll((e) => Effect.logWarning(`cluster gc: the pass failed: ${e.message}`)),
      Effect.provideService(SqlClient, sql)
    )
    yield* runs.singleton(
      "trellis/cluster-message-gc",
      Effect.repeat(pass, Schedule.spaced(Duration.millis(options.intervalMs))).pipe(
        Effect.delay(Duration.millis(options.intervalMs)),
        Effect.asVoid
      )
    )
  })
