/**
 * The read-only eval views the viewer's eval page uses (`api/evals.ts`):
 * every example's result with the report over them, the paired comparison
 * of a candidate eval with a baseline (as `trellis eval compare` computes
 * it, plus each pair's scores for the plot), and the calibration of a
 * confidence field of the outputs against a metric (Brier, ECE, the
 * reliability table and its SVG diagram). Evals of another workspace are
 * not found.
 */
import { Effect, Either, Option } from "effect"
import { brier, ece, reliability } from "../../eval/calibration/metrics.js"
import type { Forecast } from "../../eval/calibration/metrics.js"
import { reliabilitySvg } from "../../eval/calibration/svg.js"
import { compareEvals, pairResults, parseRequirement } from "../../eval/compare.js"
import { scoreAt } from "../../eval/report.js"
import { makeReport } from "../../eval/report.js"
import type { Json, JsonRecord } from "../../ir/eval.js"
import { EvalStore } from "../../store/evals.js"
import type { EvalRecord, EvalResult } from "../../store/evals.js"
import { CurrentWorkspace } from "../api/auth.js"
import { BadRequest, NotFound, Unavailable } from "../api/errors.js"
import type { EvalResultView } from "../api/evals.js"

/** Eval ids the server makes; anything else is simply not found. */
export const EVAL_ID = /^ev-[0-9a-f]{16}$/

const unavailable = (e: { readonly message: string }) => new Unavailable({ message: `the store failed: ${e.message}` })

const shown = (id: string): string => (id.length > 128 ? id.slice(0, 128) + "…" : id)

/** An eval of the caller's workspace and its results, or a 404. */
export const loadEval = (id: string) =>
  Effect.gen(function*() {
    if (!EVAL_ID.test(id)) return yield* new NotFound({ message: `no eval ${shown(id)}` })
    const ws = yield* CurrentWorkspace
    const evals = yield* EvalStore
    const record = yield* evals.get(id, ws.name).pipe(Effect.mapError(unavailable))
    if (Option.isNone(record)) return yield* new NotFound({ message: `no eval ${shown(id)}` })
    const results = yield* evals.results(id).pipe(Effect.mapError(unavailable))
    return { record: record.value, results }
  })

const field = (value: Json | null | undefined, name: string): Json | undefined =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as JsonRecord)[name] : undefined

/** One result as the API shows it. */
export const resultView = (r: EvalResult): EvalResultView => {
  const tags = field(r.example, "tags")
  const expected = field(r.example, "expected")
  return {
    exampleId: r.exampleId,
    index: r.index,
    runId: r.runId,
    status: r.status,
    tags: Array.isArray(tags) ? tags.filter((t): t is string => typeof t === "string") : [],
    inputs: field(r.example, "inputs") ?? {},
    ...(expected === undefined ? {} : { expected }),
    output: r.output,
    ...(r.error === null ? {} : { error: { kind: r.error.kind, message: r.error.message } }),
    latencyMs: r.latencyMs,
    cost: r.cost,
    scores: r.scores
  }
}

/** The report over the results so far (the stored one once the eval completed). */
export const reportOf = (record: EvalRecord, results: ReadonlyArray<EvalResult>): unknown =>
  record.status === "completed" && record.report !== null
    ? record.report
    : results.length === 0
    ? null
    : makeReport(record, results)

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null)

/** The paired comparison of `candidate` against the baseline `id`. */
export const comparisonView = (
  id: string,
  candidate: string,
  params: { readonly metric?: string; readonly alpha?: number; readonly require?: string }
) =>
  Effect.gen(function*() {
    const base = yield* loadEval(id)
    const cand = yield* loadEval(candidate)
    const require = parseRequirement(params.require ?? "delta>0")
    if (Either.isLeft(require)) return yield* new BadRequest({ message: `require: ${require.left.message}` })
    const ws = yield* CurrentWorkspace
    const alpha = params.alpha ?? 0.05
    const c = yield* compareEvals([id, candidate], {
      alpha,
      require: require.right,
      workspace: ws.name,
      ...(params.metric === undefined ? {} : { metric: params.metric })
    }).pipe(
      Effect.mapError((e) =>
        e.reason === "store" ? unavailable(e) : new BadRequest({ message: `${e.location ?? "compare"}: ${e.message}` })
      )
    )
    const one = c.candidates[0]!
    const ia = base.record.metrics.indexOf(c.metric)
    const ib = cand.record.metrics.indexOf(c.metric)
    const byId = new Map(cand.results.map((r) => [r.exampleId, r]))
    const pairs = base.results.flatMap((r) => {
      const partner = byId.get(r.exampleId)
      if (partner === undefined) return []
      const a = scoreAt(r, ia)
      const b = scoreAt(partner, ib)
      return [{ exampleId: r.exampleId, baseline: a, candidate: b, diff: b - a }]
    })
    // The same pairing `compareEvals` used (a check that the plot shows what the statistics are about).
    if (pairs.length !== pairResults(base.results, cand.results, ia, ib).a.length) {
      return yield* new Unavailable({ message: "the eval results changed while they were read" })
    }
    return {
      baseline: c.baseline,
      candidate: one.evalId,
      metric: c.metric,
      alpha: c.alpha,
      require: c.require,
      n: one.n,
      meanA: one.meanA,
      meanB: one.meanB,
      delta: one.delta,
      ci: [one.ci[0], one.ci[1]] as const,
      pValue: one.pValue,
      signPValue: one.signPValue,
      effectSize: finiteOrNull(one.effectSize),
      wins: one.wins,
      losses: one.losses,
      ties: one.ties,
      unpaired: one.unpaired,
      pass: one.pass,
      pairs
    }
  })

const at = (value: Json | null, path: string): unknown => {
  let v: unknown = value
  for (const part of path.split(".")) {
    if (v === null || typeof v !== "object" || Array.isArray(v) || !Object.prototype.hasOwnProperty.call(v, part)) {
      return undefined
    }
    v = (v as Record<string, unknown>)[part]
  }
  return v
}

const FIELD = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,7}$/

/** The calibration of output field `field` (default `confidence`) against a metric's score (default the primary). */
export const calibrationView = (
  id: string,
  params: { readonly field?: string; readonly metric?: string; readonly bins?: number }
) =>
  Effect.gen(function*() {
    const { record, results } = yield* loadEval(id)
    const name = params.field ?? "confidence"
    if (!FIELD.test(name)) {
      return yield* new BadRequest({
        message: `field: expected a field name or a dotted path such as output.confidence, got "${name.slice(0, 64)}"`
      })
    }
    const metric = params.metric ?? record.metrics[0]!
    const mi = record.metrics.indexOf(metric)
    if (mi < 0) {
      return yield* new BadRequest({
        message: `metric: eval ${id} has no metric "${metric.slice(0, 64)}" (it has ${record.metrics.join(", ")})`
      })
    }
    const forecasts: Array<Forecast> = []
    for (const r of results) {
      const p = at(r.output, name)
      const y = r.scores[mi]
      if (typeof p === "number" && p >= 0 && p <= 1 && typeof y === "number" && y >= 0 && y <= 1) {
        forecasts.push({ p, y })
      }
    }
    if (forecasts.length === 0) {
      return yield* new BadRequest({
        message: `field: no example's output has a number in [0, 1] at "${name}" with a "${metric}" score in [0, 1] ` +
          `(${results.length} result(s) read)`
      })
    }
    const bins = params.bins ?? 10
    const table = reliability(forecasts, bins)
    return {
      evalId: record.evalId,
      field: name,
      metric,
      n: forecasts.length,
      skipped: results.length - forecasts.length,
      brier: brier(forecasts),
      ece: ece(forecasts, bins),
      bins: table.map((b) => ({
        lo: b.lo,
        hi: b.hi,
        count: b.count,
        meanPredicted: b.meanPredicted ?? null,
        observed: b.observed ?? null
      })),
      svg: reliabilitySvg(table, { title: `Reliability: ${name} against ${metric}` })
    }
  })
