/** `EvalStore` over SQL (PGlite, and PostgreSQL when TRELLIS_TEST_DATABASE_URL is set) behaves as the memory one. */
import { Effect, Layer, Option } from "effect"
import { describe, expect, it } from "vitest"
import { EvalStore } from "../../src/store/evals.js"
import * as EvalsSql from "../../src/store/evals.js"
import type { EvalRecord, EvalResult } from "../../src/store/evals.js"
import { layerMigrations } from "../../src/store/layer.js"
import { testBackends } from "../support/db.js"

const record: EvalRecord = {
  evalId: "ev-1",
  workspace: "acme",
  programHash: "h",
  programName: "main",
  dataset: "d.jsonl",
  metrics: ["exact", "f1"],
  options: { concurrency: 2, seed: null },
  total: 2,
  status: "running",
  report: null,
  createdAt: 1,
  updatedAt: 1
}

const result = (i: number, over: Partial<EvalResult> = {}): EvalResult => ({
  exampleId: `e${i}`,
  index: i,
  runId: `ev-1-0000${i}`,
  example: { id: `e${i}`, inputs: { q: "\u0000 nul" }, expected: null },
  status: "completed",
  output: null,
  error: null,
  latencyMs: 12.5,
  cost: 0.001,
  scores: [1, null],
  createdAt: 2,
  ...over
})

const scenario = Effect.gen(function*() {
  const store = yield* EvalStore
  const first = yield* store.ensure(record)
  const second = yield* store.ensure({ ...record, dataset: "other" })
  yield* store.putResult("ev-1", result(1))
  yield* store.putResult("ev-1", result(0, { status: "failed", error: { kind: "Permanent", message: "x" } }))
  yield* store.putResult("ev-1", result(1, { output: { a: [1] } }))
  const results = yield* store.results("ev-1")
  yield* store.complete("ev-1", { mean: 0.5 }, 9)
  const done = yield* store.get("ev-1")
  const other = yield* store.get("ev-1", "beta")
  const owner = yield* store.evalOfRun("ev-1-00001")
  const none = yield* store.evalOfRun("nope")
  return { first, second, results, done, other, owner, none }
})

const check = (r: Effect.Effect.Success<typeof scenario>) => {
  expect(r.first).toEqual(record)
  expect(r.second.dataset).toBe("d.jsonl")
  expect(r.results.map((x) => x.exampleId)).toEqual(["e0", "e1"])
  expect(r.results[0]).toMatchObject({ status: "failed", error: { kind: "Permanent", message: "x" } })
  expect(r.results[1]).toEqual(result(1, { output: { a: [1] } }))
  expect(Option.getOrThrow(r.done)).toMatchObject({ status: "completed", report: { mean: 0.5 }, updatedAt: 9 })
  expect(Option.isNone(r.other)).toBe(true)
  expect(r.owner).toEqual(Option.some("ev-1"))
  expect(Option.isNone(r.none)).toBe(true)
}

describe("EvalStore", () => {
  it("in memory", async () => {
    check(await Effect.runPromise(scenario.pipe(Effect.provide(EvalStore.layerMemory))))
  })

  for (const backend of testBackends()) {
    it(`on ${backend.name}`, async () => {
      const layer = EvalsSql.layer.pipe(Layer.provide(layerMigrations), Layer.provideMerge(backend.layer))
      check(await Effect.runPromise(scenario.pipe(Effect.provide(layer), Effect.scoped)))
    }, 60_000)
  }
})
