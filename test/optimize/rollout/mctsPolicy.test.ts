/**
 * The pieces of `eval policy --target mcts`: the ε-mixed plan's probability of every full path of the choose tree
 * sums to 1 and puts (1 − ε + ε/k) per step on the plan; the `fixed` strategy chooses with exactly the
 * propensities it records; a plan evaluated off-policy on held-out runs logged uniformly is worth what the
 * rewards say it is.
 */
import { Effect, Either, Random } from "effect"
import { describe, expect, it } from "vitest"
import { evaluateMcts, planStrategies, planTarget } from "../../../src/optimize/rollout/mctsPolicy.js"
import type { PathOutcome } from "../../../src/optimize/rollout/mctsPolicy.js"
import type { ChooseTree } from "../../../src/runtime/bandit/mcts.js"
import { pathsOf } from "../../../src/runtime/bandit/mcts.js"
import { emptyState } from "../../../src/runtime/bandit/state.js"
import { chooseArm } from "../../../src/runtime/bandit/strategy.js"

const TONE: ChooseTree = { key: "tone", options: [{ label: "p", next: null }, { label: "q", next: null }] }
const TREE: ChooseTree = {
  key: "plan",
  options: [
    {
      label: "a",
      next: { key: "depth", options: [{ label: "x", next: TONE }, { label: "y", next: TONE }] }
    },
    { label: "b", next: TONE }
  ]
}

describe("the ε-mixed plan", () => {
  it("gives every path a probability, summing to 1, the plan's path (1 − ε + ε/k) per step", () => {
    const target = planTarget(TREE, { plan: "a", depth: "y", tone: "q" }, 0.1)
    expect(target.size).toBe(6)
    expect([...target.values()].reduce((s, p) => s + p, 0)).toBeCloseTo(1, 12)
    expect(target.get("plan=a > depth=y > tone=q")).toBeCloseTo(0.95 ** 3, 12)
    expect(target.get("plan=b > tone=q")).toBeCloseTo(0.05 * 0.95, 12)
    // A key off the plan's path is uniform.
    const partial = planTarget(TREE, { plan: "b", tone: "p" }, 0)
    expect(partial.get("plan=a > depth=x > tone=p")).toBe(0)
    expect(partial.get("plan=b > tone=p")).toBe(1)
    expect(planStrategies(TREE, { plan: "b", tone: "p" }, 0.2)).toEqual({
      plan: { kind: "fixed", option: "b", epsilon: 0.2 },
      depth: { kind: "epsilon-greedy", epsilon: 1 },
      tone: { kind: "fixed", option: "p", epsilon: 0.2 }
    })
  })

  it("the fixed strategy chooses with the propensities it records", () => {
    const options = ["a", "b", "c", "d"]
    const counts = new Map<string, number>()
    const recorded = new Map<string, number>()
    Effect.runSync(
      Effect.gen(function*() {
        for (let i = 0; i < 4000; i++) {
          const c = yield* chooseArm(emptyState("k"), options, { kind: "fixed", option: "c", epsilon: 0.2 })
          counts.set(c.option, (counts.get(c.option) ?? 0) + 1)
          recorded.set(c.option, c.propensity)
          expect(c.policy).toBe("fixed(c,0.2)")
        }
      }).pipe(Effect.withRandom(Random.make(7)))
    )
    expect(recorded.get("c")).toBeCloseTo(0.85, 12)
    expect(recorded.get("a")).toBeCloseTo(0.05, 12)
    expect(counts.get("c")! / 4000).toBeGreaterThan(0.82)
    expect(counts.get("c")! / 4000).toBeLessThan(0.88)
    for (const o of ["a", "b", "d"]) expect(counts.get(o)! / 4000).toBeGreaterThan(0.03)
    // An option the key does not offer leaves the choice uniform.
    const other = Effect.runSync(chooseArm(emptyState("k"), options, { kind: "fixed", option: "z" }))
    expect(other.propensity).toBe(0.25)
  })

  it("a plan searched on the earlier runs is worth, on the later ones, what their rewards say", () => {
    const paths = pathsOf(TREE)
    const reward = (path: Readonly<Record<string, string>>) =>
      path["depth"] === "y" && path["tone"] === "q" ? 1 : path["plan"] === "b" && path["tone"] === "p" ? 0.6 : 0.2
    // Every path logged with its uniform propensity, cycling so each half holds every path.
    const rows: Array<PathOutcome> = Array.from({ length: 96 }, (_, i) => {
      const choices = paths[i % paths.length]!
      return {
        runId: `r${i}`,
        choices,
        propensity: choices["plan"] === "a" ? 1 / 8 : 1 / 4,
        policy: "epsilon-greedy(1)",
        reward: reward(choices)
      }
    })
    const result = evaluateMcts(TREE, rows, { iterations: 300, epsilon: 0.1, resamples: 200, seed: 3 })
    expect(result.evaluatedPlan.path).toEqual({ plan: "a", depth: "y", tone: "q" })
    expect(result.plan.path).toEqual({ plan: "a", depth: "y", tone: "q" })
    expect(result.trained).toBe(48)
    const v = Either.getOrThrow(result.value)
    // The exact value of the ε-mixed plan under these rewards, from its path probabilities.
    const target = planTarget(TREE, result.plan.path, 0.1)
    const exact = paths.reduce(
      (s, p) => s + target.get(Object.entries(p).map(([k, o]) => `${k}=${o}`).join(" > "))! * reward(p),
      0
    )
    expect(v.dr.estimate).toBeCloseTo(exact, 9)
    expect(v.target).toBe("mcts:300")
  })
})
