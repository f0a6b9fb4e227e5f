/**
 * `RunStore`: the records of runs and of the programs they ran (SPEC §5,
 * "Store"). A run record says which program (by hash) ran on which inputs
 * with which options, its status, and how it ended; the run's events live in
 * the `EventSink`/`EventLog`. Programs are kept by hash as their JSON IR, so
 * resuming or replaying a run uses the program it ran, never a newer one.
 * This module holds the interface and the in-memory layer; the SQL layer
 * (PGlite / PostgreSQL) lives in `store/`.
 */
import { Context, Effect, Layer, Option } from "effect"
import type { Json } from "../ir/eval.js"
import { StoreError } from "../trace/errors.js"

/** The status of a run. */
export type RunRecordStatus = "running" | "completed" | "failed" | "cancelled" | "waiting"

/** How a run ended badly: the same shape as `trellis run --json`'s `error`. */
export interface RunRecordError {
  readonly kind: string
  readonly message: string
  readonly node?: string
}

/** One run. Times are milliseconds since the epoch (from Effect's Clock). */
export interface RunRecord {
  readonly runId: string
  /** The workspace the run belongs to (`default` outside the server). */
  readonly workspace: string
  readonly programHash: string
  /** The entry program's name (for listings). */
  readonly programName: string
  readonly status: RunRecordStatus
  readonly inputs: Json
  readonly seed: number | null
  /**
   * The options the run was started with, as JSON (concurrency, limits,
   * budget, strategies): a resumed run uses them again.
   */
  readonly options: Json
  readonly createdAt: number
  readonly updatedAt: number
  readonly endedAt: number | null
  readonly output?: Json
  readonly error?: RunRecordError
  /** The run's state for display (the trace summary when it ended); JSONB in SQL. */
  readonly state: Json
}

/** A page of runs, newest first; `next` is the cursor of the following page. */
export interface RunPage {
  readonly runs: ReadonlyArray<RunRecord>
  readonly next: string | undefined
}

/** What `list` filters on. */
export interface RunQuery {
  readonly workspace?: string
  readonly status?: RunRecordStatus
  readonly programHash?: string
  /** At most this many runs (1..1000). @default 50 */
  readonly limit?: number
  /** The `next` cursor of a previous page. */
  readonly cursor?: string
}

/** How a run ended, to record with `finish`. */
export interface RunEnding {
  readonly status: Exclude<RunRecordStatus, "running" | "waiting">
  readonly endedAt: number
  readonly output?: Json
  readonly error?: RunRecordError
  readonly state: Json
}

/** Runs and programs, by id and hash. */
/** How a run is parked. */
export interface RunParking {
  readonly at: number
  readonly wakeAt: number | null
  readonly state: Json
}

/** When a parked run's timer fires. */
export interface RunTimer {
  readonly runId: string
  readonly fireAt: number
}

export class RunStore extends Context.Tag("trellis/RunStore")<RunStore, {
  /** Keeps a program's JSON IR under its hash (a second put of the same hash is a no-op). */
  readonly putProgram: (hash: string, program: Json) => Effect.Effect<void, StoreError>
  /** The JSON IR stored under `hash`. */
  readonly getProgram: (hash: string) => Effect.Effect<Option.Option<Json>, StoreError>
  /** Records a new run (status `running`); fails with `StoreError` when the id exists. */
  readonly create: (run: RunRecord) => Effect.Effect<void, StoreError>
  /** Records how a run ended (status, output or error, final state, end time). */
  readonly finish: (runId: string, ending: RunEnding) => Effect.Effect<void, StoreError>
  /**
   * Parks a run (SPEC §11): status `waiting`, its state, and its timer — the
   * earliest deadline of its waits (`wakeAt`, none when null).
   */
  readonly park: (runId: string, parking: RunParking) => Effect.Effect<void, StoreError>
  /** The timers of parked runs (run id and clock ms to wake it), earliest first. */
  readonly timers: () => Effect.Effect<ReadonlyArray<RunTimer>, StoreError>
  /** Marks a `running` or `waiting` run `running` (a resume starts), updating `updatedAt`; its timer goes. Fails on an ended run. */
  readonly reopen: (runId: string, at: number) => Effect.Effect<void, StoreError>
  /** One run; with `workspace`, only when the run belongs to it. */
  readonly get: (runId: string, workspace?: string) => Effect.Effect<Option.Option<RunRecord>, StoreError>
  /** Runs matching `query`, newest first (by `createdAt`, then id), paginated by cursor. */
  readonly list: (query: RunQuery) => Effect.Effect<RunPage, StoreError>
}>() {
  /** Runs and programs in memory, for one process; a fresh store per layer build. */
  static readonly layerMemory: Layer.Layer<RunStore> = Layer.sync(RunStore, () => makeMemory())
}

/** The newest-first order of runs. */
const compareRuns = (a: RunRecord, b: RunRecord): number =>
  b.createdAt - a.createdAt || (a.runId < b.runId ? 1 : a.runId > b.runId ? -1 : 0)

/** The cursor after `run` in newest-first order. */
export const cursorOf = (run: RunRecord): string => `${run.createdAt}:${run.runId}`

/** Parses a cursor; undefined when malformed. */
export const parseCursor = (cursor: string): { readonly createdAt: number; readonly runId: string } | undefined => {
  const i = cursor.indexOf(":")
  if (i <= 0) return undefined
  const createdAt = Number(cursor.slice(0, i))
  return Number.isFinite(createdAt) ? { createdAt, runId: cursor.slice(i + 1) } : undefined
}

/** The page size of a query, clamped to 1..1000. */
export const pageSize = (query: RunQuery): number => Math.max(1, Math.min(1000, Math.floor(query.limit ?? 50)))

const makeMemory = (): RunStore["Type"] => {
  const programs = new Map<string, Json>()
  const runs = new Map<string, RunRecord>()
  const timers = new Map<string, number>()
  const update = (runId: string, f: (r: RunRecord) => RunRecord, operation: string) =>
    Effect.suspend(() => {
      const r = runs.get(runId)
      if (r === undefined) return Effect.fail(new StoreError({ operation, message: `no run ${runId}` }))
      runs.set(runId, f(r))
      return Effect.void
    })
  return RunStore.of({
    putProgram: (hash, program) =>
      Effect.sync(() => {
        if (!programs.has(hash)) programs.set(hash, program)
      }),
    getProgram: (hash) => Effect.sync(() => Option.fromNullable(programs.get(hash))),
    create: (run) =>
      Effect.suspend(() => {
        if (runs.has(run.runId)) {
          return Effect.fail(new StoreError({ operation: "create run", message: `run ${run.runId} exists` }))
        }
        runs.set(run.runId, run)
        return Effect.void
      }),
    park: (runId, parking) =>
      Effect.zipRight(
        update(runId, (r) => ({ ...r, status: "waiting", updatedAt: parking.at, state: parking.state }), "park run"),
        Effect.sync(() => {
          if (parking.wakeAt === null) timers.delete(runId)
          else timers.set(runId, parking.wakeAt)
        })
      ),
    timers: () =>
      Effect.sync(() => [...timers].map(([runId, fireAt]) => ({ runId, fireAt })).sort((a, b) => a.fireAt - b.fireAt)),
    finish: (runId, ending) =>
      Effect.zipLeft(
        update(runId, (r) => {
          const { error: _e, output: _o, ...rest } = r
          return {
            ...rest,
            status: ending.status,
            endedAt: ending.endedAt,
            updatedAt: ending.endedAt,
            state: ending.state,
            ...(ending.output === undefined ? {} : { output: ending.output }),
            ...(ending.error === undefined ? {} : { error: ending.error })
          }
        }, "finish run"),
        Effect.sync(() => timers.delete(runId))
      ),
    reopen: (runId, at) =>
      Effect.zipLeft(
        Effect.suspend(() => {
          const status = runs.get(runId)?.status
          return status === undefined || status === "running" || status === "waiting"
            ? Effect.void
            : Effect.fail(new StoreError({ operation: "reopen run", message: `run ${runId} is ${status}` }))
        }).pipe(Effect.zipRight(update(runId, (r) => {
          const { error: _e, output: _o, ...rest } = r
          return { ...rest, status: "running", updatedAt: at, endedAt: null }
        }, "reopen run"))),
        Effect.sync(() => timers.delete(runId))
      ),
    get: (runId, workspace) =>
      Effect.sync(() => {
        const r = runs.get(runId)
        return r === undefined || (workspace !== undefined && r.workspace !== workspace)
          ? Option.none()
          : Option.some(r)
      }),
    list: (query) =>
      Effect.sync(() => {
        const size = pageSize(query)
        const after = query.cursor === undefined ? undefined : parseCursor(query.cursor)
        const all = [...runs.values()]
          .filter((r) =>
            (query.workspace === undefined || r.workspace === query.workspace) &&
            (query.status === undefined || r.status === query.status) &&
            (query.programHash === undefined || r.programHash === query.programHash) &&
            (after === undefined || r.createdAt < after.createdAt ||
              (r.createdAt === after.createdAt && r.runId < after.runId))
          )
          .sort(compareRuns)
        const page = all.slice(0, size)
        return { runs: page, next: all.length > size ? cursorOf(page[page.length - 1]!) : undefined }
      })
  })
}
