/**
 * Handlers of the eval endpoints (`api/evals.ts`). An eval runs in this
 * server as `evaluate` (`eval/runner.ts`) on a background fiber (`EvalJobs`);
 * each example is an ordinary durable run of the caller's workspace executed
 * by the `RunManager` (its slots, its drain; a run the manager already holds,
 * such as one resumed at start, is joined, never run twice). The eval id is
 * a hash of the workspace, the program, the dataset, the metrics and the
 * seed, so the same body again names the same eval and continues it.
 * Metrics that read files or load code on the server are refused.
 */
import { HttpApiBuilder } from "@effect/platform"
import * as FileSystem from "@effect/platform/FileSystem"
import { Clock, Effect, Either, Option } from "effect"
import { parseExamples } from "../../eval/dataset.js"
import type { Example } from "../../eval/dataset.js"
import { EvalError } from "../../eval/errors.js"
import { loadScorers } from "../../eval/metric.js"
import { fileTerm, parseMetric } from "../../eval/metricSpec.js"
import type { MetricSpec } from "../../eval/metricSpec.js"
import { evalIdOf, evaluate } from "../../eval/runner.js"
import type { ExampleRun } from "../../eval/runner.js"
import { canonicalJson } from "../../ir/canonical.js"
import { sha256Hex } from "../../ir/hash.js"
import { decodeProgram } from "../../ir/json.js"
import type { Program } from "../../ir/schema.js"
import { bindParams } from "../../runtime/inputs.js"
import { RunStore } from "../../runtime/runStore.js"
import { plan } from "../../runtime/runtime.js"
import { EvalStore } from "../../store/evals.js"
import type { EvalRecord } from "../../store/evals.js"
import { ToolRegistry } from "../../tools/registry.js"
import { CurrentWorkspace } from "../api/auth.js"
import { BadRequest, NotFound, Unavailable } from "../api/errors.js"
import type { CreateEval, EvalStatus, EvalView } from "../api/evals.js"
import { Api } from "../api/index.js"
import { EvalJobs } from "../evalJobs.js"
import { RunManager } from "../runManager.js"
import { calibrationView, comparisonView, EVAL_ID, loadEval, reportOf, resultView } from "./evalViews.js"
import { checkInput, violationsOf } from "./program.js"

const PROGRAM_HASH = /^[A-Za-z0-9:_-]{1,128}$/
/** Where an eval started over HTTP says its examples came from. */
const DATASET = "POST /v1/evals"

const unavailable = (e: { readonly message: string }) => new Unavailable({ message: `the store failed: ${e.message}` })
const badRequest = (e: EvalError) => new BadRequest({ message: e.display })

/** The program of the body, checked and planned: `source`, `program`, or the hash of one this workspace ran. */
const programOf = (payload: CreateEval) =>
  Effect.gen(function*() {
    const given = [payload.source, payload.program, payload.programHash].filter((x) => x !== undefined).length
    if (given !== 1) {
      return yield* new BadRequest({
        message: "give exactly one of \"source\" (DSL text), \"program\" (JSON IR) and \"programHash\""
      })
    }
    let program: Program
    if (payload.programHash !== undefined) {
      const hash = payload.programHash
      const ws = yield* CurrentWorkspace
      const store = yield* RunStore
      const ran = PROGRAM_HASH.test(hash)
        ? yield* store.list({ workspace: ws.name, limit: 1, programHash: hash }).pipe(Effect.mapError(unavailable))
        : { runs: [] }
      const stored = ran.runs.length === 0
        ? Option.none()
        : yield* store.getProgram(hash).pipe(Effect.mapError(unavailable))
      if (Option.isNone(stored)) {
        return yield* new BadRequest({ message: `programHash: no run of this workspace ran a program ${hash}` })
      }
      const decoded = decodeProgram(stored.value)
      if (Either.isLeft(decoded)) {
        return yield* new Unavailable({
          message: `the stored program ${hash} does not decode: ${decoded.left.message}`
        })
      }
      program = decoded.right
    } else {
      const registry = yield* ToolRegistry
      const checked = yield* checkInput(payload, registry.table)
      if (checked.program === undefined || checked.diagnostics.length > 0) {
        return yield* new BadRequest({
          message: `the program has ${checked.diagnostics.length} problem(s)`,
          violations: violationsOf(checked)
        })
      }
      program = checked.normalized ?? checked.program
    }
    const planned = plan(program)
    if (Either.isLeft(planned)) return yield* new BadRequest({ message: planned.left.message })
    return { program, hash: planned.right.hash, name: planned.right.entry.name, params: planned.right.entry.params }
  })

/** The metrics of the body (default `exact`), refusing those that read files or load code on the server. */
const metricsOf = (payload: CreateEval): Either.Either<ReadonlyArray<MetricSpec>, EvalError> => {
  const texts = payload.metrics === undefined
    ? ["exact"]
    : typeof payload.metrics === "string"
    ? [payload.metrics]
    : payload.metrics
  if (texts.length === 0) {
    return Either.left(new EvalError({ reason: "metric", message: "no metric", location: "metrics" }))
  }
  const specs: Array<MetricSpec> = []
  for (let i = 0; i < texts.length; i++) {
    const location = typeof payload.metrics === "object" ? `metrics[${i}]` : "metrics"
    const parsed = parseMetric(texts[i]!)
    if (Either.isLeft(parsed)) {
      return Either.left(new EvalError({ reason: "metric", message: parsed.left.message, location }))
    }
    const reads = fileTerm(parsed.right)
    if (reads !== undefined) {
      return Either.left(
        new EvalError({
          reason: "metric",
          message: `"${reads.kind}:" metrics read a file or load code on the server and are refused over HTTP ` +
            "(use exact, normalized, f1, contains, numeric[:tol], latency, cost and weighted sums of them, " +
            "or `trellis eval run` where the files are yours)",
          location
        })
      )
    }
    specs.push(parsed.right)
  }
  return Either.right(specs)
}

/** Every example's inputs must fit the program's parameters (checked before anything starts). */
const checkInputs = (params: Parameters<typeof bindParams>[0], examples: ReadonlyArray<Example>) =>
  Effect.forEach(examples, (e, i) => {
    const bound = bindParams(params, e.inputs, "the program")
    return Either.isLeft(bound)
      ? Effect.fail(new BadRequest({ message: `dataset[${i}].inputs: ${bound.left}` }))
      : Effect.void
  }, { discard: true })

/** No file is read over HTTP: the metrics allowed here never touch one (and a file metric fails rather than read). */
const noFiles = FileSystem.layerNoop({})

/**
 * Whether the eval's job runs here, with its record as of that answer. A record read before the job ended can be
 * stale (the job writes `completed`, then ends): when the job is not running and the record is not completed, it is
 * read again, so a finished eval never shows as `stopped` in between.
 */
export const settled = (record: EvalRecord, jobs: EvalJobs["Type"]) =>
  Effect.gen(function*() {
    const running = yield* jobs.running(record.evalId)
    if (running || record.status === "completed") return { running, record }
    const evals = yield* EvalStore
    const fresh = yield* evals.get(record.evalId, record.workspace).pipe(Effect.mapError(unavailable))
    return { running, record: Option.getOrElse(fresh, () => record) }
  })

/** An eval as the API shows it. */
const viewOf = (read: EvalRecord, done: number, jobs: EvalJobs["Type"], withReport: boolean) =>
  Effect.gen(function*() {
    const { record, running } = yield* settled(read, jobs)
    const failure = running ? undefined : jobs.failure(record.evalId)
    const status: EvalStatus = running
      ? "running"
      : record.status === "completed"
      ? "completed"
      : failure !== undefined
      ? "failed"
      : "stopped"
    return {
      evalId: record.evalId,
      status,
      programHash: record.programHash,
      programName: record.programName,
      metrics: record.metrics,
      n: record.total,
      done: record.status === "completed" ? record.total : done,
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
      ...(failure === undefined ? {} : { error: failure }),
      ...(withReport && status === "completed" && record.report !== null ? { report: record.report } : {})
    } satisfies EvalView
  })

/** The handlers of the `evals` group. */
export const layerEvals = HttpApiBuilder.group(Api, "evals", (handlers) =>
  handlers
    .handle("create", ({ payload }) =>
      Effect.gen(function*() {
        const ws = yield* CurrentWorkspace
        const specs = yield* Either.match(metricsOf(payload), {
          onLeft: (e) => Effect.fail(badRequest(e)),
          onRight: Effect.succeed
        })
        const examples = yield* parseExamples("dataset", payload.dataset).pipe(Effect.mapError(badRequest))
        const checked = yield* programOf(payload)
        yield* checkInputs(checked.params, examples)
        const scorers = yield* loadScorers(specs).pipe(Effect.mapError(badRequest), Effect.provide(noFiles))
        const metrics = specs.map((s) => s.text)
        const seed = payload.seed
        // The workspace is part of the id: the same body in two workspaces is two evals (and two sets of runs).
        const evalId = `ev-${
          sha256Hex(canonicalJson({ workspace: ws.name, eval: evalIdOf(checked.hash, examples, metrics, seed) }))
            .slice(0, 16)
        }`
        const jobs = yield* EvalJobs
        if (yield* jobs.running(evalId)) return { evalId, status: "running" as const }
        const evals = yield* EvalStore
        const now = yield* Clock.currentTimeMillis
        const concurrency = payload.concurrency ?? 4
        const record = yield* evals.ensure({
          evalId,
          workspace: ws.name,
          programHash: checked.hash,
          programName: checked.name,
          dataset: DATASET,
          metrics,
          options: { concurrency, seed: seed ?? null },
          total: examples.length,
          status: "running",
          report: null,
          createdAt: now,
          updatedAt: now
        }).pipe(Effect.mapError(unavailable))
        if (record.status === "completed") return { evalId, status: "completed" as const }
        const manager = yield* RunManager
        const execute = (run: ExampleRun) =>
          Effect.gen(function*() {
            const at = yield* Clock.currentTimeMillis
            const stopped = yield* manager.execute(
              {
                runId: run.runId,
                workspace: run.workspace,
                programHash: checked.hash,
                programName: checked.name,
                inputs: run.example.inputs,
                seed: seed ?? null,
                createdAt: at,
                state: "queued"
              },
              run.kind,
              run.kind === "start" ? checked.program : undefined
            )
            // The server is shutting down: the eval stops here (nothing recorded for this example) and continues later.
            if (stopped === "left") return yield* Effect.interrupt
          })
        yield* jobs.start(
          evalId,
          evaluate({
            program: checked.program,
            programHash: checked.hash,
            examples,
            dataset: DATASET,
            scorers,
            concurrency,
            evalId,
            workspace: ws.name,
            execute,
            ...(seed === undefined ? {} : { seed })
          })
        )
        return { evalId, status: "running" as const }
      }))
    .handle("list", ({ urlParams }) =>
      Effect.gen(function*() {
        const ws = yield* CurrentWorkspace
        const evals = yield* EvalStore
        const jobs = yield* EvalJobs
        const records = yield* evals.list(ws.name, urlParams.limit ?? 50).pipe(Effect.mapError(unavailable))
        const views = yield* Effect.forEach(records, (r) =>
          Effect.gen(function*() {
            const done = r.status === "completed"
              ? r.total
              : (yield* evals.results(r.evalId).pipe(Effect.mapError(unavailable))).length
            return yield* viewOf(r, done, jobs, false)
          }))
        return { evals: views }
      }))
    .handle("get", ({ path }) =>
      Effect.gen(function*() {
        const shown = path.id.length > 128 ? path.id.slice(0, 128) + "…" : path.id
        if (!EVAL_ID.test(path.id)) return yield* new NotFound({ message: `no eval ${shown}` })
        const ws = yield* CurrentWorkspace
        const evals = yield* EvalStore
        const record = yield* evals.get(path.id, ws.name).pipe(Effect.mapError(unavailable))
        if (Option.isNone(record)) return yield* new NotFound({ message: `no eval ${shown}` })
        const results = yield* evals.results(path.id).pipe(Effect.mapError(unavailable))
        return yield* viewOf(record.value, results.length, yield* EvalJobs, true)
      }))
    .handle("results", ({ path }) =>
      Effect.gen(function*() {
        const loaded = yield* loadEval(path.id)
        const jobs = yield* EvalJobs
        const { record } = yield* settled(loaded.record, jobs)
        // The job ended since the first read: its results as of the record read after it.
        const results = record === loaded.record
          ? loaded.results
          : yield* Effect.flatMap(EvalStore, (evals) => evals.results(record.evalId)).pipe(Effect.mapError(unavailable))
        const view = yield* viewOf(record, results.length, jobs, false)
        return {
          evalId: record.evalId,
          status: view.status,
          metrics: record.metrics,
          n: record.total,
          report: reportOf(record, results),
          results: results.map(resultView)
        }
      }))
    .handle("compare", ({ path, urlParams }) => comparisonView(path.id, path.candidate, urlParams))
    .handle("calibration", ({ path, urlParams }) => calibrationView(path.id, urlParams)))
