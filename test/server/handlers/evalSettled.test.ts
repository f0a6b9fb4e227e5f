/**
 * An eval's view never reads as `stopped` while its job finishes: the record read before the job ended is read again
 * when the job is found not running (the job writes `completed`, then ends).
 */
import { Effect, Option } from "effect"
import { describe, expect, it } from "vitest"
import type { EvalJobs } from "../../../src/server/evalJobs.js"
import { settled } from "../../../src/server/handlers/evals.js"
import { EvalStore } from "../../../src/store/evals.js"
import type { EvalRecord } from "../../../src/store/evals.js"

const RECORD: EvalRecord = {
  evalId: "ev-0123456789abcdef",
  workspace: "default",
  programHash: "sha256:00",
  programName: "main",
  dataset: "inline",
  metrics: ["exact"],
  options: {},
  total: 2,
  status: "running",
  report: null,
  createdAt: 1,
  updatedAt: 1
}

const jobs = (running: boolean): EvalJobs["Type"] => ({
  running: () => Effect.succeed(running),
  failure: () => undefined,
  start: () => Effect.void
})

const run = <A, E>(effect: Effect.Effect<A, E, EvalStore>) =>
  Effect.runPromise(Effect.provide(effect, EvalStore.layerMemory))

describe("an eval's view as its job ends", () => {
  it("takes the record written after the stale read when the job has ended", async () => {
    const out = await run(Effect.gen(function*() {
      const evals = yield* EvalStore
      const stale = yield* evals.ensure(RECORD)
      yield* evals.complete(RECORD.evalId, { mean: 1 }, 2)
      return yield* settled(stale, jobs(false))
    }))
    expect(out.running).toBe(false)
    expect(out.record.status).toBe("completed")
    expect(out.record.report).toEqual({ mean: 1 })
  })

  it("keeps the record it was given while the job runs, and when nothing newer exists", async () => {
    const out = await run(Effect.gen(function*() {
      const evals = yield* EvalStore
      const stale = yield* evals.ensure(RECORD)
      const whileRunning = yield* settled(stale, jobs(true))
      const stopped = yield* settled(stale, jobs(false))
      const missing = yield* settled({ ...RECORD, evalId: "ev-ffffffffffffffff" }, jobs(false))
      return { whileRunning, stopped, missing, stored: yield* evals.get(RECORD.evalId) }
    }))
    expect(out.whileRunning).toEqual({ running: true, record: RECORD })
    expect(out.stopped.record.status).toBe("running")
    expect(out.missing.record.evalId).toBe("ev-ffffffffffffffff")
    expect(Option.isSome(out.stored)).toBe(true)
  })
})
