/**
 * `ScheduleStore`: the durable records of schedules (issue 18) and of their
 * fires. A schedule keeps its cron expression, its program (normalized IR,
 * by value), inputs, policies and the next time it is due, so a restarted
 * server picks up where the last one stopped; a fire records which
 * occurrence started which run (or why it did not). The SQL layer runs on
 * the store's client (tables of migration `0005_schedules`); `layerMemory`
 * has the same semantics for tests.
 */
import { SqlClient } from "@effect/sql/SqlClient"
import { Context, Effect, Layer, Option } from "effect"
import type { Json } from "../ir/eval.js"
import { StoreError } from "../trace/errors.js"
import { storeOp } from "./failure.js"
import * as JsonText from "./jsonText.js"

/** What happens to a fire while the previous fire's run is still going. */
export type OverlapPolicy = "skip" | "queue" | "allow"

/** What happens to the fires that fell due while no server was running. */
export interface MissedPolicy {
  readonly policy: "skip" | "run-once" | "catch-up"
  /** `catch-up` only: at most this many missed fires run. */
  readonly max?: number
}

/** One schedule. Times are milliseconds since the epoch (Effect's Clock). */
export interface ScheduleRecord {
  readonly scheduleId: string
  readonly workspace: string
  readonly cron: string
  readonly timezone: string
  /** The normalized program IR (JSON) each fire runs. */
  readonly program: Json
  readonly programHash: string
  readonly programName: string
  readonly inputs: Json
  readonly seed: number | null
  readonly overlap: OverlapPolicy
  readonly missed: MissedPolicy
  readonly paused: boolean
  /** When the schedule is next due (null: the expression has no later time). */
  readonly nextFireAt: number | null
  /** Occurrences waiting for the previous run to end (overlap `queue`), oldest first. */
  readonly pending: ReadonlyArray<number>
  readonly lastFireAt: number | null
  readonly lastRunId: string | null
  readonly createdAt: number
  readonly updatedAt: number
}

/** How one occurrence was handled. */
export type FireOutcome = "started" | "skipped" | "refused"

/** One fire: an occurrence of a schedule and what came of it. */
export interface FireRecord {
  readonly scheduleId: string
  readonly workspace: string
  /** The occurrence (the cron time). */
  readonly fireAt: number
  /** When the scheduler handled it. */
  readonly firedAt: number
  readonly outcome: FireOutcome
  readonly runId: string | null
  readonly message: string | null
}

/** The scheduler's state of a schedule after handling it, written with its fires in one transaction. */
export interface ScheduleAdvance {
  readonly nextFireAt: number | null
  readonly pending: ReadonlyArray<number>
  readonly lastFireAt: number | null
  readonly lastRunId: string | null
  readonly updatedAt: number
}

/** A page of a listing, newest first; `next` is the cursor of the following page. */
export interface Page<A> {
  readonly items: ReadonlyArray<A>
  readonly next: string | undefined
}

/** Schedules and their fires. */
export class ScheduleStore extends Context.Tag("trellis/ScheduleStore")<ScheduleStore, {
  readonly create: (schedule: ScheduleRecord) => Effect.Effect<void, StoreError>
  /** A schedule, only within `workspace` when given. */
  readonly get: (scheduleId: string, workspace?: string) => Effect.Effect<Option.Option<ScheduleRecord>, StoreError>
  /** A workspace's schedules (every workspace's without one), newest first; `cursor` is a previous page's `next`. */
  readonly list: (
    query: { readonly workspace?: string; readonly limit: number; readonly cursor?: string }
  ) => Effect.Effect<Page<ScheduleRecord>, StoreError>
  /** Deletes a schedule of `workspace` (its fires stay, so runs keep their link); false when there was none. */
  readonly remove: (scheduleId: string, workspace: string) => Effect.Effect<boolean, StoreError>
  /** Pauses or resumes a schedule of `workspace`, with its new next time; the updated record. */
  readonly setPaused: (
    scheduleId: string,
    workspace: string,
    paused: boolean,
    nextFireAt: number | null,
    at: number
  ) => Effect.Effect<Option.Option<ScheduleRecord>, StoreError>
  /** Schedules not paused that are due at `now` or hold pending fires, every workspace. */
  readonly due: (now: number) => Effect.Effect<ReadonlyArray<ScheduleRecord>, StoreError>
  /** The earliest next time of any schedule not paused, and whether any holds pending fires. */
  readonly nextDue: Effect.Effect<{ readonly at: number | null; readonly pending: boolean }, StoreError>
  /** Records the fires and the schedule's new state together (a deleted schedule keeps only the fires). */
  readonly advance: (
    scheduleId: string,
    state: ScheduleAdvance,
    fires: ReadonlyArray<FireRecord>
  ) => Effect.Effect<void, StoreError>
  /** The schedule that started each of these runs (runs of no schedule are absent). */
  readonly scheduleOfRuns: (runIds: ReadonlyArray<string>) => Effect.Effect<ReadonlyMap<string, string>, StoreError>
  /** The started fires of a schedule of `workspace`, newest first (cursor `<fireAt>:<runId>`). */
  readonly firesOf: (
    query: { readonly scheduleId: string; readonly workspace: string; readonly limit: number; readonly cursor?: string }
  ) => Effect.Effect<Page<FireRecord>, StoreError>
}>() {
  /** Schedules in memory (tests). */
  static readonly layerMemory: Layer.Layer<ScheduleStore> = Layer.sync(ScheduleStore, () => makeMemory())
  /** Schedules on the SQL client in context (migration `0005_schedules`). */
  static readonly layer: Layer.Layer<ScheduleStore, never, SqlClient> = Layer.effect(
    ScheduleStore,
    Effect.map(SqlClient, (sql) => makeSql(sql))
  )
}

/** A `<number>:<id>` cursor, or undefined when malformed (ignored, as the runs' cursor). */
const parseCursor = (cursor: string | undefined): { readonly at: number; readonly id: string } | undefined => {
  const m = cursor === undefined ? null : /^(\d{1,16}):([A-Za-z0-9_-]{1,128})$/.exec(cursor)
  return m === null ? undefined : { at: Number(m[1]), id: m[2]! }
}

const byNewest = <A>(at: (a: A) => number, id: (a: A) => string) => (a: A, b: A): number =>
  at(b) - at(a) || (id(b) < id(a) ? -1 : id(b) > id(a) ? 1 : 0)

const pageOf = <A>(
  all: ReadonlyArray<A>,
  at: (a: A) => number,
  id: (a: A) => string,
  limit: number,
  cursor: string | undefined
): Page<A> => {
  const after = parseCursor(cursor)
  const sorted = [...all].sort(byNewest(at, id)).filter((a) =>
    after === undefined || at(a) < after.at || (at(a) === after.at && id(a) < after.id)
  )
  const items = sorted.slice(0, limit)
  const last = items[items.length - 1]
  return { items, next: sorted.length > limit && last !== undefined ? `${at(last)}:${id(last)}` : undefined }
}

const isDue = (s: ScheduleRecord, now: number) =>
  !s.paused && ((s.nextFireAt !== null && s.nextFireAt <= now) || s.pending.length > 0)

const makeMemory = (): ScheduleStore["Type"] => {
  const schedules = new Map<string, ScheduleRecord>()
  const fires = new Map<string, FireRecord>()
  const owned = (id: string, workspace: string | undefined) => {
    const s = schedules.get(id)
    return s !== undefined && (workspace === undefined || s.workspace === workspace) ? s : undefined
  }
  return ScheduleStore.of({
    create: (s) =>
      Effect.suspend(() => {
        if (schedules.has(s.scheduleId)) {
          return Effect.fail(
            new StoreError({ operation: "create schedule", message: `schedule ${s.scheduleId} exists` })
          )
        }
        schedules.set(s.scheduleId, s)
        return Effect.void
      }),
    get: (id, workspace) => Effect.sync(() => Option.fromNullable(owned(id, workspace))),
    list: ({ cursor, limit, workspace }) =>
      Effect.sync(() =>
        pageOf(
          [...schedules.values()].filter((s) => workspace === undefined || s.workspace === workspace),
          (s) => s.createdAt,
          (s) => s.scheduleId,
          limit,
          cursor
        )
      ),
    remove: (id, workspace) => Effect.sync(() => owned(id, workspace) !== undefined && schedules.delete(id)),
    setPaused: (id, workspace, paused, nextFireAt, at) =>
      Effect.sync(() => {
        const s = owned(id, workspace)
        if (s === undefined) return Option.none()
        const updated: ScheduleRecord = { ...s, paused, nextFireAt, pending: paused ? [] : s.pending, updatedAt: at }
        schedules.set(id, updated)
        return Option.some(updated)
      }),
    due: (now) => Effect.sync(() => [...schedules.values()].filter((s) => isDue(s, now))),
    nextDue: Effect.sync(() => {
      let at: number | null = null
      let pending = false
      for (const s of schedules.values()) {
        if (s.paused) continue
        if (s.nextFireAt !== null && (at === null || s.nextFireAt < at)) at = s.nextFireAt
        if (s.pending.length > 0) pending = true
      }
      return { at, pending }
    }),
    advance: (id, state, list) =>
      Effect.sync(() => {
        for (const f of list) {
          const key = `${f.scheduleId}\u0000${f.fireAt}`
          if (!fires.has(key)) fires.set(key, f)
        }
        const s = schedules.get(id)
        if (s !== undefined) schedules.set(id, { ...s, ...state })
      }),
    scheduleOfRuns: (runIds) =>
      Effect.sync(() => {
        const wanted = new Set(runIds)
        const found = new Map<string, string>()
        for (const f of fires.values()) if (f.runId !== null && wanted.has(f.runId)) found.set(f.runId, f.scheduleId)
        return found
      }),
    firesOf: ({ cursor, limit, scheduleId, workspace }) =>
      Effect.sync(() =>
        pageOf(
          [...fires.values()].filter((f) =>
            f.scheduleId === scheduleId && f.workspace === workspace && f.outcome === "started" && f.runId !== null
          ),
          (f) => f.fireAt,
          (f) => f.runId ?? "",
          limit,
          cursor
        )
      )
  })
}

/** A row of `schedules` as selected by `COLUMNS`. */
interface ScheduleRow {
  readonly schedule_id: string
  readonly workspace: string
  readonly cron: string
  readonly timezone: string
  readonly program: string
  readonly program_hash: string
  readonly program_name: string
  readonly inputs: string
  readonly seed: number | string | null
  readonly overlap: OverlapPolicy
  readonly missed: string
  readonly paused: boolean
  readonly next_fire_at: number | string | null
  readonly pending: string
  readonly last_fire_at: number | string | null
  readonly last_run_id: string | null
  readonly created_at: number | string
  readonly updated_at: number | string
}

const COLUMNS = `schedule_id, workspace, cron, timezone, program::text AS program, program_hash, program_name,
  inputs::text AS inputs, seed, overlap, missed::text AS missed, paused, next_fire_at, pending::text AS pending,
  last_fire_at, last_run_id, created_at, updated_at`

const num = (v: number | string | null): number | null => (v === null ? null : Number(v))

const toRecord = (row: ScheduleRow): ScheduleRecord => ({
  scheduleId: row.schedule_id,
  workspace: row.workspace,
  cron: row.cron,
  timezone: row.timezone,
  program: JsonText.decode(row.program) as Json,
  programHash: row.program_hash,
  programName: row.program_name,
  inputs: JsonText.decode(row.inputs) as Json,
  seed: num(row.seed),
  overlap: row.overlap,
  missed: JsonText.decode(row.missed) as unknown as MissedPolicy,
  paused: row.paused,
  nextFireAt: num(row.next_fire_at),
  pending: JsonText.decode(row.pending) as ReadonlyArray<number>,
  lastFireAt: num(row.last_fire_at),
  lastRunId: row.last_run_id,
  createdAt: Number(row.created_at),
  updatedAt: Number(row.updated_at)
})

interface FireRow {
  readonly schedule_id: string
  readonly workspace: string
  readonly fire_at: number | string
  readonly fired_at: number | string
  readonly outcome: FireOutcome
  readonly run_id: string | null
  readonly message: string | null
}

const toFire = (row: FireRow): FireRecord => ({
  scheduleId: row.schedule_id,
  workspace: row.workspace,
  fireAt: Number(row.fire_at),
  firedAt: Number(row.fired_at),
  outcome: row.outcome,
  runId: row.run_id,
  message: row.message
})

const makeSql = (sql: SqlClient): ScheduleStore["Type"] => {
  const select = (where: string, params: ReadonlyArray<unknown>, op: string) =>
    storeOp(op, sql.unsafe<ScheduleRow>(`SELECT ${COLUMNS} FROM schedules WHERE ${where}`, params)).pipe(
      Effect.map((rows) => rows.map(toRecord))
    )
  return ScheduleStore.of({
    create: (s) =>
      storeOp(
        "create schedule",
        sql.unsafe(
          `INSERT INTO schedules (schedule_id, workspace, cron, timezone, program, program_hash, program_name, inputs,
             seed, overlap, missed, paused, next_fire_at, pending, last_fire_at, last_run_id, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8::jsonb, $9, $10, $11::jsonb, $12, $13, $14::jsonb, $15, $16,
             $17, $18)`,
          [
            s.scheduleId,
            s.workspace,
            s.cron,
            s.timezone,
            JsonText.encode(s.program),
            s.programHash,
            s.programName,
            JsonText.encode(s.inputs),
            s.seed,
            s.overlap,
            JSON.stringify(s.missed),
            s.paused,
            s.nextFireAt,
            JSON.stringify(s.pending),
            s.lastFireAt,
            s.lastRunId,
            s.createdAt,
            s.updatedAt
          ]
        )
      ).pipe(Effect.asVoid),
    get: (id, workspace) =>
      (workspace === undefined
        ? select("schedule_id = $1", [id], "get schedule")
        : select("schedule_id = $1 AND workspace = $2", [id, workspace], "get schedule")).pipe(
          Effect.map((rows) => Option.fromNullable(rows[0]))
        ),
    list: ({ cursor, limit, workspace }) => {
      const where: Array<string> = []
      const params: Array<unknown> = []
      const param = (v: unknown) => {
        params.push(v)
        return `$${params.length}`
      }
      if (workspace !== undefined) where.push(`workspace = ${param(workspace)}`)
      const after = parseCursor(cursor)
      if (after !== undefined) where.push(`(created_at, schedule_id) < (${param(after.at)}, ${param(after.id)})`)
      const text = `${where.length === 0 ? "TRUE" : where.join(" AND ")}
        ORDER BY created_at DESC, schedule_id DESC LIMIT ${param(limit + 1)}`
      return select(text, params, "list schedules").pipe(Effect.map((rows) => {
        const items = rows.slice(0, limit)
        const last = items[items.length - 1]
        return {
          items,
          next: rows.length > limit && last !== undefined ? `${last.createdAt}:${last.scheduleId}` : undefined
        }
      }))
    },
    remove: (id, workspace) =>
      storeOp(
        "delete schedule",
        sql.unsafe(`DELETE FROM schedules WHERE schedule_id = $1 AND workspace = $2 RETURNING schedule_id`, [
          id,
          workspace
        ])
      ).pipe(Effect.map((rows) => rows.length > 0)),
    setPaused: (id, workspace, paused, nextFireAt, at) =>
      storeOp(
        "pause schedule",
        sql.unsafe<ScheduleRow>(
          `UPDATE schedules SET paused = $3, next_fire_at = $4, updated_at = $5,
             pending = CASE WHEN $3 THEN '[]'::jsonb ELSE pending END
           WHERE schedule_id = $1 AND workspace = $2 RETURNING ${COLUMNS}`,
          [id, workspace, paused, nextFireAt, at]
        )
      ).pipe(Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), toRecord))),
    due: (now) =>
      select(
        `NOT paused AND ((next_fire_at IS NOT NULL AND next_fire_at <= $1) OR jsonb_array_length(pending) > 0)
         ORDER BY next_fire_at, schedule_id`,
        [now],
        "due schedules"
      ),
    nextDue: storeOp(
      "next due schedule",
      sql.unsafe<{ readonly at: number | string | null; readonly pending: boolean | null }>(
        `SELECT min(next_fire_at) AS at, bool_or(jsonb_array_length(pending) > 0) AS pending
         FROM schedules WHERE NOT paused`
      )
    ).pipe(Effect.map((rows) => ({ at: num(rows[0]?.at ?? null), pending: rows[0]?.pending === true }))),
    advance: (id, state, fires) =>
      storeOp(
        "advance schedule",
        sql.withTransaction(Effect.gen(function*() {
          for (const f of fires) {
            yield* sql.unsafe(
              `INSERT INTO schedule_fires (schedule_id, workspace, fire_at, fired_at, outcome, run_id, message)
               VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (schedule_id, fire_at) DO NOTHING`,
              [f.scheduleId, f.workspace, f.fireAt, f.firedAt, f.outcome, f.runId, f.message]
            )
          }
          yield* sql.unsafe(
            `UPDATE schedules SET next_fire_at = $2, pending = $3::jsonb, last_fire_at = $4, last_run_id = $5,
               updated_at = $6 WHERE schedule_id = $1`,
            [id, state.nextFireAt, JSON.stringify(state.pending), state.lastFireAt, state.lastRunId, state.updatedAt]
          )
        }))
      ),
    scheduleOfRuns: (runIds) =>
      runIds.length === 0
        ? Effect.succeed(new Map())
        : storeOp(
          "schedules of runs",
          sql.unsafe<{ readonly run_id: string; readonly schedule_id: string }>(
            `SELECT run_id, schedule_id FROM schedule_fires
             WHERE run_id IN (SELECT jsonb_array_elements_text($1::jsonb))`,
            [JSON.stringify(runIds)]
          )
        ).pipe(Effect.map((rows) => new Map(rows.map((r) => [r.run_id, r.schedule_id])))),
    firesOf: ({ cursor, limit, scheduleId, workspace }) => {
      const after = parseCursor(cursor)
      const params: Array<unknown> = [scheduleId, workspace, limit + 1]
      const where = after === undefined ? "" : "AND (fire_at, run_id) < ($4, $5)"
      if (after !== undefined) params.push(after.at, after.id)
      return storeOp(
        "fires of schedule",
        sql.unsafe<FireRow>(
          `SELECT schedule_id, workspace, fire_at, fired_at, outcome, run_id, message FROM schedule_fires
           WHERE schedule_id = $1 AND workspace = $2 AND outcome = 'started' AND run_id IS NOT NULL ${where}
           ORDER BY fire_at DESC, run_id DESC LIMIT $3`,
          params
        )
      ).pipe(Effect.map((rows) => {
        const items = rows.slice(0, limit).map(toFire)
        const last = items[items.length - 1]
        return { items, next: rows.length > limit && last !== undefined ? `${last.fireAt}:${last.runId}` : undefined }
      }))
    }
  })
}
