/**
 * `EvalStore` (issue 19): evaluations and the result of each example — the
 * durable run it was (by run id), its status, output or error, latency,
 * cost and metric scores — so a killed eval resumes without redoing the
 * examples already scored, and `eval compare` pairs results by example id.
 * The tag and the in-memory layer live here with the SQL layer (tables
 * `evals` and `eval_results`, migration `0007_evals`).
 */
import { SqlClient } from "@effect/sql/SqlClient"
import { Context, Effect, Layer, Option } from "effect"
import type { Json } from "../ir/eval.js"
import { StoreError } from "../trace/errors.js"
import { storeOp } from "./failure.js"
import * as JsonText from "./jsonText.js"

/** One evaluation. */
export interface EvalRecord {
  readonly evalId: string
  readonly workspace: string
  readonly programHash: string
  readonly programName: string
  /** Where the examples came from (a file name, or a description of a query). */
  readonly dataset: string
  /** The `--metric` texts, the first the primary metric. */
  readonly metrics: ReadonlyArray<string>
  /** Options (concurrency, seed) as JSON. */
  readonly options: Json
  /** The number of examples. */
  readonly total: number
  readonly status: "running" | "completed"
  /** The aggregate report once completed. */
  readonly report: Json | null
  readonly createdAt: number
  readonly updatedAt: number
}

/** The result of one example. */
export interface EvalResult {
  readonly exampleId: string
  /** Its position in the dataset. */
  readonly index: number
  readonly runId: string
  /** The example itself (inputs, expected, tags, baseline) as JSON. */
  readonly example: Json
  readonly status: string
  readonly output: Json | null
  readonly error: { readonly kind: string; readonly message: string } | null
  readonly latencyMs: number | null
  readonly cost: number | null
  /** One score per metric, in the eval's order; null where the metric failed for this example. */
  readonly scores: ReadonlyArray<number | null>
  readonly createdAt: number
}

export class EvalStore extends Context.Tag("trellis/EvalStore")<EvalStore, {
  /** Records an eval unless one with its id exists; the record now stored. */
  readonly ensure: (record: EvalRecord) => Effect.Effect<EvalRecord, StoreError>
  /** One eval; with `workspace`, only when it belongs to it. */
  readonly get: (evalId: string, workspace?: string) => Effect.Effect<Option.Option<EvalRecord>, StoreError>
  /** A workspace's evals, newest first (at most `limit`). */
  readonly list: (workspace: string, limit: number) => Effect.Effect<ReadonlyArray<EvalRecord>, StoreError>
  /** The results recorded so far, in dataset order. */
  readonly results: (evalId: string) => Effect.Effect<ReadonlyArray<EvalResult>, StoreError>
  /** Records (or replaces) one example's result. */
  readonly putResult: (evalId: string, result: EvalResult) => Effect.Effect<void, StoreError>
  /** Marks an eval completed with its report. */
  readonly complete: (evalId: string, report: Json, at: number) => Effect.Effect<void, StoreError>
  /** The eval a run belongs to, when it is an eval's example. */
  readonly evalOfRun: (runId: string) => Effect.Effect<Option.Option<string>, StoreError>
}>() {
  /** Evals in memory, for one process. */
  static readonly layerMemory: Layer.Layer<EvalStore> = Layer.sync(EvalStore, () => makeMemory())
}

const makeMemory = (): EvalStore["Type"] => {
  const evals = new Map<string, EvalRecord>()
  const results = new Map<string, Map<string, EvalResult>>()
  return {
    ensure: (record) =>
      Effect.sync(() => {
        const known = evals.get(record.evalId)
        if (known !== undefined) return known
        evals.set(record.evalId, record)
        return record
      }),
    get: (evalId, workspace) =>
      Effect.sync(() => {
        const r = evals.get(evalId)
        return r === undefined || (workspace !== undefined && r.workspace !== workspace)
          ? Option.none()
          : Option.some(r)
      }),
    list: (workspace, limit) =>
      Effect.sync(() =>
        [...evals.values()].filter((r) => r.workspace === workspace).sort((a, b) =>
          b.createdAt - a.createdAt || (a.evalId < b.evalId ? 1 : -1)
        ).slice(0, limit)
      ),
    results: (evalId) =>
      Effect.sync(() => [...(results.get(evalId)?.values() ?? [])].sort((a, b) => a.index - b.index)),
    putResult: (evalId, result) =>
      Effect.sync(() => {
        const m = results.get(evalId) ?? new Map<string, EvalResult>()
        m.set(result.exampleId, result)
        results.set(evalId, m)
      }),
    complete: (evalId, report, at) =>
      Effect.sync(() => {
        const r = evals.get(evalId)
        if (r !== undefined) evals.set(evalId, { ...r, status: "completed", report, updatedAt: at })
      }),
    evalOfRun: (runId) =>
      Effect.sync(() => {
        for (const [evalId, m] of results) for (const r of m.values()) if (r.runId === runId) return Option.some(evalId)
        return Option.none()
      })
  }
}

interface EvalRow {
  readonly eval_id: string
  readonly workspace: string
  readonly program_hash: string
  readonly program_name: string
  readonly dataset: string
  readonly metrics: string
  readonly options: string
  readonly total: number | string
  readonly status: "running" | "completed"
  readonly report: string | null
  readonly created_at: number | string
  readonly updated_at: number | string
}

interface ResultRow {
  readonly example_id: string
  readonly idx: number | string
  readonly run_id: string
  readonly example: string
  readonly status: string
  readonly output: string | null
  readonly error: string | null
  readonly latency_ms: number | string | null
  readonly cost: number | string | null
  readonly scores: string
  readonly created_at: number | string
}

const EVAL_COLUMNS = `eval_id, workspace, program_hash, program_name, dataset, metrics::text AS metrics,
  options::text AS options, total, status, report::text AS report, created_at, updated_at`

const RESULT_COLUMNS = `example_id, idx, run_id, example::text AS example, status, output::text AS output,
  error::text AS error, latency_ms, cost, scores::text AS scores, created_at`

const num = (v: number | string | null): number | null => (v === null ? null : Number(v))

const toEval = (row: EvalRow): EvalRecord => ({
  evalId: row.eval_id,
  workspace: row.workspace,
  programHash: row.program_hash,
  programName: row.program_name,
  dataset: row.dataset,
  metrics: JsonText.decode(row.metrics) as ReadonlyArray<string>,
  options: JsonText.decode(row.options) as Json,
  total: Number(row.total),
  status: row.status,
  report: row.report === null ? null : (JsonText.decode(row.report) as Json),
  createdAt: Number(row.created_at),
  updatedAt: Number(row.updated_at)
})

const toResult = (row: ResultRow): EvalResult => ({
  exampleId: row.example_id,
  index: Number(row.idx),
  runId: row.run_id,
  example: JsonText.decode(row.example) as Json,
  status: row.status,
  output: row.output === null ? null : (JsonText.decode(row.output) as Json),
  error: row.error === null ? null : (JsonText.decode(row.error) as EvalResult["error"]),
  latencyMs: num(row.latency_ms),
  cost: num(row.cost),
  scores: JsonText.decode(row.scores) as ReadonlyArray<number | null>,
  createdAt: Number(row.created_at)
})

/** The SQL `EvalStore` on the `SqlClient` in context (schema from `migrations.ts`, `0007_evals`). */
export const make: Effect.Effect<EvalStore["Type"], never, SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient
  const getOne = (evalId: string) =>
    storeOp("get eval", sql.unsafe<EvalRow>(`SELECT ${EVAL_COLUMNS} FROM evals WHERE eval_id = $1`, [evalId]))
  return EvalStore.of({
    ensure: (r) =>
      Effect.gen(function*() {
        yield* storeOp(
          "create eval",
          sql.unsafe(
            `INSERT INTO evals (eval_id, workspace, program_hash, program_name, dataset, metrics, options, total, status,
               report, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8, $9, $10::jsonb, $11, $12)
             ON CONFLICT (eval_id) DO NOTHING`,
            [
              r.evalId,
              r.workspace,
              r.programHash,
              r.programName,
              r.dataset,
              JsonText.encode(r.metrics),
              JsonText.encode(r.options),
              r.total,
              r.status,
              r.report === null ? null : JsonText.encode(r.report),
              r.createdAt,
              r.updatedAt
            ]
          )
        )
        const rows = yield* getOne(r.evalId)
        if (rows[0] === undefined) {
          return yield* new StoreError({ operation: "create eval", message: `eval ${r.evalId} vanished` })
        }
        return toEval(rows[0])
      }),
    get: (evalId, workspace) =>
      Effect.map(getOne(evalId), (rows) => {
        const row = rows[0]
        return row === undefined || (workspace !== undefined && row.workspace !== workspace)
          ? Option.none()
          : Option.some(toEval(row))
      }),
    list: (workspace, limit) =>
      Effect.map(
        storeOp(
          "list evals",
          sql.unsafe<EvalRow>(
            `SELECT ${EVAL_COLUMNS} FROM evals WHERE workspace = $1 ORDER BY created_at DESC, eval_id DESC LIMIT $2`,
            [workspace, limit]
          )
        ),
        (rows) => rows.map(toEval)
      ),
    results: (evalId) =>
      Effect.map(
        storeOp(
          "list eval results",
          sql.unsafe<ResultRow>(`SELECT ${RESULT_COLUMNS} FROM eval_results WHERE eval_id = $1 ORDER BY idx`, [evalId])
        ),
        (rows) => rows.map(toResult)
      ),
    putResult: (evalId, r) =>
      storeOp(
        "record eval result",
        sql.unsafe(
          `INSERT INTO eval_results (eval_id, example_id, idx, run_id, example, status, output, error, latency_ms, cost,
             scores, created_at)
           VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7::jsonb, $8::jsonb, $9, $10, $11::jsonb, $12)
           ON CONFLICT (eval_id, example_id) DO UPDATE SET idx = EXCLUDED.idx, run_id = EXCLUDED.run_id,
             example = EXCLUDED.example, status = EXCLUDED.status, output = EXCLUDED.output, error = EXCLUDED.error,
             latency_ms = EXCLUDED.latency_ms, cost = EXCLUDED.cost, scores = EXCLUDED.scores`,
          [
            evalId,
            r.exampleId,
            r.index,
            r.runId,
            JsonText.encode(r.example),
            r.status,
            r.output === null ? null : JsonText.encode(r.output),
            r.error === null ? null : JsonText.encode(r.error),
            r.latencyMs,
            r.cost,
            JsonText.encode(r.scores as Json),
            r.createdAt
          ]
        )
      ).pipe(Effect.asVoid),
    complete: (evalId, report, at) =>
      storeOp(
        "complete eval",
        sql.unsafe(`UPDATE evals SET status = 'completed', report = $2::jsonb, updated_at = $3 WHERE eval_id = $1`, [
          evalId,
          JsonText.encode(report),
          at
        ])
      ).pipe(Effect.asVoid),
    evalOfRun: (runId) =>
      Effect.map(
        storeOp(
          "find eval of run",
          sql.unsafe<{ readonly eval_id: string }>(`SELECT eval_id FROM eval_results WHERE run_id = $1 LIMIT 1`, [
            runId
          ])
        ),
        (rows) => (rows[0] === undefined ? Option.none() : Option.some(rows[0].eval_id))
      )
  })
})

/** `EvalStore` on the `SqlClient` in context. */
export const layer: Layer.Layer<EvalStore, never, SqlClient> = Layer.effect(EvalStore, make)
