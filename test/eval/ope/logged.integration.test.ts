/**
 * Off-policy evaluation end to end, on each store backend and in memory:
 * runs of a program with a `choose` step, rewards posted through
 * `Runtime.feedback`, then the key's logged decisions (its `ChoiceMade`
 * events joined with the rewards, through `RewardLog` and `EventLog`) and
 * the estimates of fixed targets. Rewards are a fixed number per option, so
 * SNIPS and DR recover each logged option's reward exactly.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Either, Layer } from "effect"
import { evaluatePolicy } from "../../../src/eval/ope/estimators.js"
import { loggedDecisions } from "../../../src/eval/ope/logged.js"
import { RewardLog } from "../../../src/runtime/bandit/rewards.js"
import { ResultCache } from "../../../src/runtime/policy/cache.js"
import { ToolLimiter } from "../../../src/runtime/policy/limiter.js"
import * as Runtime from "../../../src/runtime/runtime.js"
import { ToolRegistry } from "../../../src/tools/registry.js"
import { compileProgram } from "../../support/runtime.js"
import { storeBackends } from "../../support/store.js"

const SOURCE = `
program main() {
  pick = choose "eb-style" {
    short: { return "short" }
    long: { return "long" }
    other: { return "other" }
  }
  return pick
}
`

const REWARD: Record<string, number> = { short: 0.2, long: 0.9, other: 0.5 }

/** 60 runs under epsilon-greedy(0.6), each rewarded by its option; one run rewarded under a key it never chose. */
const scenario = Effect.gen(function*() {
  const program = compileProgram(SOURCE)
  for (let seed = 1; seed <= 60; seed++) {
    const result = yield* Runtime.run(program, {}, {
      seed,
      strategies: { "eb-style": { kind: "epsilon-greedy", epsilon: 0.6 } }
    })
    yield* Runtime.feedback(result.runId, "eb-style", REWARD[result.output as string]!)
  }
  yield* (yield* RewardLog).record("eb-no-such-run", "eb-style", 1)
  const log = yield* loggedDecisions("eb-style")
  expect(log.decisions).toHaveLength(60)
  expect(log.runsWithoutChoices).toEqual(["eb-no-such-run"])
  expect(log.decisions.every((d) => d.policy === "epsilon-greedy(0.6)" && d.propensity >= 0.2 - 1e-12)).toBe(true)
  const seen = new Set(log.decisions.map((d) => d.option))
  expect(seen.size).toBe(3)
  for (const option of seen) {
    const v = Either.getOrThrow(evaluatePolicy(log.decisions, { kind: "fixed", option }, { resamples: 100 }))
    expect(v.snips.estimate).toBeCloseTo(REWARD[option]!, 10)
    expect(v.dr.estimate).toBeCloseTo(REWARD[option]!, 10)
    expect(v.n).toBe(60)
  }
  // Nothing posted later than now.
  expect((yield* loggedDecisions("eb-style", Date.now() + 60_000)).decisions).toEqual([])
})

const others = Layer.mergeAll(ResultCache.layerMemory, ToolLimiter.layer, ToolRegistry.layerBuiltins)

describe("in memory", () => {
  layer(Layer.merge(Runtime.layerServices, ToolRegistry.layerBuiltins))((it) => {
    it.effect("logged decisions and their estimates", () => scenario)
  })
})

for (const backend of storeBackends()) {
  describe(backend.name, () => {
    layer(Layer.merge(backend.layer, others), { timeout: "60 seconds" })((it) => {
      it.effect("logged decisions and their estimates", () => scenario, 60_000)
    })
  })
}
