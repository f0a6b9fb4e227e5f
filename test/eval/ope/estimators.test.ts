/** The off-policy estimators on hand-computed logs, target parsing and bad logs. */
import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { evaluatePolicy } from "../../../src/eval/ope/estimators.js"
import type { LoggedDecision } from "../../../src/eval/ope/estimators.js"
import { parseTarget, targetProbabilities } from "../../../src/eval/ope/target.js"

const d = (option: string, propensity: number, reward: number, runId = "r"): LoggedDecision => ({
  runId,
  option,
  propensity,
  policy: "epsilon-greedy(0.5)",
  reward
})

describe("parseTarget", () => {
  it("reads every form", () => {
    expect(parseTarget("fixed:optionB")).toEqual(Either.right({ kind: "fixed", option: "optionB" }))
    expect(parseTarget("uniform")).toEqual(Either.right({ kind: "uniform" }))
    expect(parseTarget("greedy")).toEqual(Either.right({ kind: "epsilon-greedy", epsilon: 0 }))
    expect(parseTarget("epsilon-greedy:0.1")).toEqual(Either.right({ kind: "epsilon-greedy", epsilon: 0.1 }))
  })

  it("refuses what is not a target, saying what is", () => {
    const bad = parseTarget("thompson")
    expect(Either.isLeft(bad) && bad.left.message).toContain("fixed:<option>, uniform, greedy or epsilon-greedy:<ε>")
    const eps = parseTarget("epsilon-greedy:1.5")
    expect(Either.isLeft(eps) && eps.left.message).toContain("epsilon must be a number in [0, 1]")
  })

  it("epsilon-greedy puts 1 − ε on the best logged mean", () => {
    const means: Record<string, number> = { a: 0.2, b: 0.7 }
    const p = targetProbabilities({ kind: "epsilon-greedy", epsilon: 0.2 }, ["a", "b", "c"], (o) => means[o])
    expect(p.get("b")).toBeCloseTo(0.2 / 3 + 0.8, 12)
    expect(p.get("a")).toBeCloseTo(0.2 / 3, 12)
    expect([...p.values()].reduce((x, y) => x + y, 0)).toBeCloseTo(1, 12)
  })
})

describe("evaluatePolicy", () => {
  // a chosen with propensity 0.5 (rewards 1, 0), b with propensity 0.25 (rewards 1, 1).
  const log = [d("a", 0.5, 1), d("a", 0.5, 0), d("b", 0.25, 1), d("b", 0.25, 1)]

  it("computes IPS, SNIPS and DR by their definitions", () => {
    const v = Either.getOrThrow(evaluatePolicy(log, { kind: "fixed", option: "b" }, { resamples: 50 }))
    // Weights: 0, 0, 4, 4. IPS = (4 + 4) / 4 = 2; SNIPS = 8 / 8 = 1; DR = q(b) + mean(w (r − q(b))) = 1.
    expect(v.ips.estimate).toBeCloseTo(2, 12)
    expect(v.snips.estimate).toBeCloseTo(1, 12)
    expect(v.dr.estimate).toBeCloseTo(1, 12)
    expect(v.logged.estimate).toBeCloseTo(0.75, 12)
    expect(v.effectiveSampleSize).toBeCloseTo(2, 12)
    expect(v.maxWeight).toBe(4)
    expect(v.matched).toBe(2)
    expect(v.options).toEqual(["a", "b"])
    expect(v.ips.ci[0]).toBeLessThanOrEqual(v.ips.ci[1])
  })

  it("DR uses the reward model for the options the target chooses but the log does not", () => {
    const v = Either.getOrThrow(evaluatePolicy(log, { kind: "uniform" }, { options: ["c"], resamples: 10 }))
    expect(v.options).toEqual(["a", "b", "c"])
    // q(a) = 0.5, q(b) = 1, q(c) = the overall mean 0.75; corrections: w = (1/3)/μ.
    const direct = (0.5 + 1 + 0.75) / 3
    const correction = ((1 / 3) / 0.5 * 0.5 + (1 / 3) / 0.5 * -0.5 + 0 + 0) / 4
    expect(v.dr.estimate).toBeCloseTo(direct + correction, 12)
  })

  it("is reproducible under a seed", () => {
    const a = evaluatePolicy(log, { kind: "uniform" }, { seed: 7, resamples: 200 })
    const b = evaluatePolicy(log, { kind: "uniform" }, { seed: 7, resamples: 200 })
    expect(a).toEqual(b)
  })

  it("refuses an empty log and a bad propensity or reward, naming the run", () => {
    expect(Either.getLeft(evaluatePolicy([], { kind: "uniform" })).pipe((e) => e._tag === "Some" && e.value.message))
      .toBe("no logged decisions with rewards")
    const zero = evaluatePolicy([d("a", 0, 1, "run-7")], { kind: "uniform" })
    expect(Either.isLeft(zero) && zero.left).toMatchObject({
      runId: "run-7",
      message: "run run-7: propensity 0 is not in (0, 1]"
    })
    const nan = evaluatePolicy([d("a", 0.5, Number.NaN, "run-8")], { kind: "uniform" })
    expect(Either.isLeft(nan) && nan.left.message).toBe("run run-8: reward NaN is not a finite number")
  })
})
