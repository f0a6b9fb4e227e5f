/**
 * The run manager's timer routing (cluster mode, SPEC §10–§11): with a
 * routing, only the parked runs it says this process owns get a timer, a
 * fired timer goes to `fire` (the run's owner) instead of waking the run
 * here, and `rearm` arms the timers of runs taken over and drops the ones
 * of runs lost.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, TestClock } from "effect"
import * as Durable from "../../src/runtime/durable.js"
import { RunStore } from "../../src/runtime/runStore.js"
import { SignalInbox } from "../../src/runtime/signals.js"
import { RunManager } from "../../src/server/runManager.js"
import { compileProgram, testLayer } from "../support/runtime.js"
import { testConfig } from "../support/server.js"

const SLEEP = `program main(n: number) { nap = wait for "2s"\n return { n: n, slept: nap } }`

const base = () => Layer.mergeAll(testLayer([]), RunStore.layerMemory, SignalInbox.layerMemory)
const manager = RunManager.layer(testConfig().limits, { resumeOnStart: false })

const statusOf = (runId: string) => Effect.map(Durable.getRun(runId), (r) => r.status)

describe("timer routing", () => {
  it.scoped("arms owned timers only, fires them to the owner, and follows ownership on rearm", () =>
    Effect.gen(function*() {
      const program = compileProgram(SLEEP, [])
      const r1 = yield* Durable.start(program, { n: 1 })
      const r2 = yield* Durable.start(program, { n: 2 })
      const r3 = yield* Durable.start(compileProgram(SLEEP.replace("2s", "10s"), []), { n: 3 })
      expect([r1.status, r2.status, r3.status]).toEqual(["waiting", "waiting", "waiting"])
      const m = yield* RunManager
      const fired: Array<[string, number]> = []
      let owned = new Set([r1.runId, r3.runId])
      m.routeTimers({
        owns: (id) => owned.has(id),
        fire: (id, at) => Effect.sync(() => void fired.push([id, at]))
      })
      yield* m.rearm
      yield* TestClock.adjust("3 seconds")
      yield* Effect.yieldNow()
      // r1's timer went to its owner; nothing was woken here, r2 had no timer.
      expect(fired).toEqual([[r1.runId, 2000]])
      expect(yield* statusOf(r1.runId)).toBe("waiting")
      expect(yield* statusOf(r2.runId)).toBe("waiting")
      // r2's shard is taken over, r3's is lost: the next rearm arms r2's (past) timer, which fires at once, and drops r3's.
      owned = new Set([r2.runId])
      yield* m.rearm
      yield* TestClock.adjust("1 millis")
      yield* Effect.yieldNow()
      expect(fired).toEqual([[r1.runId, 2000], [r2.runId, 2000]])
      yield* TestClock.adjust("10 seconds")
      yield* Effect.yieldNow()
      expect(fired.map(([id]) => id)).not.toContain(r3.runId)
    }).pipe(Effect.provide(Layer.provideMerge(manager, base()))))

  it.scoped("without a routing a fired timer wakes the run here", () =>
    Effect.gen(function*() {
      const program = compileProgram(SLEEP, [])
      const r1 = yield* Durable.start(program, { n: 1 })
      const m = yield* RunManager
      yield* m.rearm
      yield* TestClock.adjust("3 seconds")
      for (let i = 0; i < 50 && (yield* statusOf(r1.runId)) !== "completed"; i++) yield* TestClock.adjust("1 millis")
      expect(yield* statusOf(r1.runId)).toBe("completed")
    }).pipe(Effect.provide(Layer.provideMerge(manager, base()))))
})
