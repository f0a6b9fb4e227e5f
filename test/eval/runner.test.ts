import { NodeContext } from "@effect/platform-node"
import { Effect, Either, Layer } from "effect"
import { describe, expect, it } from "vitest"
import { check } from "../../src/compile.js"
import { compareEvals, compareScores, parseRequirement, passes } from "../../src/eval/compare.js"
import type { Example } from "../../src/eval/dataset.js"
import { loadScorers } from "../../src/eval/metric.js"
import { parseMetric } from "../../src/eval/metricSpec.js"
import { evalIdOf, evaluate, reportOf, runIdOf } from "../../src/eval/runner.js"
import { comparePaired } from "../../src/eval/stats/paired.js"
import { RunStore } from "../../src/runtime/runStore.js"
import * as Runtime from "../../src/runtime/runtime.js"
import { EvalStore } from "../../src/store/evals.js"

const compiled = (source: string) => {
  const c = check(source)
  if (c.program === undefined || c.hash === undefined) throw new Error(JSON.stringify(c.diagnostics))
  return { program: c.normalized ?? c.program, programHash: c.hash }
}

const examples: ReadonlyArray<Example> = Array.from({ length: 10 }, (_, i) => ({
  id: `e${i}`,
  inputs: { x: i },
  expected: i * 2
}))

const layer = Layer.mergeAll(Runtime.layerMemory, RunStore.layerMemory, EvalStore.layerMemory, NodeContext.layer)

const scorers = (...texts: ReadonlyArray<string>) => loadScorers(texts.map((t) => Either.getOrThrow(parseMetric(t))))

describe("evaluate", () => {
  it("runs every example as a durable run tagged by the eval id, scores it, and does not redo it", async () => {
    const doubled = compiled(`program main(x: number) {\n  return x * 2\n}\n`)
    const offByOne = compiled(`program main(x: number) {\n  return x * 2 + 1\n}\n`)
    const result = await Effect.runPromise(
      Effect.gen(function*() {
        const metrics = yield* scorers("exact", "numeric:1", "0.5*exact + 0.5*numeric:1")
        const seen: Array<string> = []
        const a = yield* evaluate({
          ...doubled,
          examples,
          dataset: "d",
          scorers: metrics,
          onResult: (r) => Effect.sync(() => void seen.push(r.runId))
        })
        const runs = yield* RunStore
        const first = (yield* runs.list({ limit: 1000 })).runs.length
        const again = yield* evaluate({ ...doubled, examples, dataset: "d", scorers: metrics })
        const second = (yield* runs.list({ limit: 1000 })).runs.length
        const b = yield* evaluate({ ...offByOne, examples, dataset: "d", scorers: metrics })
        const stored = yield* reportOf(a.evalId)
        const cmp = yield* compareEvals([b.evalId, a.evalId], {
          alpha: 0.05,
          require: Either.getOrThrow(parseRequirement("delta>0"))
        })
        return { a, again, b, first, second, seen, stored, cmp }
      }).pipe(Effect.provide(layer))
    )
    const { a, again, b, cmp, first, second, seen, stored } = result
    expect(a.evalId).toBe(
      evalIdOf(doubled.programHash, examples, ["exact", "numeric:1", "0.5*exact + 0.5*numeric:1"], undefined)
    )
    expect(seen.sort()).toEqual(examples.map((_, i) => runIdOf(a.evalId, i)))
    expect(a).toMatchObject({ n: 10, mean: 1, errors: 0, ci: [1, 1] })
    expect(again).toEqual(a)
    expect(second).toBe(first)
    expect(stored).toEqual(a)
    expect(b.metrics.map((m) => m.mean)).toEqual([0, 1, 0.5])
    expect(cmp.pass).toBe(true)
    expect(cmp.candidates[0]).toMatchObject({ delta: 1, wins: 10, losses: 0, ties: 0 })
  })

  it("counts failed runs and metric failures as errors scored 0", async () => {
    const p = compiled(`program main(x: number) {\n  return x\n}\n`)
    const report = await Effect.runPromise(
      Effect.gen(function*() {
        const metrics = yield* scorers("exact", "latency")
        return yield* evaluate({
          ...p,
          examples: [{ id: "ok", inputs: { x: 1 }, expected: 1 }, { id: "bad", inputs: { y: 1 }, expected: 1 }, {
            id: "no-expected",
            inputs: { x: 2 }
          }],
          dataset: "d",
          scorers: metrics
        })
      }).pipe(Effect.provide(layer))
    )
    expect(report).toMatchObject({ n: 3, errors: 1, metricErrors: 1 })
    expect(report.mean).toBeCloseTo(1 / 3, 5)
  })
})

describe("the gate", () => {
  it("parses requirements and applies them to the CI and the p-value", () => {
    expect(Either.getOrThrow(parseRequirement(" delta >= 0.05 "))).toMatchObject({ op: ">=", threshold: 0.05 })
    expect(Either.isLeft(parseRequirement("mean>0"))).toBe(true)
    const better = comparePaired(Array(30).fill(0), Array.from({ length: 30 }, (_, i) => (i % 5 === 0 ? 0 : 1)))
    const req = Either.getOrThrow(parseRequirement("delta>0"))
    expect(passes(better, better.pValue, req, 0.05)).toBe(true)
    expect(passes(better, 0.2, req, 0.05)).toBe(false)
    expect(passes(better, better.pValue, Either.getOrThrow(parseRequirement("delta>0.9")), 0.05)).toBe(false)
    expect(passes(better, better.pValue, Either.getOrThrow(parseRequirement("delta<0")), 0.05)).toBe(false)
  })

  it("applies Holm's correction when more than one candidate is compared", () => {
    const base = Array.from({ length: 12 }, (_, i) => i % 2)
    const req = Either.getOrThrow(parseRequirement("delta>0"))
    const one = compareScores(base, [{ evalId: "b", scores: base.map(() => 1), unpaired: 0 }], {
      alpha: 0.05,
      require: req
    })
    const two = compareScores(base, [
      { evalId: "b", scores: base.map(() => 1), unpaired: 0 },
      { evalId: "c", scores: base, unpaired: 0 }
    ], { alpha: 0.05, require: req })
    expect(one[0]!.adjustedPValue).toBe(one[0]!.pValue)
    expect(two[0]!.adjustedPValue).toBeCloseTo(Math.min(1, 2 * two[0]!.pValue), 12)
    expect(two[1]!.pass).toBe(false)
  })
})
