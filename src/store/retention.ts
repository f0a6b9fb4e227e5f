/**
 * Retention and compaction of stored runs (issue 21). A workspace's `retention` (in the config file) says which
 * ended runs are old enough to compact: older than `maxAgeDays`, or beyond its newest `keepRuns`, among the
 * `statuses` it names (default every ended status). Compacting a run keeps its record — status, output or
 * error, final state and summary — and its last `keepEvents` events, and drops the rest (noted in
 * `run_compactions`, migration `0009_compaction`). A run that can still continue (`running`, `waiting`) is
 * never compacted. A replay of a compacted run is refused plainly (its record no longer starts at seq 0).
 */
import { SqlClient } from "@effect/sql/SqlClient"
import { Effect, Schema } from "effect"
import { StoreError } from "../trace/errors.js"
import { storeOp } from "./failure.js"
import { insertRecords, LAST_SEQ_SQL, lockRun, pack } from "./history.js"
import type { Packable } from "./history.js"
import * as JsonText from "./jsonText.js"

const NonNegativeInt = Schema.Int.pipe(Schema.nonNegative())

/** Which ended runs of a workspace to compact, and how much of each to keep. */
export const RetentionPolicy = Schema.Struct({
  /** Compact runs created more than this many days ago. */
  maxAgeDays: Schema.optionalWith(Schema.Number.pipe(Schema.nonNegative()), { exact: true }),
  /** Compact runs beyond the newest this many (of the statuses below). */
  keepRuns: Schema.optionalWith(NonNegativeInt, { exact: true }),
  /** The statuses retention applies to. @default ["completed", "failed", "cancelled"] */
  statuses: Schema.optionalWith(Schema.Array(Schema.Literal("completed", "failed", "cancelled")), { exact: true }),
  /** The events kept at the end of a compacted run. @default 20 */
  keepEvents: Schema.optionalWith(NonNegativeInt, { exact: true })
})
export type RetentionPolicy = typeof RetentionPolicy.Type

/** The ended statuses retention applies to by default. */
export const ENDED = ["completed", "failed", "cancelled"] as const

/** The events kept at the end of a compacted run by default. */
export const DEFAULT_KEEP_EVENTS = 20

/** What compacting found (and dropped, unless it was a dry run). */
export interface CompactionReport {
  readonly runs: number
  readonly events: number
  readonly bytes: number
}

const DAY_MS = 86_400_000

/** The ended, not yet compacted runs of `workspace` that `policy` selects at `now` (oldest first). */
export const selectRuns = (
  workspace: string,
  policy: RetentionPolicy,
  now: number
): Effect.Effect<ReadonlyArray<string>, StoreError, SqlClient> =>
  Effect.gen(function*() {
    if (policy.maxAgeDays === undefined && policy.keepRuns === undefined) return []
    const sql = yield* SqlClient
    const statuses = (policy.statuses ?? ENDED).filter((s) => (ENDED as ReadonlyArray<string>).includes(s))
    if (statuses.length === 0) return []
    const cutoff = policy.maxAgeDays === undefined ? -1 : now - policy.maxAgeDays * DAY_MS
    const keep = policy.keepRuns ?? 2_147_483_647
    const rows = yield* sql.unsafe<{ readonly run_id: string }>(
      `SELECT run_id FROM (
         SELECT run_id, created_at, row_number() OVER (ORDER BY created_at DESC, run_id DESC) AS rank
         FROM runs WHERE workspace = $1 AND status = ANY($2::text[])
       ) ranked
       WHERE (created_at < $3 OR rank > $4)
         AND NOT EXISTS (SELECT 1 FROM run_compactions c WHERE c.run_id = ranked.run_id)
       ORDER BY created_at, run_id`,
      [workspace, `{${statuses.join(",")}}`, cutoff, keep]
    )
    return rows.map((r) => r.run_id)
  }).pipe((effect) => storeOp("select runs for retention", effect))

/**
 * Compacts one run: drops its events before the last `keepEvents` (counting them and their bytes), unless
 * `dryRun`. Fails with `StoreError` for an unknown run or one that can still continue.
 */
export const compactRun = (
  runId: string,
  options: { readonly keepEvents?: number; readonly dryRun?: boolean; readonly now: number }
): Effect.Effect<CompactionReport, StoreError, SqlClient> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient
    const keep = options.keepEvents ?? DEFAULT_KEEP_EVENTS
    const run = yield* storeOp(
      "compact run",
      sql.unsafe<{ readonly status: string; readonly workspace: string; readonly last: number | string | null }>(
        `SELECT status, workspace, ${LAST_SEQ_SQL} AS last FROM runs r WHERE run_id = $1`,
        [runId]
      )
    )
    const row = run[0]
    if (row === undefined) return yield* new StoreError({ operation: "compact run", message: `no run ${runId}` })
    if (!(ENDED as ReadonlyArray<string>).includes(row.status)) {
      return yield* new StoreError({
        operation: "compact run",
        message: `run ${runId} is ${row.status}: it can still continue, so it is not compacted`,
        permanent: true
      })
    }
    const keptFrom = Math.max(0, Number(row.last ?? -1) + 1 - keep)
    // The run's lock first (its records are read, then replaced), held until the transaction ends.
    if (options.dryRun !== true) yield* storeOp("compact run", lockRun(runId))
    // The events before `keptFrom`, and their bytes of JSON: whole records, the front of the record that straddles
    // `keptFrom`, and legacy rows.
    const counted = yield* storeOp(
      "compact run",
      sql.unsafe<{ readonly events: number | string; readonly bytes: number | string | null }>(
        `SELECT count(*) AS events, sum(bytes) AS bytes FROM (
           SELECT octet_length(e.value::text) AS bytes
           FROM run_history h CROSS JOIN LATERAL json_array_elements(h.body) AS e(value)
           WHERE h.run_id = $1 AND h.first_seq < $2 AND (e.value->>'seq')::int < $2
           UNION ALL
           SELECT octet_length(body::text) FROM run_event_rows WHERE run_id = $1 AND seq < $2
         ) dropped`,
        [runId, keptFrom]
      )
    )
    const events = Number(counted[0]?.events ?? 0)
    const bytes = Number(counted[0]?.bytes ?? 0)
    if (options.dryRun !== true && events > 0) {
      // Records are immutable: the one straddling `keptFrom` is stored again with its kept events only.
      yield* storeOp(
        "compact run",
        Effect.gen(function*() {
          yield* sql.unsafe(`DELETE FROM run_event_rows WHERE run_id = $1 AND seq < $2`, [runId, keptFrom])
          const removed = yield* sql.unsafe<{ readonly body: string }>(
            `DELETE FROM run_history WHERE run_id = $1 AND first_seq < $2 RETURNING body::text AS body`,
            [runId, keptFrom]
          )
          const kept: Array<Packable> = []
          for (const r of removed) {
            for (const e of JsonText.decode(r.body) as ReadonlyArray<Packable>) if (e.seq >= keptFrom) kept.push(e)
          }
          yield* insertRecords(pack(kept))
        })
      )
    }
    if (options.dryRun !== true && events > 0) {
      yield* storeOp(
        "compact run",
        sql.unsafe(
          `INSERT INTO run_compactions (run_id, workspace, compacted_at, kept_from_seq, dropped_events, dropped_bytes)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (run_id) DO UPDATE SET compacted_at = EXCLUDED.compacted_at,
             kept_from_seq = EXCLUDED.kept_from_seq,
             dropped_events = run_compactions.dropped_events + EXCLUDED.dropped_events,
             dropped_bytes = run_compactions.dropped_bytes + EXCLUDED.dropped_bytes`,
          [runId, row.workspace, options.now, keptFrom, events, bytes]
        )
      )
    }
    return { runs: events > 0 ? 1 : 0, events, bytes }
  }).pipe((effect) => sqlClientTransaction(effect))

const sqlClientTransaction = <A>(effect: Effect.Effect<A, StoreError, SqlClient>) =>
  Effect.flatMap(SqlClient, (sql) =>
    sql.withTransaction(effect).pipe(
      Effect.catchTag("SqlError", (e) => Effect.fail(new StoreError({ operation: "compact run", message: e.message })))
    ))

/** Applies each workspace's retention policy at `now`: the runs compacted (or that would be). */
export const applyRetention = (
  policies: ReadonlyArray<{ readonly workspace: string; readonly retention: RetentionPolicy }>,
  options: { readonly dryRun: boolean; readonly now: number; readonly workspace?: string | undefined }
): Effect.Effect<CompactionReport, StoreError, SqlClient> =>
  Effect.gen(function*() {
    let total: CompactionReport = { runs: 0, events: 0, bytes: 0 }
    for (const { retention, workspace } of policies) {
      if (options.workspace !== undefined && options.workspace !== workspace) continue
      for (const runId of yield* selectRuns(workspace, retention, options.now)) {
        const r = yield* compactRun(runId, {
          dryRun: options.dryRun,
          now: options.now,
          ...(retention.keepEvents === undefined ? {} : { keepEvents: retention.keepEvents })
        })
        total = { runs: total.runs + r.runs, events: total.events + r.events, bytes: total.bytes + r.bytes }
      }
    }
    return total
  })
