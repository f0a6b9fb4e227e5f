/**
 * The canary's judgement (issue 20): the ended runs of the current and the
 * candidate version since the rollout started, compared on their live error
 * rate (a run that failed counts 1, else 0), latency (ms from creation to
 * end) and feedback (the mean reward posted for the run under the canary's
 * `feedbackKey`). The runs of two versions are different requests, so each
 * metric is an unpaired two-sample comparison (`unpaired.ts`: permutation
 * p-value, bootstrap CI of the difference), Holm-corrected across the
 * metrics compared. Worse on any metric at level α → roll back; better on
 * one and worse on none → promote (when `promote` is on); otherwise keep
 * going. Pure.
 */
import { holm } from "../../eval/stats/holm.js"
import type { CanaryConfig, CanaryMetric } from "./model.js"
import { compareUnpaired } from "./unpaired.js"
import type { UnpairedComparison } from "./unpaired.js"

/** One ended run of a deployment as the canary sees it. */
export interface RunOutcome {
  readonly runId: string
  readonly role: "current" | "candidate"
  readonly failed: boolean
  readonly latencyMs: number
  /** The mean reward posted under the feedback key, when any. */
  readonly reward?: number
}

/** The evidence on one metric. */
export interface MetricEvidence extends UnpairedComparison {
  readonly metric: CanaryMetric
  /** Whether higher values are better (feedback) or lower (errors, latency). */
  readonly higherIsBetter: boolean
  /** The p-value after Holm's correction across the metrics compared. */
  readonly adjustedPValue: number
  readonly worse: boolean
  readonly better: boolean
}

/** What the canary decided, and why. */
export interface CanaryVerdict {
  readonly action: "rollback" | "promote" | "continue"
  readonly reason: string
  readonly alpha: number
  readonly minRuns: number
  readonly runs: { readonly current: number; readonly candidate: number }
  readonly metrics: ReadonlyArray<MetricEvidence>
}

/** The defaults of a canary. */
export const CANARY_DEFAULTS = { alpha: 0.05, minRuns: 20, permutations: 2000, seed: 1 } as const

const valuesOf = (runs: ReadonlyArray<RunOutcome>, metric: CanaryMetric): Array<number> =>
  metric === "errors"
    ? runs.map((r) => (r.failed ? 1 : 0))
    : metric === "latency"
    ? runs.map((r) => r.latencyMs).filter((x) => Number.isFinite(x))
    : runs.flatMap((r) => (r.reward === undefined ? [] : [r.reward]))

/** Judges the candidate against the current version from their ended runs. */
export const judge = (config: CanaryConfig, outcomes: ReadonlyArray<RunOutcome>): CanaryVerdict => {
  const alpha = config.alpha ?? CANARY_DEFAULTS.alpha
  const minRuns = config.minRuns ?? CANARY_DEFAULTS.minRuns
  const current = outcomes.filter((o) => o.role === "current")
  const candidate = outcomes.filter((o) => o.role === "candidate")
  const runs = { current: current.length, candidate: candidate.length }
  if (current.length < minRuns || candidate.length < minRuns) {
    return {
      action: "continue",
      reason:
        `waiting for ${minRuns} ended runs of each version (current ${current.length}, candidate ${candidate.length})`,
      alpha,
      minRuns,
      runs,
      metrics: []
    }
  }
  const wanted = config.metrics ?? ["errors", "latency", "feedback"]
  const metrics = wanted.filter((m) => m !== "feedback" || config.feedbackKey !== undefined)
  const raw = metrics.flatMap((metric) => {
    const a = valuesOf(current, metric)
    const b = valuesOf(candidate, metric)
    // Feedback needs rewarded runs on both sides; without them the metric says nothing.
    if (a.length < 2 || b.length < 2) return []
    const c = compareUnpaired(a, b, {
      level: 1 - alpha,
      draws: config.permutations ?? CANARY_DEFAULTS.permutations,
      seed: config.seed ?? CANARY_DEFAULTS.seed
    })
    return [{ metric, c }]
  })
  const adjusted = holm(raw.map((r) => r.c.pValue))
  const tolerance = config.latencyToleranceMs ?? 0
  const evidence: Array<MetricEvidence> = raw.map(({ c, metric }, i) => {
    const higherIsBetter = metric === "feedback"
    const significant = adjusted[i]! <= alpha && (metric !== "latency" || Math.abs(c.delta) > tolerance)
    const improves = higherIsBetter ? c.delta > 0 : c.delta < 0
    return {
      ...c,
      metric,
      higherIsBetter,
      adjustedPValue: adjusted[i]!,
      worse: significant && !improves && c.delta !== 0,
      better: significant && improves
    }
  })
  const worse = evidence.filter((e) => e.worse)
  const better = evidence.filter((e) => e.better)
  const describe = (e: MetricEvidence) => `${e.metric} ${fmt(e.meanB)} vs ${fmt(e.meanA)} (p=${fmt(e.adjustedPValue)})`
  if (worse.length > 0) {
    return {
      action: "rollback",
      reason: `the candidate is worse on ${worse.map(describe).join(", ")} at level ${alpha}`,
      alpha,
      minRuns,
      runs,
      metrics: evidence
    }
  }
  if (better.length > 0 && config.promote !== false) {
    return {
      action: "promote",
      reason: `the candidate is better on ${better.map(describe).join(", ")} and worse on none at level ${alpha}`,
      alpha,
      minRuns,
      runs,
      metrics: evidence
    }
  }
  return {
    action: "continue",
    reason: `no significant difference at level ${alpha}`,
    alpha,
    minRuns,
    runs,
    metrics: evidence
  }
}

const fmt = (x: number): string => (Number.isFinite(x) ? String(Math.round(x * 10_000) / 10_000) : String(x))
