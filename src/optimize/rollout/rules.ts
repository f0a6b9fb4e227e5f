/**
 * Promotion rules (issue 20): a Schema'd JSON rule (`model.ts`
 * `PromotionRule`) checked against the stored eval reports of the current
 * version (the baseline) and the candidate — e.g. `{ "gate": "delta>=0",
 * "maxCostRatio": 1.1 }`: "promote when the eval gate passes and cost ≤
 * 1.1×". The gate is `eval compare`'s paired gate (`eval/compare.ts`); the
 * ratios and limits read the reports' means. Every check is listed with its
 * value and limit, so a refusal says exactly what failed. Pure.
 */
import type { Comparison } from "../../eval/compare.js"
import type { EvalReport } from "../../eval/report.js"
import type { PromotionRule } from "./model.js"

/** One check of a rule. */
export interface RuleCheck {
  readonly check: "gate" | "maxCostRatio" | "maxLatencyRatio" | "maxErrorRate" | "minMean"
  readonly pass: boolean
  /** What was measured (a ratio, a rate, a mean; for the gate the adjusted p-value). */
  readonly value: number | null
  /** The rule's limit (for the gate its requirement text). */
  readonly limit: number | string
  readonly detail: string
}

/** Whether a rule passed, with every check. */
export interface RuleVerdict {
  readonly pass: boolean
  readonly checks: ReadonlyArray<RuleCheck>
}

const ratio = (candidate: number | null, baseline: number | null): number | null =>
  candidate === null || baseline === null
    ? null
    : baseline === 0
    ? (candidate === 0 ? 1 : Number.POSITIVE_INFINITY)
    : candidate / baseline

const round = (x: number | null): string => (x === null ? "n/a" : String(Math.round(x * 10_000) / 10_000))

/**
 * Checks `rule` against the baseline's and the candidate's eval reports and, when the rule has a gate, the
 * paired comparison of the two evals (candidate as the only candidate). A ratio that cannot be computed (no
 * cost or latency recorded) fails its check.
 */
export const checkRule = (
  rule: PromotionRule,
  baseline: EvalReport,
  candidate: EvalReport,
  comparison: Comparison | undefined
): RuleVerdict => {
  const checks: Array<RuleCheck> = []
  if (rule.gate !== undefined) {
    const c = comparison?.candidates[0]
    checks.push({
      check: "gate",
      pass: c?.pass === true,
      value: c === undefined ? null : c.adjustedPValue,
      limit: rule.gate,
      detail: c === undefined
        ? "no paired comparison (the evals share no example)"
        : `delta ${round(c.delta)} CI [${round(c.ci[0])}, ${round(c.ci[1])}] p=${round(c.adjustedPValue)} on ${
          comparison!.metric
        } (n=${c.n})`
    })
  }
  if (rule.maxCostRatio !== undefined) {
    const r = ratio(candidate.cost.mean, baseline.cost.mean)
    checks.push({
      check: "maxCostRatio",
      pass: r !== null && r <= rule.maxCostRatio,
      value: r,
      limit: rule.maxCostRatio,
      detail: `mean cost ${round(candidate.cost.mean)} vs ${round(baseline.cost.mean)}`
    })
  }
  if (rule.maxLatencyRatio !== undefined) {
    const r = ratio(candidate.latencyMs.mean, baseline.latencyMs.mean)
    checks.push({
      check: "maxLatencyRatio",
      pass: r !== null && r <= rule.maxLatencyRatio,
      value: r,
      limit: rule.maxLatencyRatio,
      detail: `mean latency ${round(candidate.latencyMs.mean)} ms vs ${round(baseline.latencyMs.mean)} ms`
    })
  }
  if (rule.maxErrorRate !== undefined) {
    const rate = candidate.n === 0 ? null : candidate.errors / candidate.n
    checks.push({
      check: "maxErrorRate",
      pass: rate !== null && rate <= rule.maxErrorRate,
      value: rate,
      limit: rule.maxErrorRate,
      detail: `${candidate.errors} of ${candidate.n} examples did not complete`
    })
  }
  if (rule.minMean !== undefined) {
    checks.push({
      check: "minMean",
      pass: Number.isFinite(candidate.mean) && candidate.mean >= rule.minMean,
      value: Number.isFinite(candidate.mean) ? candidate.mean : null,
      limit: rule.minMean,
      detail: `mean ${round(candidate.mean)} on ${candidate.metric}`
    })
  }
  return { pass: checks.length > 0 && checks.every((c) => c.pass), checks }
}
