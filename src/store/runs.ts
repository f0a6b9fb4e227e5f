/**
 * `RunStore` over SQL (tables `runs` and `programs`; records and endings
 * are written by the store's writer, `groupCommit.ts`): the same semantics as
 * `RunStore.layerMemory` — programs kept once per hash, runs created
 * `running`, finished and reopened, read one by one or listed newest first
 * with filters and a cursor. JSON values travel as text cast to JSONB, and
 * `output` is read back as text, so a JSON `null` output stays distinct
 * from no output (SQL NULL).
 */
import { SqlClient } from "@effect/sql/SqlClient"
import { Clock, Effect, Layer, Option } from "effect"
import type { Json } from "../ir/eval.js"
import { cursorOf, pageSize, parseCursor, RunStore } from "../runtime/runStore.js"
import type { RunRecord, RunRecordError, RunRecordStatus } from "../runtime/runStore.js"
import { StoreError } from "../trace/errors.js"
import { storeOp } from "./failure.js"
import { GroupCommit } from "./groupCommit.js"
import * as JsonText from "./jsonText.js"

/** A row of `runs` as selected by `COLUMNS`. */
interface RunRow {
  readonly run_id: string
  readonly workspace: string
  readonly program_hash: string
  readonly program_name: string
  readonly status: RunRecordStatus
  readonly inputs: string
  readonly seed: number | string | null
  readonly options: string
  readonly created_at: number | string
  readonly updated_at: number | string
  readonly ended_at: number | string | null
  readonly output: string | null
  readonly error: string | null
  readonly state: string
}

const COLUMNS = `run_id, workspace, program_hash, program_name, status, inputs::text AS inputs, seed,
  options::text AS options, created_at, updated_at, ended_at, output::text AS output, error::text AS error,
  state::text AS state`

/** A JSON value as a query parameter (cast to JSONB in the statement). */
/** JSON text a JSONB column accepts (U+0000 and unpaired surrogates escaped, see `jsonText.ts`). */
const jsonText = (value: Json | RunRecordError): string => JsonText.encode(value)
const parse = (text: string): unknown => JsonText.decode(text)

const toRecord = (row: RunRow): RunRecord => {
  const error = row.error === null ? undefined : (parse(row.error) as RunRecordError)
  return {
    runId: row.run_id,
    workspace: row.workspace,
    programHash: row.program_hash,
    programName: row.program_name,
    status: row.status,
    inputs: parse(row.inputs) as Json,
    seed: row.seed === null ? null : Number(row.seed),
    options: parse(row.options) as Json,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    endedAt: row.ended_at === null ? null : Number(row.ended_at),
    ...(row.output === null ? {} : { output: parse(row.output) as Json }),
    ...(error === undefined ? {} : { error }),
    state: parse(row.state) as Json
  }
}

/** The SQL `RunStore` on the `SqlClient` in context. */
export const make: Effect.Effect<RunStore["Type"], never, SqlClient | GroupCommit> = Effect.gen(function*() {
  const sql = yield* SqlClient
  const writer = yield* GroupCommit

  const updated = (operation: string, runId: string) => (rows: ReadonlyArray<unknown>) =>
    rows.length === 0 ? Effect.fail(new StoreError({ operation, message: `no run ${runId}` })) : Effect.void

  const stored = new Set<string>()
  return RunStore.of({
    // Programs are immutable by hash: one this layer has stored needs no second round trip.
    putProgram: (hash, program) =>
      stored.has(hash) ? Effect.void : Effect.flatMap(Clock.currentTimeMillis, (now) =>
        storeOp(
          "put program",
          sql.unsafe(
            `INSERT INTO programs (hash, ir, created_at) VALUES ($1, $2::jsonb, $3) ON CONFLICT (hash) DO NOTHING`,
            [
              hash,
              jsonText(program),
              now
            ]
          )
        )).pipe(Effect.tap(() => Effect.sync(() => stored.add(hash))), Effect.asVoid),

    getProgram: (hash) =>
      storeOp(
        "get program",
        sql.unsafe<{ readonly ir: string }>(`SELECT ir::text AS ir FROM programs WHERE hash = $1`, [hash])
      ).pipe(
        Effect.map((rows) => (rows.length === 0 ? Option.none() : Option.some(parse(rows[0]!.ir) as Json)))
      ),

    // Run records and endings are committed by the store's writer, with the events and records of other runs.
    create: (run) => writer.submit({ _tag: "Create", run }),

    finish: (runId, ending) => writer.submit({ _tag: "Finish", runId, ending }),

    reopen: (runId, at) =>
      storeOp(
        "reopen run",
        sql.unsafe(
          `UPDATE runs SET status = 'running', updated_at = $2, ended_at = NULL, output = NULL, error = NULL
           WHERE run_id = $1 AND status IN ('running', 'waiting') RETURNING run_id`,
          [runId, at]
        )
      ).pipe(
        // An ended run stays ended: a resume that read the run before it ended (elsewhere) stops here.
        Effect.flatMap((rows) =>
          rows.length > 0 ? Effect.void : storeOp(
            "reopen run",
            sql.unsafe<{ readonly status: string }>(`SELECT status FROM runs WHERE run_id = $1`, [runId])
          ).pipe(Effect.flatMap((found) =>
            Effect.fail(
              new StoreError({
                operation: "reopen run",
                message: found.length === 0 ? `no run ${runId}` : `run ${runId} is ${found[0]!.status}`
              })
            )
          ))
        ),
        Effect.zipRight(storeOp("reopen run", sql.unsafe(`DELETE FROM run_timers WHERE run_id = $1`, [runId])))
      ),

    park: (runId, parking) =>
      storeOp(
        "park run",
        sql.withTransaction(Effect.gen(function*() {
          const rows = yield* sql.unsafe(
            `UPDATE runs SET status = 'waiting', updated_at = $2, state = $3::jsonb WHERE run_id = $1 RETURNING run_id`,
            [runId, parking.at, jsonText(parking.state)]
          )
          if (parking.wakeAt === null) yield* sql.unsafe(`DELETE FROM run_timers WHERE run_id = $1`, [runId])
          else {
            yield* sql.unsafe(
              `INSERT INTO run_timers (run_id, fire_at) VALUES ($1, $2)
               ON CONFLICT (run_id) DO UPDATE SET fire_at = EXCLUDED.fire_at`,
              [runId, parking.wakeAt]
            )
          }
          return rows
        }))
      ).pipe(Effect.flatMap(updated("park run", runId))),

    timers: () =>
      storeOp(
        "list timers",
        sql.unsafe<{ readonly run_id: string; readonly fire_at: number | string }>(
          `SELECT run_id, fire_at FROM run_timers ORDER BY fire_at`
        )
      ).pipe(Effect.map((rows) => rows.map((r) => ({ runId: r.run_id, fireAt: Number(r.fire_at) })))),

    get: (runId, workspace) =>
      storeOp(
        "get run",
        workspace === undefined
          ? sql.unsafe<RunRow>(`SELECT ${COLUMNS} FROM runs WHERE run_id = $1`, [runId])
          : sql.unsafe<RunRow>(`SELECT ${COLUMNS} FROM runs WHERE run_id = $1 AND workspace = $2`, [runId, workspace])
      ).pipe(Effect.map((rows) => (rows.length === 0 ? Option.none() : Option.some(toRecord(rows[0]!))))),

    list: (query) => {
      const size = pageSize(query)
      const where: Array<string> = []
      const params: Array<string | number> = []
      const param = (v: string | number): string => {
        params.push(v)
        return `$${params.length}`
      }
      if (query.workspace !== undefined) where.push(`workspace = ${param(query.workspace)}`)
      if (query.status !== undefined) where.push(`status = ${param(query.status)}`)
      if (query.programHash !== undefined) where.push(`program_hash = ${param(query.programHash)}`)
      const after = query.cursor === undefined ? undefined : parseCursor(query.cursor)
      if (after !== undefined) where.push(`(created_at, run_id) < (${param(after.createdAt)}, ${param(after.runId)})`)
      const text = `SELECT ${COLUMNS} FROM runs ${where.length === 0 ? "" : `WHERE ${where.join(" AND ")}`}
        ORDER BY created_at DESC, run_id DESC LIMIT ${param(size + 1)}`
      return storeOp("list runs", sql.unsafe<RunRow>(text, params)).pipe(
        Effect.map((rows) => {
          const runs = rows.slice(0, size).map(toRecord)
          return { runs, next: rows.length > size ? cursorOf(runs[runs.length - 1]!) : undefined }
        })
      )
    }
  })
})

/** `RunStore` on the `SqlClient` in context (schema from `migrations.ts`). */
export const layer: Layer.Layer<RunStore, never, SqlClient | GroupCommit> = Layer.effect(RunStore, make)
