/**
 * Group commit: the store's one writer. Event appends, run creations and
 * run endings of every run in this process go to a queue; one writer fiber
 * takes what has queued up (at most `maxBatch` writes) and commits it as
 * ONE statement — three data-modifying CTEs over three JSON-array
 * parameters (runs to create, events to append as history records
 * (`history.ts`), runs that ended), so one
 * round trip and one transaction whatever the number of runs. Each write
 * is acknowledged (its `submit` succeeds) only after that commit.
 *
 * While a commit is in flight the next writes queue up, so batches grow
 * with the load by themselves; when the previous commit carried more than
 * one write, the writer also lingers up to `lingerMs` for more (a lone
 * writer — one run at a time — never waits). A group that fails is retried
 * write by write, each in its own statement, so one bad write (a repeated
 * `(run_id, seq)`, a value JSONB refuses) fails alone, with its own
 * message, and the others commit.
 *
 * Interruption: a submitted write is awaited until it is committed or
 * failed, even when the submitting fiber is interrupted meanwhile, so a
 * stopped run leaves no write behind that could land after another process
 * resumed it (a cluster's takeover).
 *
 * Ordering: a run's writes are submitted one after another (each awaits
 * its acknowledgement), so within a group no two writes depend on each
 * other (a run is created before its first events are submitted, and ends
 * after its earlier events committed). A run's ending may carry its last
 * events (`Finish` with `events`): both go in the same statement, so the
 * terminal event and the run's status commit together or not at all.
 */
import { SqlClient } from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type { ConfigError } from "effect"
import { Context, Deferred, Duration, Effect, Layer, Queue } from "effect"
import type { Json } from "../ir/eval.js"
import type { RunEnding, RunRecord } from "../runtime/runStore.js"
import { StoreError } from "../trace/errors.js"
import type { RunEvent } from "../trace/events.js"
import { describe, isUniqueViolation, toStoreError } from "./failure.js"
import { insertRecordsSql, pack, recordsJson } from "./history.js"
import type { RecordLimits } from "./history.js"
import * as JsonText from "./jsonText.js"
import * as Settings from "./settings.js"

/** One write. */
export type Write =
  | { readonly _tag: "Append"; readonly events: ReadonlyArray<RunEvent> }
  | { readonly _tag: "Create"; readonly run: RunRecord }
  | {
    readonly _tag: "Finish"
    readonly runId: string
    readonly ending: RunEnding
    /** The run's last events, committed with its ending (the same statement: one commit, atomic). */
    readonly events?: ReadonlyArray<RunEvent>
  }

/** Counters of the writer (the bench's breakdown reads them). */
export interface CommitStats {
  /** Statements committed (groups, plus the one-by-one retries of failed groups). */
  commits: number
  /** Writes acknowledged or failed. */
  writes: number
  /** Events among them. */
  events: number
  /** Total time spent in commit statements, ms. */
  commitMs: number
  /** Groups that failed and were retried write by write. */
  splitGroups: number
}

/** The writer. */
export class GroupCommit extends Context.Tag("trellis/store/GroupCommit")<GroupCommit, {
  /** Commits `write` with whatever else is queued; succeeds once committed. */
  readonly submit: (write: Write) => Effect.Effect<void, StoreError>
  readonly stats: CommitStats
}>() {}

/** Options of the writer (the environment's `TRELLIS_STORE_COMMIT_*` settings when not given). */
export interface GroupCommitOptions {
  /** How long a busy writer waits for more writes before committing. */
  readonly lingerMs?: number
  /** Most writes per commit. */
  readonly maxBatch?: number
  /** Bounds of a history record (`history.ts`). @default 1,000 events, 256 KiB */
  readonly records?: RecordLimits
}

interface Pending {
  readonly write: Write
  readonly done: Deferred.Deferred<void, StoreError>
}

const STATEMENT = `WITH created AS (
    INSERT INTO runs (run_id, workspace, program_hash, program_name, status, inputs, seed, options,
      created_at, updated_at, ended_at, output, error, state)
    SELECT r->>'runId', r->>'workspace', r->>'programHash', r->>'programName', r->>'status', r->'inputs',
      (r->>'seed')::float8, r->'options', (r->>'createdAt')::float8::bigint, (r->>'updatedAt')::float8::bigint,
      (r->>'endedAt')::float8::bigint, r->'output', r->'error', r->'state'
    FROM jsonb_array_elements($1::jsonb) AS r
    RETURNING 1
  ), appended AS (
    ${insertRecordsSql("$2")}
    RETURNING 1
  ), ended AS (
    UPDATE runs SET status = x->>'status', ended_at = (x->>'endedAt')::float8::bigint,
      updated_at = (x->>'endedAt')::float8::bigint, state = x->'state', output = x->'output', error = x->'error'
    FROM jsonb_array_elements($3::jsonb) AS x
    WHERE runs.run_id = x->>'runId'
    RETURNING runs.run_id
  ), untimed AS (
    -- An ended run has no timer left (a parked run's deadline, issue 18).
    DELETE FROM run_timers WHERE run_id IN (SELECT x->>'runId' FROM jsonb_array_elements($3::jsonb) AS x)
    RETURNING 1
  )
  SELECT (SELECT count(*) FROM created)::int AS created, (SELECT count(*) FROM appended)::int AS appended,
    COALESCE((SELECT json_agg(run_id) FROM ended), '[]')::text AS ended`

const describeBatch = (events: ReadonlyArray<RunEvent>): string => {
  const runs = new Set(events.map((e) => e.runId))
  if (runs.size !== 1) return `${events.length} event(s) of ${runs.size} runs`
  const seqs = events.map((e) => e.seq)
  return `${events.length} event(s) of run ${events[0]!.runId} (seq ${Math.min(...seqs)}..${Math.max(...seqs)})`
}

/** The error of one write that failed alone. */
const errorOf = (write: Write, e: SqlError): StoreError => {
  switch (write._tag) {
    case "Append": {
      const base = toStoreError("append events")(e)
      return new StoreError({
        operation: "append events",
        message: isUniqueViolation(e)
          ? `the batch of ${
            describeBatch(write.events)
          } was rejected whole, nothing from it stored: an event with the same (run_id, seq) is already stored or repeated in the batch — ${
            describe(e)
          }`
          : `the batch of ${describeBatch(write.events)} was not stored: ${describe(e)}`,
        ...(base.permanent === true ? { permanent: true } : {})
      })
    }
    case "Create":
      return isUniqueViolation(e)
        ? new StoreError({ operation: "create run", message: `run ${write.run.runId} exists` })
        : toStoreError("create run")(e)
    case "Finish":
      if (write.events === undefined || write.events.length === 0) return toStoreError("finish run")(e)
      return errorOf({ _tag: "Append", events: write.events }, e)
  }
}

/** A run ending as the statement reads it (`output`/`error` absent stay SQL NULL; a JSON null output stays JSON). */
const endingJson = (runId: string, ending: RunEnding): Json => ({
  runId,
  status: ending.status,
  endedAt: ending.endedAt,
  state: ending.state,
  ...(ending.output === undefined ? {} : { output: ending.output }),
  ...(ending.error === undefined ? {} : { error: ending.error as unknown as Json })
})

/** A run record as the statement reads it. */
const recordJson = (run: RunRecord): Json => ({
  runId: run.runId,
  workspace: run.workspace,
  programHash: run.programHash,
  programName: run.programName,
  status: run.status,
  inputs: run.inputs,
  seed: run.seed,
  options: run.options,
  createdAt: run.createdAt,
  updatedAt: run.updatedAt,
  endedAt: run.endedAt,
  state: run.state,
  ...(run.output === undefined ? {} : { output: run.output }),
  ...(run.error === undefined ? {} : { error: run.error as unknown as Json })
})

/** The writer on the `SqlClient` in context; its release commits nothing more and fails what is still queued. */
export const make = (options: GroupCommitOptions = {}) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient
    const setting = <A>(given: A | undefined, config: Effect.Effect<A, ConfigError.ConfigError>) =>
      given === undefined
        ? Effect.mapError(config, (e) => new StoreError({ operation: "open store", message: `invalid setting: ${e}` }))
        : Effect.succeed(given)
    const lingerMs = yield* setting(options.lingerMs, Settings.commitLingerMs)
    const maxBatch = Math.max(1, yield* setting(options.maxBatch, Settings.commitMaxBatch))
    const linger = Duration.millis(Math.max(0, lingerMs))
    const limits = options.records ?? {}
    const queue = yield* Queue.unbounded<Pending>()
    const stats: CommitStats = { commits: 0, writes: 0, events: 0, commitMs: 0, splitGroups: 0 }

    /** Commits `writes` in one statement; the runs among the endings that had no record. */
    const commit = (writes: ReadonlyArray<Write>) =>
      Effect.suspend(() => {
        const creates: Array<Json> = []
        const events: Array<RunEvent> = []
        const endings: Array<Json> = []
        for (const w of writes) {
          if (w._tag === "Create") creates.push(recordJson(w.run))
          else if (w._tag === "Append") { for (const e of w.events) events.push(e) }
          else {
            if (w.events !== undefined) { for (const e of w.events) events.push(e) }
            endings.push(endingJson(w.runId, w.ending))
          }
        }
        const t0 = performance.now()
        // The events as history records (`history.ts`), one or more per run. `JSON.stringify` of an event IS its
        // encoded form (test/store/encoding.test.ts checks every event type).
        return sql.unsafe<{ readonly ended: string }>(STATEMENT, [
          JsonText.encode(creates),
          recordsJson(pack(events, limits)),
          JsonText.encode(endings)
        ]).pipe(
          Effect.map((rows) => new Set(JSON.parse(rows[0]?.ended ?? "[]") as ReadonlyArray<string>)),
          Effect.ensuring(Effect.sync(() => {
            stats.commits++
            stats.commitMs += performance.now() - t0
          }))
        )
      })

    /** Settles one write of a committed group. */
    const settle = (p: Pending, ended: ReadonlySet<string>) => {
      stats.writes++
      if (p.write._tag !== "Create") stats.events += p.write.events?.length ?? 0
      if (p.write._tag === "Finish" && !ended.has(p.write.runId)) {
        return Deferred.fail(
          p.done,
          new StoreError({ operation: "finish run", message: `no run ${p.write.runId}` })
        )
      }
      return Deferred.succeed(p.done, undefined)
    }

    const commitGroup = (group: ReadonlyArray<Pending>) =>
      commit(group.map((p) => p.write)).pipe(
        Effect.flatMap((ended) => Effect.forEach(group, (p) => settle(p, ended), { discard: true })),
        Effect.catchAll(() =>
          // One write failed the group: each alone, so the failure stays with its write.
          Effect.zipRight(
            Effect.sync(() => void (group.length > 1 && stats.splitGroups++)),
            Effect.forEach(group, (p) =>
              commit([p.write]).pipe(
                Effect.flatMap((ended) => settle(p, ended)),
                Effect.catchAll((e) =>
                  Effect.zipRight(Effect.sync(() => void stats.writes++), Deferred.fail(p.done, errorOf(p.write, e)))
                )
              ), { discard: true })
          )
        ),
        Effect.uninterruptible
      )

    let lastSize = 0
    const closed = () => new StoreError({ operation: "commit", message: "the store is closing" })
    const loop = Effect.gen(function*() {
      const group = [yield* Queue.take(queue)]
      yield* Effect.gen(function*() {
        if (lastSize > 1 && Duration.toMillis(linger) > 0 && (yield* Queue.size(queue)) < maxBatch - 1) {
          yield* Effect.sleep(linger)
        }
        for (const p of yield* Queue.takeUpTo(queue, maxBatch - 1)) group.push(p)
        lastSize = group.length
        yield* commitGroup(group)
      }).pipe(
        // Stopped while lingering: the writes taken are failed, never left unanswered (their submitters wait).
        Effect.onInterrupt(() => Effect.forEach(group, (p) => Deferred.fail(p.done, closed()), { discard: true }))
      )
    }).pipe(Effect.forever)

    // Registered first, so it runs last: after the writer stopped (its commit in flight finished).
    yield* Effect.addFinalizer(() =>
      Effect.flatMap(Queue.takeAll(queue), (left) =>
        Effect.forEach(
          left,
          (p) => Deferred.fail(p.done, closed()),
          { discard: true }
        ))
    )
    yield* Effect.forkScoped(loop)

    // Once queued, a write is awaited even by an interrupted submitter: when a run's fiber has stopped, none of its
    // writes is still to land (in cluster mode another runner may resume the run from its log at once).
    const submit = (write: Write): Effect.Effect<void, StoreError> =>
      Effect.flatMap(Deferred.make<void, StoreError>(), (done) =>
        Effect.uninterruptible(Effect.zipRight(Queue.offer(queue, { write, done }), Deferred.await(done))))

    return GroupCommit.of({ submit, stats })
  })

/** The writer on the `SqlClient` in context. */
export const layer = (options: GroupCommitOptions = {}): Layer.Layer<GroupCommit, StoreError, SqlClient> =>
  Layer.scoped(GroupCommit, make(options))
