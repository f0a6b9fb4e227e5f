/**
 * Regression datasets from recorded runs selected by feedback (issue 19
 * item 4): a run's reward is the mean of the rewards posted for it (under
 * one key, or all); `--feedback positive` keeps runs above 0, `--min-reward`
 * those at or above a bound; runs without feedback, other workspaces'
 * rewards and runs that did not complete are left out, and an empty
 * selection is a typed error naming the bound.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Layer } from "effect"
import { datasetFromRuns } from "../../src/eval/fromRuns.js"
import type { RunSelection } from "../../src/eval/fromRuns.js"
import { RewardLog } from "../../src/runtime/bandit/rewards.js"
import { currentWorkspace } from "../../src/runtime/llm.js"
import { RunStore } from "../../src/runtime/runStore.js"
import type { RunRecord } from "../../src/runtime/runStore.js"
import { EvalStore } from "../../src/store/evals.js"

const run = (i: number, status: RunRecord["status"] = "completed"): RunRecord => ({
  runId: `r${i}`,
  workspace: "default",
  programHash: "h1",
  programName: "main",
  status,
  inputs: { q: i },
  seed: null,
  options: {},
  createdAt: 1000 + i,
  updatedAt: 1000 + i,
  endedAt: 1010 + i,
  output: `answer ${i}`,
  state: {}
})

const layer = Layer.mergeAll(RunStore.layerMemory, EvalStore.layerMemory, RewardLog.layerMemory)

/** Six runs: r0–r4 completed, r5 failed; rewards posted for some of them. */
const setup = Effect.gen(function*() {
  const store = yield* RunStore
  for (let i = 0; i < 6; i++) yield* store.create(run(i, i === 5 ? "failed" : "completed"))
  const log = yield* RewardLog
  const post = (runId: string, key: string, reward: number) =>
    log.record(runId, key, reward).pipe(Effect.locally(currentWorkspace, "default"))
  yield* post("r0", "style", 1)
  yield* post("r1", "style", 0)
  yield* post("r2", "style", 1)
  yield* post("r2", "tone", -1) // r2: mean 0 over both keys, 1 under "style"
  yield* post("r3", "style", 0.4)
  yield* post("r5", "style", 1) // failed: never an example
  // Another workspace's reward for r4 does not count in "default".
  yield* log.record("r4", "style", 1).pipe(Effect.locally(currentWorkspace, "other"))
})

const ids = (selection: RunSelection) => Effect.map(datasetFromRuns(selection), (examples) => examples.map((e) => e.id))

describe("datasetFromRuns by feedback", () => {
  it.effect("positive feedback keeps runs whose mean reward is above 0, oldest first", () =>
    Effect.gen(function*() {
      yield* setup
      expect(yield* ids({ feedback: { min: 0, strict: true } })).toEqual(["r0", "r3"])
      const examples = yield* datasetFromRuns({ feedback: { min: 0, strict: true } })
      expect(examples[0]).toMatchObject({
        id: "r0",
        inputs: { q: 0 },
        expected: "answer 0",
        baseline: { runId: "r0", status: "completed", reward: 1 }
      })
      // Without a filter every completed run is taken, with or without feedback.
      expect(yield* ids({})).toEqual(["r0", "r1", "r2", "r3", "r4"])
    }).pipe(Effect.provide(layer)))

  it.effect("a minimum reward is inclusive; a key counts only its own rewards", () =>
    Effect.gen(function*() {
      yield* setup
      expect(yield* ids({ feedback: { min: 0.4, strict: false } })).toEqual(["r0", "r3"])
      expect(yield* ids({ feedback: { min: 0, strict: false } })).toEqual(["r0", "r1", "r2", "r3"])
      expect(yield* ids({ feedback: { min: 0.5, strict: false, key: "style" } })).toEqual(["r0", "r2"])
      expect(yield* ids({ feedback: { min: -1, strict: false, key: "tone" } })).toEqual(["r2"])
    }).pipe(Effect.provide(layer)))

  it.effect("no run with good enough feedback is a dataset error naming the bound", () =>
    Effect.gen(function*() {
      yield* setup
      const r = yield* Effect.either(datasetFromRuns({ feedback: { min: 0, strict: true, key: "tone" } }))
      expect(Either.isLeft(r)).toBe(true)
      if (Either.isLeft(r)) {
        expect(r.left.reason).toBe("dataset")
        expect(r.left.message).toContain("mean reward > 0 under \"tone\"")
      }
      const limited = yield* ids({ feedback: { min: 0, strict: false }, limit: 2 })
      // The newest two of the four with feedback ≥ 0, oldest first.
      expect(limited).toEqual(["r2", "r3"])
    }).pipe(Effect.provide(layer)))

  it.effect("runs of an eval (by tag) are filtered the same way", () =>
    Effect.gen(function*() {
      yield* setup
      const evals = yield* EvalStore
      for (let i = 0; i < 4; i++) {
        yield* evals.putResult("ev-1", {
          exampleId: `e${i}`,
          index: i,
          runId: `r${i}`,
          example: { id: `e${i}`, inputs: { q: i }, tags: ["t"] },
          status: "completed",
          output: `answer ${i}`,
          error: null,
          latencyMs: 10,
          cost: null,
          scores: [1],
          createdAt: 0
        })
      }
      const examples = yield* datasetFromRuns({ tag: "ev-1", feedback: { min: 0, strict: true } })
      expect(examples.map((e) => [e.id, e.tags])).toEqual([["e0", ["t"]], ["e3", ["t"]]])
    }).pipe(Effect.provide(layer)))
})
