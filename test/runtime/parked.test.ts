/**
 * 1,000 parked runs hold no fibers and bounded memory (SPEC §11): every
 * run of a program waiting for a signal parks; afterwards no wait is still
 * listening for a signal (each wait's fiber ended), no fiber started by a
 * run is alive, and the heap grew by less than a bound per run (the
 * memory stores keep each run's record and events; the runs themselves
 * keep nothing).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Supervisor } from "effect"
import * as Durable from "../../src/runtime/durable.js"
import { RunStore } from "../../src/runtime/runStore.js"
import { makeMemoryInbox, SignalInbox } from "../../src/runtime/signals.js"
import type { SignalInboxService } from "../../src/runtime/signals.js"
import { compileProgram, testLayer } from "../support/runtime.js"

/** An in-memory inbox that counts the listeners still waiting for a signal. */
const countingInbox = () => {
  const inner = makeMemoryInbox()
  const counter = { open: 0, opened: 0 }
  const inbox: SignalInboxService = {
    ...inner,
    listen: (runId) =>
      Effect.map(inner.listen(runId), (wait) => {
        counter.open++
        counter.opened++
        return Effect.ensuring(wait, Effect.sync(() => counter.open--))
      })
  }
  return { inbox, counter }
}

describe("parked runs", () => {
  it.live("1,000 parked runs hold no fibers and bounded memory", () => {
    const { counter, inbox } = countingInbox()
    const program = compileProgram(
      `program main(i: number) {
        ok = wait "approve": { yes: boolean } { item: i } with { timeout: "48h" }
        return ok.yes
      }`,
      []
    )
    return Effect.gen(function*() {
      const supervisor = yield* Supervisor.track
      const before = process.memoryUsage().heapUsed
      const results = yield* Effect.forEach(
        Array.from({ length: 1000 }, (_, i) => i),
        (i) => Durable.start(program, { i }),
        { concurrency: 8 }
      ).pipe(Effect.supervised(supervisor))
      expect(results.every((r) => r.status === "waiting")).toBe(true)
      expect(counter.opened).toBeGreaterThanOrEqual(1000)
      expect(counter.open).toBe(0)
      const alive = (yield* supervisor.value).filter((f) => f.unsafePoll() === null)
      expect(alive.length).toBe(0)
      const grown = process.memoryUsage().heapUsed - before
      // Each run's record and ~6 events stay in the memory stores; 64 KB per run is a generous bound.
      expect(grown).toBeLessThan(1000 * 64 * 1024)
      const runs = yield* Effect.flatMap(RunStore, (s) => s.list({ status: "waiting", limit: 1000 }))
      expect(runs.runs).toHaveLength(1000)
    }).pipe(
      Effect.provide(Layer.mergeAll(testLayer([]), RunStore.layerMemory, Layer.succeed(SignalInbox, inbox)))
    )
  }, 120_000)
})
