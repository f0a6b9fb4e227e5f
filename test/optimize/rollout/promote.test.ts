/**
 * Promotion by rule through the service (stores in memory): "promote when
 * the eval gate passes and cost ≤ 1.1×" promotes a candidate whose stored
 * eval beats the baseline's on the same examples at the same cost, and
 * refuses (recording `promotion-refused` with its checks) one that costs
 * twice as much; evals of the wrong version are a typed error naming the
 * field.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import type { Json } from "../../../src/ir/eval.js"
import * as Rollout from "../../../src/optimize/rollout/service.js"
import { DeploymentStore } from "../../../src/store/deployments.js"
import { EvalStore } from "../../../src/store/evals.js"

const v = (hash: string) => ({ hash, name: "main" })

/** A completed eval of `hash` with 12 examples scored `score(i)` at `cost` each. */
const storeEval = (evalId: string, hash: string, score: (i: number) => number, cost: number) =>
  Effect.gen(function*() {
    const evals = yield* EvalStore
    yield* evals.ensure({
      evalId,
      workspace: "w",
      programHash: hash,
      programName: "main",
      dataset: "d.jsonl",
      metrics: ["exact"],
      options: {},
      total: 12,
      status: "running",
      report: null,
      createdAt: 1,
      updatedAt: 1
    })
    let sum = 0
    for (let i = 0; i < 12; i++) {
      sum += score(i)
      yield* evals.putResult(evalId, {
        exampleId: `e${i}`,
        index: i,
        runId: `${evalId}-${i}`,
        example: {},
        status: "completed",
        output: null,
        error: null,
        latencyMs: 100,
        cost,
        scores: [score(i)],
        createdAt: 1
      })
    }
    const report = {
      evalId,
      status: "completed",
      program: { hash, name: "main" },
      dataset: "d.jsonl",
      n: 12,
      metric: "exact",
      mean: sum / 12,
      stddev: 0,
      ci: [0, 1],
      errors: 0,
      metricErrors: 0,
      metrics: [],
      latencyMs: { mean: 100, max: 100 },
      cost: { total: cost * 12, mean: cost }
    }
    yield* evals.complete(evalId, report as unknown as Json, 2)
  })

const layer = Layer.mergeAll(DeploymentStore.layerMemory, EvalStore.layerMemory)

describe("promotion rules through the service", () => {
  it.effect("promote when the eval gate passes and cost ≤ 1.1×; refuse with the checks otherwise", () =>
    Effect.gen(function*() {
      const rule = { gate: "delta>=0", maxCostRatio: 1.1 }
      yield* Rollout.putDeployment("w", "shop", { current: v("base") })
      yield* Rollout.putDeployment("w", "shop", { candidate: v("cheap"), rule })
      yield* storeEval("ev-base", "base", (i) => (i % 2 === 0 ? 1 : 0), 0.1)
      yield* storeEval("ev-cheap", "cheap", () => 1, 0.105)
      yield* storeEval("ev-pricey", "pricey", () => 1, 0.2)

      const wrong = yield* Effect.flip(
        Rollout.promote("w", "shop", { baselineEval: "ev-cheap", candidateEval: "ev-cheap" })
      )
      expect(wrong).toMatchObject({ reason: "invalid", location: "baselineEval" })

      const ok = yield* Rollout.promote("w", "shop", { baselineEval: "ev-base", candidateEval: "ev-cheap" })
      expect(ok.promoted).toBe(true)
      expect(ok.deployment).toMatchObject({ current: { hash: "cheap" }, candidate: null })
      expect(ok.rule?.checks.map((c) => [c.check, c.pass])).toEqual([["gate", true], ["maxCostRatio", true]])

      yield* Rollout.putDeployment("w", "shop", { candidate: v("pricey") })
      const refused = yield* Rollout.promote("w", "shop", { baselineEval: "ev-cheap", candidateEval: "ev-pricey" })
      expect(refused.promoted).toBe(false)
      expect(refused.deployment).toMatchObject({ current: { hash: "cheap" }, candidate: { hash: "pricey" } })
      expect(refused.rule?.checks.find((c) => c.check === "maxCostRatio")).toMatchObject({ pass: false })
      const events = yield* Rollout.history("w", "shop", 10)
      expect(events.map((e) => [e.kind, e.actor])).toEqual([
        ["promotion-refused", "rule"],
        ["rollout-started", "api"],
        ["promoted", "rule"],
        ["rollout-started", "api"],
        ["created", "api"]
      ])
      expect(events[0]!.reason).toContain("maxCostRatio")
    }).pipe(Effect.provide(layer)))
})
