/**
 * The canary's judgement, the promotion rule and the contextual off-policy
 * gate, on plain values: below `minRuns` it waits; a candidate that fails
 * more is rolled back, one with better feedback promoted; a latency
 * difference inside the tolerance is not a reason; every rule check is
 * listed with its value and limit; LinUCB evaluated off-policy on a
 * uniformly logged contextual problem passes the gate, a context-free fixed
 * choice does not.
 */
import { Either } from "effect"
import { describe, expect, it } from "vitest"
import type { Comparison } from "../../../src/eval/compare.js"
import type { EvalReport } from "../../../src/eval/report.js"
import { makeRng } from "../../../src/eval/stats/random.js"
import { judge } from "../../../src/optimize/rollout/canary.js"
import type { RunOutcome } from "../../../src/optimize/rollout/canary.js"
import { evaluateContextual, gatePolicy } from "../../../src/optimize/rollout/policyGate.js"
import type { ContextualDecision } from "../../../src/optimize/rollout/policyGate.js"
import { checkRule } from "../../../src/optimize/rollout/rules.js"
import { featuresOf, fit, probabilities } from "../../../src/runtime/bandit/linucb.js"

const outcomes = (
  n: number,
  current: { fail: number; latency: number; reward?: number },
  candidate: { fail: number; latency: number; reward?: number },
  seed = 1
): Array<RunOutcome> => {
  const rng = makeRng(seed)
  return Array.from({ length: 2 * n }, (_, i) => {
    const c = i % 2 === 0 ? current : candidate
    return {
      runId: `r${i}`,
      role: i % 2 === 0 ? "current" : "candidate",
      failed: rng() < c.fail,
      latencyMs: c.latency + 10 * rng(),
      ...(c.reward === undefined ? {} : { reward: rng() < c.reward ? 1 : 0 })
    }
  })
}

describe("canary", () => {
  it("waits for minRuns of each version", () => {
    const v = judge({ minRuns: 30 }, outcomes(10, { fail: 0, latency: 100 }, { fail: 1, latency: 100 }))
    expect(v.action).toBe("continue")
    expect(v.reason).toContain("waiting for 30")
    expect(v.metrics).toEqual([])
  })

  it("rolls back a candidate that fails more, with the evidence", () => {
    const v = judge({ minRuns: 20 }, outcomes(40, { fail: 0.05, latency: 100 }, { fail: 0.5, latency: 100 }))
    expect(v.action).toBe("rollback")
    const errors = v.metrics.find((m) => m.metric === "errors")!
    expect(errors.worse).toBe(true)
    expect(errors.delta).toBeGreaterThan(0.2)
    expect(errors.ci[0]).toBeGreaterThan(0)
    expect(v.metrics.find((m) => m.metric === "latency")!.worse).toBe(false)
  })

  it("promotes a candidate with better feedback; only with a feedback key", () => {
    const data = outcomes(60, { fail: 0, latency: 100, reward: 0.3 }, { fail: 0, latency: 100, reward: 0.8 })
    const v = judge({ minRuns: 20, feedbackKey: "tone" }, data)
    expect(v.action).toBe("promote")
    expect(v.metrics.find((m) => m.metric === "feedback")).toMatchObject({ better: true, higherIsBetter: true })
    expect(judge({ minRuns: 20 }, data).action).toBe("continue")
    expect(judge({ minRuns: 20, feedbackKey: "tone", promote: false }, data).action).toBe("continue")
  })

  it("ignores latency differences inside the tolerance, and rolls back slower ones beyond it", () => {
    const slower = outcomes(40, { fail: 0, latency: 100 }, { fail: 0, latency: 130 })
    expect(judge({ minRuns: 20, latencyToleranceMs: 50 }, slower).action).toBe("continue")
    const v = judge({ minRuns: 20, latencyToleranceMs: 5 }, slower)
    expect(v.action).toBe("rollback")
    expect(v.reason).toContain("latency")
  })
})

const report = (over: Partial<EvalReport>): EvalReport => ({
  evalId: "ev",
  status: "completed",
  program: { hash: "h", name: "main" },
  dataset: "d",
  n: 10,
  metric: "exact",
  mean: 0.5,
  stddev: 0.1,
  ci: [0.4, 0.6],
  errors: 0,
  metricErrors: 0,
  metrics: [],
  latencyMs: { mean: 100, max: 200 },
  cost: { total: 1, mean: 0.1 },
  ...over
})

const comparison = (pass: boolean): Comparison => ({
  baseline: "a",
  metric: "exact",
  alpha: 0.05,
  require: "delta>=0",
  correction: "none",
  pass,
  candidates: [{
    evalId: "b",
    n: 10,
    meanA: 0.5,
    meanB: 0.6,
    delta: 0.1,
    ci: [0.02, 0.18],
    pValue: 0.01,
    signPValue: 0.02,
    effectSize: 1,
    wins: 5,
    losses: 0,
    ties: 5,
    adjustedPValue: 0.01,
    unpaired: 0,
    pass
  }]
})

describe("promotion rules", () => {
  it("promote when the eval gate passes and cost ≤ 1.1×", () => {
    const rule = { gate: "delta>=0", maxCostRatio: 1.1 }
    const ok = checkRule(rule, report({}), report({ cost: { total: 1.05, mean: 0.105 } }), comparison(true))
    expect(ok.pass).toBe(true)
    expect(ok.checks.map((c) => c.check)).toEqual(["gate", "maxCostRatio"])
    const pricey = checkRule(rule, report({}), report({ cost: { total: 2, mean: 0.2 } }), comparison(true))
    expect(pricey.pass).toBe(false)
    expect(pricey.checks[1]).toMatchObject({ check: "maxCostRatio", pass: false, value: 2, limit: 1.1 })
    expect(checkRule(rule, report({}), report({}), comparison(false)).pass).toBe(false)
    expect(checkRule(rule, report({}), report({}), undefined).checks[0]!.detail).toContain("no paired comparison")
  })

  it("checks error rate, latency ratio and the mean; an empty rule never passes", () => {
    const v = checkRule(
      { maxErrorRate: 0.1, maxLatencyRatio: 1.5, minMean: 0.55 },
      report({}),
      report({ errors: 2, latencyMs: { mean: 120, max: 300 }, mean: 0.6 }),
      undefined
    )
    expect(v.checks.map((c) => [c.check, c.pass])).toEqual([
      ["maxLatencyRatio", true],
      ["maxErrorRate", false],
      ["minMean", true]
    ])
    expect(checkRule({}, report({}), report({}), undefined).pass).toBe(false)
  })
})

describe("LinUCB off-policy", () => {
  it("passes the gate on a contextual problem logged uniformly; a fixed option does not", () => {
    const spec = { numeric: [], categorical: ["segment"], buckets: 32 }
    const arms = ["a", "b", "c"]
    const rng = makeRng(3)
    const log = Array.from({ length: 1500 }, (_, i) => {
      const s = Math.floor(rng() * 3)
      const option = arms[Math.floor(rng() * 3)]!
      return { runId: `r${i}`, s, option, reward: rng() < (option === arms[s] ? 0.8 : 0.2) ? 1 : 0 }
    })
    const xOf = (s: number) => featuresOf(spec, { segment: `s${s}` })
    // Fitted on the first half, evaluated on the second (never on its own training data).
    const model = fit(
      xOf(0).length,
      log.slice(0, 750).map((e) => ({ x: xOf(e.s), option: e.option, reward: e.reward }))
    )
    const held = log.slice(750)
    const decisions = (target: (s: number) => ReadonlyMap<string, number>): Array<ContextualDecision> =>
      held.map((e) => ({
        runId: e.runId,
        option: e.option,
        propensity: 1 / 3,
        policy: "uniform",
        reward: e.reward,
        target: target(e.s)
      }))
    const lin = evaluateContextual(decisions((s) => probabilities(model, arms, xOf(s), 0, 0.05)), "linucb", {
      resamples: 300,
      seed: 2
    })
    expect(Either.isRight(lin)).toBe(true)
    if (Either.isLeft(lin)) return
    expect(lin.right.dr.estimate).toBeGreaterThan(0.65)
    expect(gatePolicy(lin.right).pass).toBe(true)
    const fixed = evaluateContextual(decisions(() => new Map([["a", 1], ["b", 0], ["c", 0]])), "fixed:a", {
      resamples: 300,
      seed: 2
    })
    if (Either.isLeft(fixed)) throw new Error(fixed.left.message)
    expect(gatePolicy(fixed.right).pass).toBe(false)
    expect(Either.isLeft(evaluateContextual([], "x"))).toBe(true)
  })
})
