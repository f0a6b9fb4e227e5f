/**
 * The run manager's resume at start (`resumeLeftRunning`) against a caller that places the same run while the
 * store is read (an eval continuing its example's run after a restart): the run is executed once, by the caller
 * that placed it; the resume at start skips it and counts only the runs it placed.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer } from "effect"
import * as Durable from "../../src/runtime/durable.js"
import { RunStore } from "../../src/runtime/runStore.js"
import { SignalInbox } from "../../src/runtime/signals.js"
import { RunManager } from "../../src/server/runManager.js"
import { compileProgram, eventsOf, testLayer } from "../support/runtime.js"
import { testConfig } from "../support/server.js"

const SLOW = `program main() {\n  a = tool std.echo(value: 1)\n  b = tool std.sleep(ms: 100)\n  return a\n}`

describe("resumeLeftRunning", () => {
  it.live("skips a run placed by another caller while it read the store", () =>
    Effect.gen(function*() {
      // The store's listing is held open (after it has read) until `release`: the window of the race.
      const release = yield* Deferred.make<void>()
      const listed = yield* Deferred.make<void>()
      const gated = Layer.effect(
        RunStore,
        Effect.map(RunStore, (store) =>
          RunStore.of({
            ...store,
            list: (query) =>
              store.list(query).pipe(
                Effect.tap(() => Deferred.succeed(listed, undefined)),
                Effect.zipLeft(Deferred.await(release))
              )
          }))
      ).pipe(Layer.provideMerge(RunStore.layerMemory))
      const base = Layer.mergeAll(testLayer([]), gated, SignalInbox.layerMemory)
      const manager = RunManager.layer(testConfig().limits, { resumeOnStart: false })
      yield* Effect.gen(function*() {
        const program = compileProgram(SLOW)
        // A run left `running` (its server stopped mid-way).
        const left = yield* Effect.fork(Durable.leaveRunning(Durable.start(program, {}, { runId: "kept" })))
        yield* Effect.sleep("30 millis")
        yield* Fiber.interrupt(left)
        const record = yield* Durable.getRun("kept")
        expect(record.status).toBe("running")
        const m = yield* RunManager
        const resumer = yield* Effect.fork(m.resumeLeftRunning)
        yield* Deferred.await(listed)
        // Meanwhile another caller places the same run.
        const placed = yield* Effect.fork(
          m.execute(
            {
              runId: "kept",
              workspace: record.workspace,
              programHash: record.programHash,
              programName: record.programName,
              inputs: record.inputs,
              seed: record.seed,
              createdAt: record.createdAt,
              state: "queued"
            },
            "resume",
            undefined
          )
        )
        yield* Effect.sleep("10 millis")
        yield* Deferred.succeed(release, undefined)
        expect(yield* Fiber.join(resumer)).toBe(0)
        expect(yield* Fiber.join(placed)).toBe("ended")
        // Wait for anything else the manager may be executing, then read the log: one execution after the stop.
        yield* Effect.sleep("300 millis")
        const events = yield* eventsOf("kept")
        expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i))
        expect(events.filter((e) => e.type === "RunCompleted")).toHaveLength(1)
        expect(events.filter((e) => e.type === "RunStarted")).toHaveLength(2)
        expect((yield* Durable.getRun("kept")).status).toBe("completed")
      }).pipe(Effect.provide(Layer.provideMerge(manager, base)))
    }))
})
