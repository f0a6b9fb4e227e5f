/**
 * Data migrations of stored runs (issue 21): a change to the stored events of every run (re-encoding
 * payloads, say) made online — the store stays in use — in batches of runs, resumable, with a dry run and a
 * verification pass. Schema migrations (`migrations.ts`) stay forward-only and automatic; a data migration is
 * run on purpose (`trellis migrate-data <name>`).
 *
 * How one runs: runs are visited in `run_id` order (byte order), `batch` at a time. Before a run is changed,
 * its check is recorded (`data_migration_checks`: its event count and the sha256 of the canonical JSON of the
 * fold of its events, payloads resolved); then each batch's changed events are rewritten (the history records
 * holding them are stored again with the new events in place: records are immutable, `history.ts`
 * `replaceEvents`) and the migration's cursor and counters move, in ONE transaction,
 * so a killed migration resumes after the last batch that committed and redoes nothing twice. When every run
 * is done, the verification pass folds each checked run again and compares count and hash: any mismatch
 * marks the migration `failed` and fails loudly, naming the runs.
 */
import { SqlClient } from "@effect/sql/SqlClient"
import { Clock, Effect, Schema } from "effect"
import { canonicalJson } from "../ir/canonical.js"
import type { StoreError } from "../trace/errors.js"
import type { RunEvent } from "../trace/events.js"
import { foldAll } from "../trace/fold.js"
import { BlobStore } from "./blobs.js"
import { resolve, sha256 } from "./claimCheck.js"
import { storedEvents } from "./events.js"
import { storeOp } from "./failure.js"
import { replaceEvents } from "./history.js"

/** What a migration does to one run's stored events. */
export interface RunChange {
  /** The events to store in place of those with the same seq (the others stay). */
  readonly events: ReadonlyArray<RunEvent>
  /** Bytes of the changed events' stored JSON before and after. */
  readonly bytesBefore: number
  readonly bytesAfter: number
}

/** A data migration: a name, what it does, and its change of one run (nothing when the run needs none). */
export interface DataMigration {
  readonly name: string
  readonly description: string
  /**
   * The change of a run, from its stored events (payloads as stored, references unresolved). With `write`
   * false (a dry run) it must not change anything; with `write` true it may store what the new events refer
   * to (blobs) before they are written.
   */
  readonly change: (
    events: ReadonlyArray<RunEvent>,
    write: boolean
  ) => Effect.Effect<RunChange | undefined, StoreError, SqlClient | BlobStore>
}

/** Why a data migration could not run, or did not verify. */
export class DataMigrationError extends Schema.TaggedError<DataMigrationError>()("DataMigrationError", {
  name: Schema.String,
  reason: Schema.Literal("Unknown", "Store", "Verification"),
  message: Schema.String
}) {}

/** What a migration found (dry run) or did. */
export interface MigrationReport {
  readonly name: string
  readonly dryRun: boolean
  /** Runs visited, and those changed (or that would be). */
  readonly runsVisited: number
  readonly runs: number
  readonly events: number
  readonly bytesBefore: number
  readonly bytesAfter: number
  /** Runs verified (count and fold equal before and after); 0 in a dry run. */
  readonly verified: number
  /** True when this invocation continued a migration a previous one left unfinished. */
  readonly resumed: boolean
}

/** Options of a migration. */
export interface MigrateOptions {
  /** Runs per batch (one transaction each). @default 100 */
  readonly batch?: number
  /** Report only; change nothing. @default false */
  readonly dryRun?: boolean
  /** Called after each committed batch (progress; a test kills the process here). */
  readonly onBatch?: (done: { readonly runs: number; readonly cursor: string }) => Effect.Effect<void>
}

/**
 * The check of a run: its event count and the hash of its folded state (payloads resolved) — of its first
 * `upTo` events when given (a run still going on appends more; what was there before is what is compared).
 */
export const checkOf = (
  runId: string,
  upTo?: number
): Effect.Effect<{ readonly events: number; readonly foldHash: string }, StoreError, SqlClient | BlobStore> =>
  Effect.gen(function*() {
    const blobs = yield* BlobStore
    const stored = yield* storedEvents(runId)
    const events = yield* resolve(upTo === undefined ? stored : stored.slice(0, upTo), blobs)
    return { events: events.length, foldHash: sha256(canonicalJson(foldAll(events))) }
  })

const op = (name: string) => (e: StoreError) =>
  new DataMigrationError({ name, reason: "Store", message: `${e.operation}: ${e.message}` })

interface Progress {
  readonly status: string
  readonly cursor: string | null
  readonly runs: number
  readonly events: number
  readonly bytes_before: number | string
  readonly bytes_after: number | string
}

/** Runs `migration` (or, with `dryRun`, reports what it would change). */
export const migrateData = (
  migration: DataMigration,
  options: MigrateOptions = {}
): Effect.Effect<MigrationReport, DataMigrationError, SqlClient | BlobStore> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient
    const name = migration.name
    const batch = Math.max(1, Math.floor(options.batch ?? 100))
    const dryRun = options.dryRun === true
    const now = yield* Clock.currentTimeMillis
    const prior = (yield* storeOp(
      "read data migration",
      sql.unsafe<Progress>(
        `SELECT status, cursor, runs, events, bytes_before, bytes_after FROM data_migrations WHERE name = $1`,
        [name]
      )
    ).pipe(Effect.mapError(op(name))))[0]
    const resumed = prior !== undefined && prior.status !== "done"
    if (!dryRun && prior === undefined) {
      yield* storeOp(
        "start data migration",
        sql.unsafe(
          `INSERT INTO data_migrations (name, status, started_at, updated_at) VALUES ($1, 'running', $2, $2)`,
          [name, now]
        )
      ).pipe(Effect.mapError(op(name)))
    }
    let cursor = dryRun || prior?.status === "done" ? null : prior?.cursor ?? null
    let totals = {
      runs: dryRun ? 0 : prior?.runs ?? 0,
      events: dryRun ? 0 : prior?.events ?? 0,
      bytesBefore: dryRun ? 0 : Number(prior?.bytes_before ?? 0),
      bytesAfter: dryRun ? 0 : Number(prior?.bytes_after ?? 0)
    }
    let visited = 0
    // A finished migration is only verified again; a failed one resumes (its cursor kept).
    const todo = dryRun || prior?.status !== "done" && prior?.status !== "verifying"
    while (todo) {
      const ids = (yield* storeOp(
        "list runs",
        sql.unsafe<{ readonly run_id: string }>(
          `SELECT run_id FROM runs WHERE ($1::text IS NULL OR run_id > $1) ORDER BY run_id LIMIT $2`,
          [cursor, batch]
        )
      ).pipe(Effect.mapError(op(name)))).map((r) => r.run_id)
      if (ids.length === 0) break
      const rewrites: Array<RunEvent> = []
      const changedRuns: Array<string> = []
      let batchTotals = { runs: 0, events: 0, bytesBefore: 0, bytesAfter: 0 }
      for (const runId of ids) {
        visited++
        const change = yield* Effect.flatMap(storedEvents(runId), (events) => migration.change(events, false)).pipe(
          Effect.mapError(op(name))
        )
        if (change === undefined || change.events.length === 0) continue
        if (!dryRun) {
          // The check first (kept if it was recorded by a run of the migration that was killed).
          const check = yield* checkOf(runId).pipe(Effect.mapError(op(name)))
          yield* storeOp(
            "record check",
            sql.unsafe(
              `INSERT INTO data_migration_checks (name, run_id, events, fold_hash) VALUES ($1, $2, $3, $4)
               ON CONFLICT (name, run_id) DO NOTHING`,
              [name, runId, check.events, check.foldHash]
            )
          ).pipe(Effect.mapError(op(name)))
          const written = yield* Effect.flatMap(storedEvents(runId), (events) => migration.change(events, true)).pipe(
            Effect.mapError(op(name))
          )
          if (written === undefined) continue
          for (const e of written.events) rewrites.push(e)
          changedRuns.push(runId)
        }
        batchTotals = {
          runs: batchTotals.runs + 1,
          events: batchTotals.events + change.events.length,
          bytesBefore: batchTotals.bytesBefore + change.bytesBefore,
          bytesAfter: batchTotals.bytesAfter + change.bytesAfter
        }
      }
      totals = {
        runs: totals.runs + batchTotals.runs,
        events: totals.events + batchTotals.events,
        bytesBefore: totals.bytesBefore + batchTotals.bytesBefore,
        bytesAfter: totals.bytesAfter + batchTotals.bytesAfter
      }
      cursor = ids[ids.length - 1]!
      if (!dryRun) {
        const at = yield* Clock.currentTimeMillis
        const next = cursor
        yield* sql.withTransaction(Effect.gen(function*() {
          // Each changed run's events replaced seq for seq, in run id order (the order of the runs' locks).
          for (const runId of changedRuns) {
            yield* replaceEvents(runId, rewrites.filter((e) => e.runId === runId))
          }
          yield* sql.unsafe(
            `UPDATE data_migrations SET cursor = $2, runs = $3, events = $4, bytes_before = $5, bytes_after = $6,
               updated_at = $7, status = 'running', message = NULL WHERE name = $1`,
            [name, next, totals.runs, totals.events, totals.bytesBefore, totals.bytesAfter, at]
          )
        })).pipe(
          Effect.mapError((e) =>
            new DataMigrationError({ name, reason: "Store", message: `rewrite batch: ${e.message}` })
          )
        )
        if (options.onBatch !== undefined) yield* options.onBatch({ runs: visited, cursor: next })
      }
    }
    const base = {
      name,
      dryRun,
      runsVisited: visited,
      runs: totals.runs,
      events: totals.events,
      bytesBefore: totals.bytesBefore,
      bytesAfter: totals.bytesAfter,
      resumed
    }
    if (dryRun) return { ...base, verified: 0 }
    const verified = yield* verify(name)
    return { ...base, verified }
  })

/**
 * The verification pass: every run the migration changed folds as it did before (same event count, same
 * hash of the folded state). Marks the migration `done`, or `failed` (and fails) naming the mismatches.
 */
export const verify = (name: string): Effect.Effect<number, DataMigrationError, SqlClient | BlobStore> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient
    const mark = (status: string, message: string | null) =>
      Effect.flatMap(Clock.currentTimeMillis, (at) =>
        storeOp(
          "mark data migration",
          sql.unsafe(`UPDATE data_migrations SET status = $2, message = $3, updated_at = $4 WHERE name = $1`, [
            name,
            status,
            message,
            at
          ])
        )).pipe(Effect.mapError(op(name)))
    yield* mark("verifying", null)
    const checks = yield* storeOp(
      "read checks",
      sql.unsafe<{ readonly run_id: string; readonly events: number; readonly fold_hash: string }>(
        `SELECT run_id, events, fold_hash FROM data_migration_checks WHERE name = $1 ORDER BY run_id`,
        [name]
      )
    ).pipe(Effect.mapError(op(name)))
    const mismatches: Array<string> = []
    for (const c of checks) {
      const now = yield* Effect.either(checkOf(c.run_id, c.events))
      if (now._tag === "Left") {
        mismatches.push(`run ${c.run_id}: cannot be read (${now.left.message})`)
        continue
      }
      if (now.right.events !== c.events) {
        mismatches.push(`run ${c.run_id}: ${c.events} events before, ${now.right.events} after`)
      } else if (now.right.foldHash !== c.fold_hash) {
        mismatches.push(
          `run ${c.run_id}: its folded state differs (${c.fold_hash} before, ${now.right.foldHash} after)`
        )
      }
    }
    if (mismatches.length > 0) {
      const message = `verification failed for ${mismatches.length} of ${checks.length} run(s): ${
        mismatches.slice(0, 10).join("; ")
      }${mismatches.length > 10 ? "; …" : ""}`
      yield* mark("failed", message)
      return yield* new DataMigrationError({ name, reason: "Verification", message })
    }
    yield* mark("done", null)
    return checks.length
  })

/** Fails with `Unknown` for a name not among `known`. */
export const find = (
  known: ReadonlyArray<DataMigration>,
  name: string
): Effect.Effect<DataMigration, DataMigrationError> => {
  const found = known.find((m) => m.name === name)
  return found === undefined
    ? Effect.fail(
      new DataMigrationError({
        name,
        reason: "Unknown",
        message: `no data migration "${name}"; known: ${known.map((m) => m.name).join(", ")}`
      })
    )
    : Effect.succeed(found)
}
