/**
 * MCTS over a program's choose tree: the tree of nested and sequential
 * `choose` steps is read from the IR; UCT search finds the best path of a
 * small simulated tree (noisy rewards) and, from recorded outcomes, the path
 * the records say is best; its plan, evaluated off-policy per key with the
 * `eval/ope` estimators, passes the go-live gate when it is better than the
 * logging policy and fails it when it is not.
 */
import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { check } from "../../../src/compile.js"
import { evaluatePolicy } from "../../../src/eval/ope/estimators.js"
import type { LoggedDecision } from "../../../src/eval/ope/estimators.js"
import { makeRng } from "../../../src/eval/stats/random.js"
import { gatePolicy } from "../../../src/optimize/rollout/policyGate.js"
import { pathsOf, recordedReward, search, treeOfProgram } from "../../../src/runtime/bandit/mcts.js"
import type { ChoicePath, RecordedOutcome } from "../../../src/runtime/bandit/mcts.js"
import { makeUniform } from "../../../src/runtime/bandit/sample.js"

const SOURCE = `program main(q: string) {
  retrieve = choose "retriever" {
    sparse: {
      k = choose "depth" {
        shallow: { return 3 }
        deep: { return 10 }
      }
      return k
    }
    dense: { return 5 }
  }
  answer = choose "style" {
    short: { return "s" }
    long: { return "l" }
  }
  return { retrieve: retrieve, answer: answer }
}
`

const programOf = () => {
  const checked = check(SOURCE)
  expect(checked.diagnostics).toEqual([])
  return checked.program!
}

/** The true mean reward of each full path (the best: sparse → deep → long). */
const MEANS: Record<string, number> = {
  "sparse/shallow/short": 0.3,
  "sparse/shallow/long": 0.4,
  "sparse/deep/short": 0.5,
  "sparse/deep/long": 0.8,
  "dense/short": 0.45,
  "dense/long": 0.6
}
const keyOf = (p: ChoicePath) =>
  [p["retriever"], ...(p["retriever"] === "sparse" ? [p["depth"]] : []), p["style"]].join("/")

describe("the choose tree", () => {
  it("has nested chooses under their option and sequential ones after every path", () => {
    const tree = treeOfProgram(programOf())!
    expect(tree.key).toBe("retriever")
    const paths = pathsOf(tree).map(keyOf).sort()
    expect(paths).toEqual(Object.keys(MEANS).sort())
    const sparse = tree.options.find((o) => o.label === "sparse")!.next!
    expect(sparse.key).toBe("depth")
    expect(sparse.options.every((o) => o.next?.key === "style")).toBe(true)
    expect(tree.options.find((o) => o.label === "dense")!.next!.key).toBe("style")
  })
})

describe("MCTS", () => {
  it("finds the best path of a small simulated tree with noisy rewards", () => {
    const tree = treeOfProgram(programOf())!
    for (const seed of [1, 2, 3]) {
      const plan = search(tree, (p, u) => (u() < MEANS[keyOf(p)]! ? 1 : 0), makeUniform(seed), { iterations: 3000 })
      expect(keyOf(plan.path)).toBe("sparse/deep/long")
      expect(plan.steps.map((s) => s.key)).toEqual(["retriever", "depth", "style"])
      expect(plan.value).toBeGreaterThan(0.6)
    }
  })

  it("plans from recorded rewards, and its plan passes the off-policy gate; a worse plan does not", () => {
    const tree = treeOfProgram(programOf())!
    const paths = pathsOf(tree)
    const rng = makeRng(11)
    // Logged runs: uniform choices at every step (propensity 1/2 each), Bernoulli rewards.
    const outcomes: Array<RecordedOutcome & { runId: string }> = []
    for (let i = 0; i < 3000; i++) {
      const choices: Record<string, string> = {}
      let t = tree as typeof tree | null
      while (t !== null) {
        const o = t.options[Math.floor(rng() * t.options.length)]!
        choices[t.key] = o.label
        t = o.next
      }
      outcomes.push({ runId: `r${i}`, choices, reward: rng() < MEANS[keyOf(choices)]! ? 1 : 0 })
    }
    expect(paths.length).toBe(6)
    const plan = search(tree, recordedReward(outcomes, 1), makeUniform(5), { iterations: 4000 })
    expect(keyOf(plan.path)).toBe("sparse/deep/long")
    // Off-policy evaluation of the plan's first step (a fixed option) from the decisions of that key.
    const decisions: Array<LoggedDecision> = outcomes.map((o) => ({
      runId: o.runId,
      option: o.choices["style"]!,
      propensity: 0.5,
      policy: "uniform",
      reward: o.reward
    }))
    const good = evaluatePolicy(decisions, { kind: "fixed", option: plan.path["style"]! }, { seed: 1, resamples: 300 })
    const bad = evaluatePolicy(decisions, { kind: "fixed", option: "short" }, { seed: 1, resamples: 300 })
    expect(Either.isRight(good) && Either.isRight(bad)).toBe(true)
    if (Either.isLeft(good) || Either.isLeft(bad)) return
    expect(gatePolicy(good.right).pass).toBe(true)
    const refused = gatePolicy(bad.right)
    expect(refused.pass).toBe(false)
    expect(refused.reasons[0]).toContain("DR lower bound")
  })
})
