/**
 * Eval runs (issue 19 item 2): every example is a normal durable run of
 * the program — run id `<evalId>-<index>` (index zero-padded), so it is
 * tagged with its eval and found again — and its result (status, output,
 * latency, cost, scores) is recorded in the `EvalStore`. Running the same
 * eval again (same id) skips the examples already recorded, resumes runs a
 * killed process left `running`, and reuses runs that ended but were not
 * scored. The eval id is a hash of the program, the dataset, the metrics
 * and the seed, unless the caller names one.
 */
import { Clock, Effect, Option } from "effect"
import { canonicalJson } from "../ir/canonical.js"
import type { Json } from "../ir/eval.js"
import { sha256Hex } from "../ir/hash.js"
import type { Program } from "../ir/schema.js"
import * as Durable from "../runtime/durable.js"
import type { DurableRequirements } from "../runtime/durable.js"
import { RunStore } from "../runtime/runStore.js"
import type { RunRecord } from "../runtime/runStore.js"
import { EvalStore } from "../store/evals.js"
import type { EvalRecord, EvalResult } from "../store/evals.js"
import type { Example } from "./dataset.js"
import { EvalError } from "./errors.js"
import type { Observation, Scorer } from "./metric.js"
import { makeReport } from "./report.js"
import type { EvalReport } from "./report.js"

/** What to evaluate. */
export interface EvalRequest {
  /** The program (normalized) and its hash. */
  readonly program: Program
  readonly programHash: string
  readonly examples: ReadonlyArray<Example>
  /** Where the examples came from, for the record. */
  readonly dataset: string
  /** The first is the primary metric. */
  readonly scorers: ReadonlyArray<Scorer>
  /** Examples run at once. @default 4 */
  readonly concurrency?: number
  /** Seed of every example's run (and of the bootstrap). @default unseeded runs, bootstrap seed 1 */
  readonly seed?: number
  /** @default "default" */
  readonly workspace?: string
  /** The eval id. @default `evalIdOf(...)` */
  readonly evalId?: string
  /** Called after each example is recorded. */
  readonly onProgress?: (done: number, total: number) => Effect.Effect<void>
  /** Called with each example's result as it is recorded (or found already recorded). */
  readonly onResult?: (result: EvalResult) => Effect.Effect<void>
  /**
   * Executes (`start`) or continues (`resume`) the run of one example, waiting until it stops; its outcome is read
   * from its record. @default `Durable.start` / `Durable.resume` in this fiber (a server passes its run manager's)
   */
  readonly execute?: (run: ExampleRun) => Effect.Effect<void, never, DurableRequirements>
}

/** The run of one example, as `EvalRequest.execute` receives it. */
export interface ExampleRun {
  readonly runId: string
  readonly example: Example
  readonly kind: "start" | "resume"
  readonly workspace: string
}

/** What `evaluate` needs. */
export type EvalRequirements = DurableRequirements | EvalStore

/** The deterministic id of an eval: `ev-` + 16 hex digits of the hash of what it evaluates. */
export const evalIdOf = (
  programHash: string,
  examples: ReadonlyArray<Example>,
  metrics: ReadonlyArray<string>,
  seed: number | undefined
): string => `ev-${sha256Hex(canonicalJson({ programHash, examples, metrics, seed: seed ?? null })).slice(0, 16)}`

/** The run id of the example at `index`. */
export const runIdOf = (evalId: string, index: number): string => `${evalId}-${String(index).padStart(5, "0")}`

const storeError = (e: { readonly message: string }) => new EvalError({ reason: "store", message: e.message })

/** Latency and cost of a finished run, from its record. */
const measures = (record: RunRecord): { readonly latencyMs: number | null; readonly cost: number | null } => {
  const state = record.state
  const cost = typeof state === "object" && state !== null && !Array.isArray(state)
    ? (state as { readonly cost?: unknown }).cost
    : undefined
  return {
    latencyMs: record.endedAt === null ? null : record.endedAt - record.createdAt,
    cost: typeof cost === "number" ? cost : null
  }
}

/** Runs (or resumes, or finds) the run of one example; what happened to it. */
const observe = (
  request: EvalRequest,
  example: Example,
  runId: string,
  workspace: string
): Effect.Effect<Observation, EvalError, DurableRequirements> =>
  Effect.gen(function*() {
    const store = yield* RunStore
    const known = yield* store.get(runId).pipe(Effect.mapError(storeError))
    const kind = Option.isNone(known)
      ? "start" as const
      : known.value.status === "running" || known.value.status === "waiting"
      ? "resume" as const
      : undefined
    const run = kind === undefined
      ? undefined
      : request.execute !== undefined
      ? Effect.as(request.execute({ runId, example, kind, workspace }), undefined)
      : kind === "start"
      ? Durable.start(request.program, example.inputs, {
        runId,
        workspace,
        ...(request.seed === undefined ? {} : { seed: request.seed })
      })
      : Durable.resume(runId)
    const early = run === undefined ? undefined : yield* Effect.either(run)
    const record = yield* store.get(runId).pipe(Effect.mapError(storeError))
    if (Option.isNone(record)) {
      // Refused before the run started (inputs that do not fit the program).
      const error = early !== undefined && early._tag === "Left"
        ? { kind: early.left.kind, message: early.left.message }
        : { kind: "NotFound", message: `no run ${runId}` }
      return { example, status: "failed", error, latencyMs: null, cost: null } satisfies Observation
    }
    const r = record.value
    const m = measures(r)
    const status = r.status === "running" ? "failed" : r.status
    return {
      example,
      status,
      ...(r.output === undefined ? {} : { output: r.output }),
      ...(r.error === undefined ? {} : { error: { kind: r.error.kind, message: r.error.message } }),
      latencyMs: m.latencyMs,
      cost: m.cost
    } satisfies Observation
  })

/** Scores one observation with every metric: a metric that fails scores null (counted, shown as 0). */
const scoreAll = (scorers: ReadonlyArray<Scorer>, o: Observation) =>
  Effect.forEach(scorers, (s) => Effect.orElseSucceed(s.score(o), () => null as number | null))

const exampleJson = (e: Example): Json => JSON.parse(JSON.stringify(e)) as Json

/** Runs an eval to the end (or continues one) and returns its report. */
export const evaluate = (request: EvalRequest): Effect.Effect<EvalReport, EvalError, EvalRequirements> =>
  Effect.gen(function*() {
    const evals = yield* EvalStore
    const metrics = request.scorers.map((s) => s.spec.text)
    if (metrics.length === 0) return yield* new EvalError({ reason: "metric", message: "no metric" })
    const evalId = request.evalId ?? evalIdOf(request.programHash, request.examples, metrics, request.seed)
    const workspace = request.workspace ?? "default"
    const now = yield* Clock.currentTimeMillis
    const entry = request.program.entry
    const record: EvalRecord = yield* evals.ensure({
      evalId,
      workspace,
      programHash: request.programHash,
      programName: entry,
      dataset: request.dataset,
      metrics,
      options: { concurrency: request.concurrency ?? 4, seed: request.seed ?? null },
      total: request.examples.length,
      status: "running",
      report: null,
      createdAt: now,
      updatedAt: now
    }).pipe(Effect.mapError(storeError))
    if (record.programHash !== request.programHash || record.total !== request.examples.length) {
      return yield* new EvalError({
        reason: "run",
        message: `eval ${evalId} exists for another program or dataset`,
        location: evalId
      })
    }
    const done = new Map((yield* evals.results(evalId).pipe(Effect.mapError(storeError))).map((r) => [r.exampleId, r]))
    let count = done.size
    const total = request.examples.length
    if (request.onResult !== undefined) { for (const r of done.values()) yield* request.onResult(r) }
    if (request.onProgress !== undefined) yield* request.onProgress(count, total)
    yield* Effect.forEach(
      request.examples.map((example, index) => ({ example, index })),
      ({ example, index }) =>
        done.has(example.id) ? Effect.void : Effect.gen(function*() {
          const runId = runIdOf(evalId, index)
          const o = yield* observe(request, example, runId, workspace)
          const scores = yield* scoreAll(request.scorers, o)
          const result: EvalResult = {
            exampleId: example.id,
            index,
            runId,
            example: exampleJson(example),
            status: o.status,
            output: o.output ?? null,
            error: o.error ?? null,
            latencyMs: o.latencyMs,
            cost: o.cost,
            scores,
            createdAt: yield* Clock.currentTimeMillis
          }
          yield* evals.putResult(evalId, result).pipe(Effect.mapError(storeError))
          count++
          if (request.onResult !== undefined) yield* request.onResult(result)
          if (request.onProgress !== undefined) yield* request.onProgress(count, total)
        }),
      { concurrency: Math.max(1, request.concurrency ?? 4), discard: true }
    )
    const results = yield* evals.results(evalId).pipe(Effect.mapError(storeError))
    const finished = { ...record, status: "completed" as const }
    const report = makeReport(finished, results, request.seed ?? 1)
    yield* evals.complete(evalId, report as unknown as Json, yield* Clock.currentTimeMillis).pipe(
      Effect.mapError(storeError)
    )
    return report
  })

/** The report of a stored eval (recomputed from its results). */
export const reportOf = (evalId: string, workspace?: string): Effect.Effect<EvalReport, EvalError, EvalStore> =>
  Effect.gen(function*() {
    const evals = yield* EvalStore
    const record = yield* evals.get(evalId, workspace).pipe(Effect.mapError(storeError))
    if (Option.isNone(record)) {
      return yield* new EvalError({ reason: "not-found", message: `no eval ${evalId}`, location: evalId })
    }
    const results = yield* evals.results(evalId).pipe(Effect.mapError(storeError))
    const options = record.value.options as { readonly seed?: number | null }
    return makeReport(record.value, results, options.seed ?? 1)
  })
