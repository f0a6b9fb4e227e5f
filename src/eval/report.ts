/**
 * The aggregate report of an eval from its per-example results: per metric
 * n, mean, stddev and 95% bootstrap CI (seeded), errors counted (runs that
 * did not complete, metric failures), latency and cost, and — when the
 * examples carry a `baseline` (a dataset made from recorded runs) — the
 * regression section: changed outputs, new failures, fixed examples, and
 * latency and cost side by side. Pure.
 */
import { canonicalJson } from "../ir/canonical.js"
import type { Json, JsonRecord } from "../ir/eval.js"
import type { EvalRecord, EvalResult } from "../store/evals.js"
import { mean, summarize } from "./stats/bootstrap.js"

/** The summary of one metric. */
export interface MetricSummary {
  readonly metric: string
  readonly n: number
  readonly mean: number
  readonly stddev: number
  readonly ci: readonly [number, number]
  /** Examples where the metric itself failed (scored 0). */
  readonly failures: number
}

/** Old and new side by side. */
export interface SideBySide {
  readonly baseline: number | null
  readonly current: number | null
  readonly delta: number | null
}

/** The regression section. */
export interface Regression {
  readonly compared: number
  readonly changed: number
  readonly changedIds: ReadonlyArray<string>
  readonly newFailures: number
  readonly newFailureIds: ReadonlyArray<string>
  readonly fixed: number
  readonly latencyMs: SideBySide
  readonly cost: SideBySide
}

/** The aggregate report (`--json` prints it as the last line). */
export interface EvalReport {
  readonly evalId: string
  readonly status: "running" | "completed"
  readonly program: { readonly hash: string; readonly name: string }
  readonly dataset: string
  readonly n: number
  readonly metric: string
  readonly mean: number
  readonly stddev: number
  readonly ci: readonly [number, number]
  /** Examples whose run did not complete (failed, cancelled, waiting). */
  readonly errors: number
  /** Example × metric scorings that failed (counted as 0). */
  readonly metricErrors: number
  readonly metrics: ReadonlyArray<MetricSummary>
  readonly latencyMs: { readonly mean: number | null; readonly max: number | null }
  readonly cost: { readonly total: number; readonly mean: number | null }
  readonly regression?: Regression
}

/** A result's score on metric `i`, failures as 0. */
export const scoreAt = (r: EvalResult, i: number): number => r.scores[i] ?? 0

const finite = (xs: ReadonlyArray<number | null>): Array<number> =>
  xs.filter((x): x is number => x !== null && Number.isFinite(x))

const nullable = (x: number): number | null => (Number.isFinite(x) ? x : null)

const round = (x: number): number => Math.round(x * 1e6) / 1e6

const sideBySide = (baseline: ReadonlyArray<number>, current: ReadonlyArray<number>): SideBySide => {
  const b = baseline.length === 0 ? null : round(mean(baseline))
  const c = current.length === 0 ? null : round(mean(current))
  return { baseline: b, current: c, delta: b === null || c === null ? null : round(c - b) }
}

interface BaselineJson {
  readonly status: string
  readonly latencyMs: number | null
  readonly cost: number | null
}

const baselineOf = (example: Json): BaselineJson | undefined => {
  if (typeof example !== "object" || example === null || Array.isArray(example)) return undefined
  const b = (example as JsonRecord)["baseline"]
  return typeof b === "object" && b !== null && !Array.isArray(b) ? (b as unknown as BaselineJson) : undefined
}

const expectedOf = (example: Json): Json | undefined =>
  typeof example === "object" && example !== null && !Array.isArray(example)
    ? (example as JsonRecord)["expected"]
    : undefined

/** The regression section, when any result's example has a baseline. */
export const regressionOf = (results: ReadonlyArray<EvalResult>): Regression | undefined => {
  const withBaseline = results.filter((r) => baselineOf(r.example) !== undefined)
  if (withBaseline.length === 0) return undefined
  const changedIds: Array<string> = []
  const newFailureIds: Array<string> = []
  let fixed = 0
  const latB: Array<number> = []
  const latC: Array<number> = []
  const costB: Array<number> = []
  const costC: Array<number> = []
  for (const r of withBaseline) {
    const b = baselineOf(r.example)!
    const expected = expectedOf(r.example)
    const completed = r.status === "completed"
    if (b.status === "completed" && !completed) newFailureIds.push(r.exampleId)
    if (b.status !== "completed" && completed) fixed++
    if (completed && expected !== undefined && canonicalJson(r.output) !== canonicalJson(expected)) {
      changedIds.push(r.exampleId)
    }
    if (b.latencyMs !== null && r.latencyMs !== null) {
      latB.push(b.latencyMs)
      latC.push(r.latencyMs)
    }
    if (b.cost !== null && r.cost !== null) {
      costB.push(b.cost)
      costC.push(r.cost)
    }
  }
  return {
    compared: withBaseline.length,
    changed: changedIds.length,
    changedIds,
    newFailures: newFailureIds.length,
    newFailureIds,
    fixed,
    latencyMs: sideBySide(latB, latC),
    cost: sideBySide(costB, costC)
  }
}

/** The report of an eval from its results (seeded bootstrap: the same results, the same CI). */
export const makeReport = (record: EvalRecord, results: ReadonlyArray<EvalResult>, seed = 1): EvalReport => {
  const metrics: Array<MetricSummary> = record.metrics.map((metric, i) => {
    const s = summarize(results.map((r) => scoreAt(r, i)), { seed })
    return {
      metric,
      n: s.n,
      mean: round(s.mean),
      stddev: round(s.stddev),
      ci: [round(s.ci[0]), round(s.ci[1])] as const,
      failures: results.filter((r) => r.scores[i] === null).length
    }
  })
  const primary = metrics[0]!
  const latencies = finite(results.map((r) => r.latencyMs))
  const costs = finite(results.map((r) => r.cost))
  const regression = regressionOf(results)
  return {
    evalId: record.evalId,
    status: record.status,
    program: { hash: record.programHash, name: record.programName },
    dataset: record.dataset,
    n: results.length,
    metric: primary.metric,
    mean: primary.mean,
    stddev: primary.stddev,
    ci: primary.ci,
    errors: results.filter((r) => r.status !== "completed").length,
    metricErrors: metrics.reduce((s, m) => s + m.failures, 0),
    metrics,
    latencyMs: {
      mean: latencies.length === 0 ? null : round(mean(latencies)),
      max: latencies.length === 0 ? null : Math.max(...latencies)
    },
    cost: {
      total: round(costs.reduce((s, c) => s + c, 0)),
      mean: costs.length === 0 ? null : nullable(round(mean(costs)))
    },
    ...(regression === undefined ? {} : { regression })
  }
}
