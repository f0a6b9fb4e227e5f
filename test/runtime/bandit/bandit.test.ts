/**
 * Bandits: each strategy converges to the best arm on a seeded simulated
 * reward, the same seed gives the same choices, propensities are in (0, 1]
 * (and sum to 1 over the options for epsilon-greedy), feedback versions the state.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Random } from "effect"
import { Schema } from "effect"
import { beta, makeUniform } from "../../../src/runtime/bandit/sample.js"
import { applyFeedback, BanditState, emptyState, policyName } from "../../../src/runtime/bandit/state.js"
import type { BanditStrategy } from "../../../src/runtime/bandit/state.js"
import { PolicyStore } from "../../../src/runtime/bandit/store.js"
import { chooseArm, epsilonGreedyPropensities } from "../../../src/runtime/bandit/strategy.js"
import type { Choice } from "../../../src/runtime/bandit/strategy.js"

const ARMS = { slow: 0.2, medium: 0.5, fast: 0.8 } as const
const OPTIONS = Object.keys(ARMS)

/** Plays `rounds` rounds of a Bernoulli bandit through the PolicyStore; rewards drawn from the same seeded Random. */
const simulate = (strategy: BanditStrategy, rounds: number, seed: number): Effect.Effect<ReadonlyArray<Choice>> =>
  Effect.gen(function*() {
    const store = yield* PolicyStore
    const choices: Array<Choice> = []
    for (let i = 0; i < rounds; i++) {
      const choice = yield* store.choose("route", OPTIONS, strategy)
      choices.push(choice)
      const p = ARMS[choice.option as keyof typeof ARMS]
      const reward = (yield* Random.next) < p ? 1 : 0
      yield* store.feedback("route", choice.option, reward)
    }
    return choices
  }).pipe(Effect.provide(PolicyStore.layerMemory), Effect.withRandom(Random.make(seed)))

const STRATEGIES: ReadonlyArray<BanditStrategy> = [
  { kind: "epsilon-greedy" },
  { kind: "epsilon-greedy", epsilon: 0.2 },
  { kind: "ucb1" },
  { kind: "thompson" }
]

describe("bandit strategies", () => {
  for (const strategy of STRATEGIES) {
    const name = policyName(strategy)
    it.effect(`${name} converges to the best arm`, () =>
      Effect.gen(function*() {
        const choices = yield* simulate(strategy, 1_500, 11)
        const last = choices.slice(-500)
        const share = last.filter((c) => c.option === "fast").length / last.length
        expect(share).toBeGreaterThan(strategy.kind === "ucb1" ? 0.75 : 0.8)
      }))

    it.effect(`${name}: the same seed gives the same choices, another seed others`, () =>
      Effect.gen(function*() {
        const a = yield* simulate(strategy, 200, 5)
        const b = yield* simulate(strategy, 200, 5)
        const c = yield* simulate(strategy, 200, 6)
        expect(a).toEqual(b)
        expect(a.map((x) => x.option)).not.toEqual(c.map((x) => x.option))
      }))

    it.effect(`${name}: propensities are in (0, 1], versions count feedback`, () =>
      Effect.gen(function*() {
        const choices = yield* simulate(strategy, 300, 3)
        for (const c of choices) {
          expect(c.propensity).toBeGreaterThan(0)
          expect(c.propensity).toBeLessThanOrEqual(1)
          expect(c.policy).toBe(name)
        }
        expect(choices.map((c) => c.version)).toEqual(choices.map((_, i) => i))
      }))
  }

  it("epsilon-greedy propensities sum to 1 over the options and match its choice frequencies", () => {
    let state = emptyState("k")
    const options = ["a", "b", "c", "d"]
    for (const [o, r] of [["a", 1], ["b", 0], ["b", 1], ["c", 0], ["d", 1]] as const) state = applyFeedback(state, o, r)
    for (const epsilon of [0, 0.1, 0.5, 1]) {
      const ps = epsilonGreedyPropensities(state, options, epsilon)
      const sum = [...ps.values()].reduce((x, y) => x + y, 0)
      expect(sum).toBeCloseTo(1, 12)
    }
    // greedy set = {a, d} (mean 1 each): each gets (1 − ε)/2 + ε/4
    const ps = epsilonGreedyPropensities(state, options, 0.1)
    expect(ps.get("a")).toBeCloseTo(0.45 + 0.025, 12)
    expect(ps.get("d")).toBeCloseTo(0.45 + 0.025, 12)
    expect(ps.get("b")).toBeCloseTo(0.025, 12)
    const counts = new Map<string, number>()
    const n = 20_000
    const draws = Effect.runSync(
      Effect.forEach(Array.from({ length: n }), () => chooseArm(state, options, { kind: "epsilon-greedy" })).pipe(
        Effect.withRandom(Random.make(99))
      )
    )
    for (const d of draws) counts.set(d.option, (counts.get(d.option) ?? 0) + 1)
    for (const o of options) expect((counts.get(o) ?? 0) / n).toBeCloseTo(ps.get(o)!, 1)
    // an option without rewards is greedy (tried first)
    const withNew = epsilonGreedyPropensities(state, [...options, "e"], 0.1)
    expect(withNew.get("e")).toBeCloseTo(0.9 + 0.02, 12)
  })

  it("ucb1 tries every option before exploiting", () => {
    const options = ["x", "y", "z"]
    let state = emptyState("k")
    const seen = new Set<string>()
    for (let i = 0; i < 3; i++) {
      const c = Effect.runSync(chooseArm(state, options, { kind: "ucb1" }).pipe(Effect.withRandom(Random.make(i))))
      expect(c.propensity).toBeCloseTo(1 / (3 - i), 12)
      seen.add(c.option)
      state = applyFeedback(state, c.option, 0.5)
    }
    expect(seen).toEqual(new Set(options))
  })

  it("thompson's propensity tracks how often it picks an option", () => {
    let state = emptyState("k")
    for (let i = 0; i < 20; i++) state = applyFeedback(state, "good", i % 4 === 0 ? 0 : 1)
    for (let i = 0; i < 20; i++) state = applyFeedback(state, "bad", i % 4 === 0 ? 1 : 0)
    const draws = Effect.runSync(
      Effect.forEach(Array.from({ length: 500 }), () => chooseArm(state, ["good", "bad"], { kind: "thompson" })).pipe(
        Effect.withRandom(Random.make(1))
      )
    )
    const freq = draws.filter((d) => d.option === "good").length / draws.length
    const good = draws.find((d) => d.option === "good")!
    expect(freq).toBeGreaterThan(0.95)
    expect(good.propensity).toBeGreaterThan(0.9)
  })

  it("dies on an empty option list", () => {
    expect(() => Effect.runSync(chooseArm(emptyState("k"), [], { kind: "ucb1" }))).toThrow(/no options/)
  })
})

describe("bandit state", () => {
  it("feedback accumulates rewards, clamps successes to [0,1], ignores non-finite rewards", () => {
    let s = emptyState("k")
    s = applyFeedback(s, "a", 2)
    s = applyFeedback(s, "a", -1)
    s = applyFeedback(s, "a", Number.NaN)
    expect(s).toEqual({ key: "k", version: 2, arms: { a: { pulls: 2, rewardSum: 1, successes: 1 } } })
    expect(Schema.decodeUnknownSync(BanditState)(JSON.parse(JSON.stringify(s)))).toEqual(s)
  })

  it.effect("PolicyStore keeps one state per key", () =>
    Effect.gen(function*() {
      const store = yield* PolicyStore
      yield* store.feedback("k1", "a", 1)
      yield* store.feedback("k1", "b", 0)
      yield* store.feedback("k2", "a", 0.5)
      expect((yield* store.snapshot("k1")).version).toBe(2)
      expect((yield* store.snapshot("k2")).arms).toEqual({ a: { pulls: 1, rewardSum: 0.5, successes: 0.5 } })
      expect(yield* store.snapshot("none")).toEqual(emptyState("none"))
      const c = yield* store.choose("k1", ["a", "b"], { kind: "epsilon-greedy", epsilon: 0 })
      expect(c).toEqual({ option: "a", propensity: 1, policy: "epsilon-greedy(0)", version: 2 })
    }).pipe(Effect.provide(PolicyStore.layerMemory)))
})

describe("sampling", () => {
  it("beta variates have the right mean and stay in [0, 1]", () => {
    const u = makeUniform(123)
    for (const [a, b] of [[1, 1], [2, 5], [30, 10], [0.5, 0.5]] as const) {
      let sum = 0
      // Out-of-range draws are collected and checked once: 40,000 `expect` calls cost more than the sampling.
      const outside: Array<number> = []
      const n = 20_000
      for (let i = 0; i < n; i++) {
        const x = beta(u, a, b)
        if (!(x >= 0 && x <= 1)) outside.push(x)
        sum += x
      }
      expect(outside).toEqual([])
      expect(sum / n).toBeCloseTo(a / (a + b), 1)
    }
  })
})
