/** Every optimizer improves dev accuracy over the starting program, the gain holds on test, budgets hold, and a rerun resumes. */
import { NodeContext } from "@effect/platform-node"
import { Effect, Either, Layer } from "effect"
import { describe, expect, it } from "vitest"
import { compile } from "../../src/compile.js"
import { check } from "../../src/compile.js"
import { loadScorers } from "../../src/eval/metric.js"
import { parseMetric } from "../../src/eval/metricSpec.js"
import { optimize, type OptimizeRequest } from "../../src/optimize/optimize.js"
import type { OptimizerName } from "../../src/optimize/search.js"
import { RunStore } from "../../src/runtime/runStore.js"
import * as Runtime from "../../src/runtime/runtime.js"
import { EvalStore } from "../../src/store/evals.js"
import { makeFakeRouter, ROUTE_SOURCE, tickets } from "./fakeModel.js"

const program = compile(ROUTE_SOURCE).program!
const train = tickets("tr", 6)
const dev = tickets("dv", 12, 1)
const test = tickets("ts", 12, 2)

const request = (optimizer: OptimizerName, budget: OptimizeRequest["budget"]) =>
  Effect.map(loadScorers([Either.getOrThrow(parseMetric("exact"))]), (scorers): OptimizeRequest => ({
    program,
    train,
    dev,
    test,
    scorers,
    optimizer,
    budget,
    seed: 7,
    steps: { defaultModel: "fake/student" },
    settings: { teacherModel: "fake/teacher", proposerModel: "fake/proposer", trials: 8, minibatch: 6 }
  }))

const stores = () => Layer.mergeAll(Runtime.layerMemory, RunStore.layerMemory, EvalStore.layerMemory, NodeContext.layer)

describe("optimize", () => {
  for (const optimizer of ["bootstrap", "random", "copro", "mipro"] as const) {
    it(
      `${optimizer}: improves dev accuracy, the gain holds on test with a paired CI above 0, within the budget`,
      async () => {
        const fake = makeFakeRouter()
        const budget = { calls: 400 }
        const out = await Effect.runPromise(
          Effect.flatMap(request(optimizer, budget), optimize).pipe(Effect.provide(Layer.merge(stores(), fake.layer)))
        )
        const { report } = out
        expect(report.dev.baseline.mean).toBe(0)
        expect(report.dev.optimized.mean).toBe(1)
        expect(report.test!.optimized.mean).toBe(1)
        const gain = report.test!.comparison.candidates[0]!
        expect(gain.ci[0]).toBeGreaterThan(0)
        expect(gain.pass).toBe(true)
        expect(report.optimized.hash).not.toBe(report.start.hash)
        expect(fake.state.calls).toBeLessThanOrEqual(budget.calls)
        expect(report.usage.calls).toBe(fake.state.calls)
        // The test split never reaches the search: only the two final evals ran on it.
        expect(report.trials.filter((t) => t.split === "test").map((t) => t.label)).toEqual(["baseline", "optimized"])
        // The optimized program is a valid program text that carries what was found.
        const printed = check(out.source)
        expect(printed.diagnostics).toEqual([])
        expect(printed.hash).toBe(report.optimized.hash)
      },
      60_000
    )
  }

  it("never spends more calls than the budget, however small", async () => {
    for (const calls of [0, 5, 31, 47]) {
      const fake = makeFakeRouter()
      const result = await Effect.runPromise(
        Effect.either(
          Effect.flatMap(request("mipro", { calls }), optimize).pipe(Effect.provide(Layer.merge(stores(), fake.layer)))
        )
      )
      expect(fake.state.calls).toBeLessThanOrEqual(calls)
      if (Either.isRight(result)) expect(result.right.report.usage.calls).toBeLessThanOrEqual(calls)
      else expect(result.left.reason).toBe("budget")
    }
  }, 60_000)

  it("a second run of the same optimization redoes no trial and gives the same result", async () => {
    const fake = makeFakeRouter()
    const layer = Layer.merge(stores(), fake.layer)
    const [first, callsAfterFirst, second] = await Effect.runPromise(
      Effect.gen(function*() {
        const r = yield* request("random", { calls: 400 })
        const a = yield* optimize(r)
        const n = fake.state.calls
        const b = yield* optimize(r)
        return [a, n, b] as const
      }).pipe(Effect.provide(layer))
    )
    expect(fake.state.calls).toBe(callsAfterFirst)
    expect(second.report.optimized).toEqual(first.report.optimized)
    expect(second.report.trials.map((t) => t.evalId)).toEqual(first.report.trials.map((t) => t.evalId))
    expect(second.report.usage.calls).toBe(first.report.usage.calls)
  }, 60_000)
})
