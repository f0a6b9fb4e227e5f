import { NodeContext } from "@effect/platform-node"
import { Effect, Either, Layer } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { check } from "../../src/compile.js"
import type { Observation } from "../../src/eval/metric.js"
import { judgeSource, loadScorer, scoreOf } from "../../src/eval/metric.js"
import { parseMetric } from "../../src/eval/metricSpec.js"
import * as Runtime from "../../src/runtime/runtime.js"

const dir = mkdtempSync(join(tmpdir(), "ea-metric-"))
const file = (name: string, text: string) => {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

const observation = (output: number, expected: number, status: Observation["status"] = "completed"): Observation => ({
  example: { id: "e", inputs: { x: 1 }, expected },
  status,
  output,
  latencyMs: 40,
  cost: 0.5
})

const score = (metric: string, o: Observation) =>
  Effect.runPromise(
    Effect.gen(function*() {
      const scorer = yield* loadScorer(Either.getOrThrow(parseMetric(metric)))
      return yield* Effect.either(scorer.score(o))
    }).pipe(Effect.provide(Layer.merge(Runtime.layerMemory, NodeContext.layer)))
  )

describe("loaded metrics", () => {
  it("a Trellis program metric gets actual and expected by name", async () => {
    const path = file(
      "close.tr",
      `program main(actual: number, expected: number) {\n  gap = max([actual - expected, expected - actual])\n  return { pass: gap <= 1 }\n}\n`
    )
    expect(await score(`program:${path}`, observation(3, 4))).toEqual(Either.right(1))
    expect(await score(`program:${path}`, observation(3, 5))).toEqual(Either.right(0))
  })

  it("a TypeScript function metric, and a composite with latency; a failed run scores 0 but keeps its latency", async () => {
    const path = file("m.mjs", `export const metric = ({ output, expected }) => output === expected\n`)
    expect(await score(`ts:${path}`, observation(2, 2))).toEqual(Either.right(1))
    expect(await score(`0.5*ts:${path} + 0.5*latency`, observation(2, 2))).toEqual(Either.right(20.5))
    expect(await score(`0.5*ts:${path} + 0.5*latency`, observation(2, 2, "failed"))).toEqual(Either.right(20))
    const missing = await Effect.runPromise(
      Effect.either(loadScorer(Either.getOrThrow(parseMetric(`ts:${path}#nope`)))).pipe(
        Effect.provide(NodeContext.layer)
      )
    )
    expect(Either.isLeft(missing) && missing.left.message).toContain(`exports no function "nope"`)
  })

  it("a throwing function is a metric error naming the example", async () => {
    const path = file("boom.mjs", `export const metric = () => { throw new Error("boom") }\n`)
    const r = await score(`ts:${path}`, observation(1, 1))
    expect(Either.isLeft(r) && r.left.display).toBe(`example e: ts:${path}: threw: boom`)
  })

  it("a judge becomes a program calling its signature; scores come from score or pass", () => {
    const source = `signature Grade {\n  input actual: string\n  input expected: string\n  output score: number\n}\n`
    const c = check(`${source}\nprogram main() { return 0 }\n`)
    const sig = c.program!.signatures["Grade"]!
    const judged = check(judgeSource(source, "Grade", sig, "fake/m"))
    expect(judged.diagnostics).toEqual([])
    expect(judgeSource(source, "Grade", sig, "fake/m")).toContain(
      `verdict = llm Grade(actual: actual, expected: expected) with { model: "fake/m" }`
    )
    expect(scoreOf({ score: 0.25 })).toBe(0.25)
    expect(scoreOf({ pass: true })).toBe(1)
    expect(scoreOf("x")).toBeUndefined()
  })
})
