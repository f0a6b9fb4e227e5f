/**
 * Laws (issue 20) of rollout routing and the contextual bandit: the share of
 * distinct keys routed to the candidate converges to the percentage; a key
 * is sticky (always the same version) and raising the percentage only moves
 * keys to the candidate; the Holm-corrected canary never rolls back two
 * versions drawn from one distribution more often than α allows; on a
 * simulated contextual problem (the best option depends on a categorical
 * input) LinUCB earns more than the context-free UCB1 of `choose`. Every
 * simulation is seeded.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Random } from "effect"
import * as fc from "fast-check"
import { makeRng } from "../src/eval/stats/random.js"
import { judge } from "../src/optimize/rollout/canary.js"
import type { RunOutcome } from "../src/optimize/rollout/canary.js"
import { bucketOf, routeOf } from "../src/optimize/rollout/routing.js"
import { choose, emptyModel, featuresOf, update } from "../src/runtime/bandit/linucb.js"
import type { FeatureSpec } from "../src/runtime/bandit/linucb.js"
import { applyFeedback, emptyState } from "../src/runtime/bandit/state.js"
import { chooseArm } from "../src/runtime/bandit/strategy.js"
import { LAW_CASES, numRuns } from "./settings.js"

describe("sticky routing", () => {
  it("routes a share of distinct keys that converges to the percentage", () => {
    let compared = 0
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100 }), fc.string({ maxLength: 12 }), (percent, salt) => {
        const n = 4000
        let candidate = 0
        for (let i = 0; i < n; i++) if (routeOf(salt, `key-${i}`, percent) === "candidate") candidate++
        compared++
        // Binomial sd at n = 4000 is at most 0.0079: 0.04 is five of them.
        expect(Math.abs(candidate / n - percent / 100)).toBeLessThan(0.04)
      }),
      { numRuns: numRuns(LAW_CASES / 20) }
    )
    expect(compared).toBe(numRuns(LAW_CASES / 20))
  })

  it("is sticky: the same key, the same version; raising the percentage only moves keys to the candidate", () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.string(),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 100 }),
        (salt, key, p, q) => {
          expect(routeOf(salt, key, p)).toBe(routeOf(salt, key, p))
          expect(bucketOf(salt, key)).toBe(bucketOf(salt, key))
          const [lo, hi] = p <= q ? [p, q] : [q, p]
          if (routeOf(salt, key, lo) === "candidate") expect(routeOf(salt, key, hi)).toBe("candidate")
          expect(routeOf(salt, key, 0)).toBe("current")
          expect(routeOf(salt, key, 100)).toBe("candidate")
        }
      ),
      { numRuns: numRuns(LAW_CASES) }
    )
  })
})

describe("canary", () => {
  it("rolls back two versions of one distribution at most about α of the time", () => {
    const cases = numRuns(LAW_CASES / 10)
    let rollbacks = 0
    for (let c = 0; c < cases; c++) {
      const rng = makeRng(1000 + c)
      const outcomes: Array<RunOutcome> = Array.from({ length: 80 }, (_, i) => ({
        runId: `r${i}`,
        role: i % 2 === 0 ? "current" : "candidate",
        failed: rng() < 0.2,
        latencyMs: 100 + 50 * rng()
      }))
      if (judge({ minRuns: 20, permutations: 500, seed: c }, outcomes).action === "rollback") rollbacks++
    }
    // Two metrics, Holm at α = 0.05: the family-wise rate is ≤ 0.05; allow sampling noise.
    expect(rollbacks / cases).toBeLessThan(0.12)
  })
})

const SPEC: FeatureSpec = { numeric: [], categorical: ["segment"], buckets: 32 }
const ARMS = ["a", "b", "c"] as const

/** The contextual problem: segment s ∈ {0, 1, 2}; option ARMS[s] pays with probability 0.8, the others 0.2. */
const simulate = (seed: number, rounds: number) => {
  const rng = makeRng(seed)
  let lin = emptyModel(featuresOf(SPEC, {}).length)
  let state = emptyState("k")
  let linReward = 0
  let ucbReward = 0
  for (let t = 0; t < rounds; t++) {
    const segment = Math.floor(rng() * 3)
    const best = ARMS[segment]!
    const pay = (o: string) => (rng() < (o === best ? 0.8 : 0.2) ? 1 : 0)
    const x = featuresOf(SPEC, { segment: `s${segment}` })
    const l = choose(lin, ARMS, x, rng(), 0.5)
    const rl = pay(l.option)
    lin = update(lin, l.option, x, rl)
    linReward += rl
    const u = Effect.runSync(
      chooseArm(state, ARMS, { kind: "ucb1" }).pipe(Effect.withRandom(Random.make(seed * 7919 + t)))
    )
    const ru = pay(u.option)
    state = applyFeedback(state, u.option, ru)
    ucbReward += ru
  }
  return { linReward, ucbReward }
}

describe("LinUCB", () => {
  it("the segments hash to distinct buckets (so the problem is learnable)", () => {
    const xs = [0, 1, 2].map((s) => featuresOf(SPEC, { segment: `s${s}` }).join(","))
    expect(new Set(xs).size).toBe(3)
  })

  it("earns more than the context-free UCB1 when the best option depends on the context", () => {
    let compared = 0
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_000_000 }), (seed) => {
        const { linReward, ucbReward } = simulate(seed, 300)
        compared++
        expect(linReward).toBeGreaterThan(ucbReward)
      }),
      { numRuns: numRuns(LAW_CASES / 50) }
    )
    expect(compared).toBe(numRuns(LAW_CASES / 50))
  })
})
