/**
 * Durable waits on the in-memory stores (SPEC §11): a run reaching a wait
 * parks (`waiting`, no fiber) while its other branches finish; a signal
 * (checked against the declared answer type) wakes it through resume; a
 * deadline fails the step with `Timeout`; a signal sent before the wait
 * is reached is buffered; the same signal id twice is one signal; a
 * signal to an ended or unknown run changes nothing; durable sleeps fire
 * on the TestClock; replay answers waits from the record.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, TestClock } from "effect"
import * as Durable from "../../src/runtime/durable.js"
import { RunStore } from "../../src/runtime/runStore.js"
import { SignalInbox } from "../../src/runtime/signals.js"
import { EventLog } from "../../src/trace/events.js"
import { compileProgram, testLayer } from "../support/runtime.js"

const APPROVE = `
program main(total: number) {
  ok = wait "approve": { approved: boolean, note: string } { amount: total } with { timeout: "48h" }
  side = total * 2
  return if ok.approved { return { paid: total, note: ok.note, side: side } } else { return { paid: 0, note: ok.note, side: side } }
}
`

const layer = () => Layer.mergeAll(testLayer([]), RunStore.layerMemory, SignalInbox.layerMemory)

const statusOf = (runId: string) => Effect.map(Durable.getRun(runId), (r) => r.status)
const eventTypes = (runId: string) =>
  Effect.map(Effect.flatMap(EventLog, (log) => log.events(runId)), (es) => es.map((e) => e.type))

describe("durable waits", () => {
  it.effect("approve: parks, then a signal wakes the run and the wait evaluates to its payload", () =>
    Effect.gen(function*() {
      const program = compileProgram(APPROVE, [])
      const first = yield* Durable.start(program, { total: 40 })
      expect(first.status).toBe("waiting")
      expect(first.status === "waiting" && first.waits.map((w) => w.name)).toEqual(["approve"])
      expect(yield* statusOf(first.runId)).toBe("waiting")
      const receipt = yield* Durable.signal(first.runId, "approve", { approved: true, note: "ok" })
      expect(receipt).toMatchObject({ accepted: true, status: "waiting" })
      const done = yield* Durable.resume(first.runId)
      expect(done).toEqual({ runId: first.runId, status: "completed", output: { paid: 40, note: "ok", side: 80 } })
      expect(yield* statusOf(first.runId)).toBe("completed")
      const types = yield* eventTypes(first.runId)
      expect(types.filter((t) => t === "Waiting")).toHaveLength(1)
      expect(types.filter((t) => t === "Signalled")).toHaveLength(1)
    }).pipe(Effect.provide(layer())))

  it.effect("reject: the other branch runs", () =>
    Effect.gen(function*() {
      const program = compileProgram(APPROVE, [])
      const first = yield* Durable.start(program, { total: 40 })
      yield* Durable.signal(first.runId, "approve", { approved: false, note: "no" })
      const done = yield* Durable.resume(first.runId)
      expect(done.output).toEqual({ paid: 0, note: "no", side: 80 })
    }).pipe(Effect.provide(layer())))

  it.effect("a payload of the wrong type is refused and changes nothing", () =>
    Effect.gen(function*() {
      const program = compileProgram(APPROVE, [])
      const first = yield* Durable.start(program, { total: 1 })
      const refused = yield* Effect.flip(Durable.signal(first.runId, "approve", { approved: "yes", note: "x" }))
      expect(refused.kind).toBe("InvalidInput")
      expect(refused.message).toContain("payload.approved must be a boolean")
      const unknown = yield* Effect.flip(Durable.signal(first.runId, "nope", {}))
      expect(unknown.message).toContain(`waits for signal "nope"`)
      expect(yield* statusOf(first.runId)).toBe("waiting")
    }).pipe(Effect.provide(layer())))

  it.effect("timeout: the deadline fails the step with Timeout", () =>
    Effect.gen(function*() {
      const program = compileProgram(APPROVE, [])
      const first = yield* Durable.start(program, { total: 5 })
      expect(first.status).toBe("waiting")
      yield* TestClock.adjust("49 hours")
      const exit = yield* Effect.exit(Durable.resume(first.runId))
      expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("Timeout")
      expect(yield* statusOf(first.runId)).toBe("failed")
      expect(yield* eventTypes(first.runId)).toContain("TimerFired")
    }).pipe(Effect.provide(layer())))

  it.effect("a live run whose deadline passes while it waits in memory fails with Timeout", () =>
    Effect.gen(function*() {
      const program = compileProgram(
        `program main() {
          slow = tool std.sleep(ms: 5000)
          ok = wait "go" with { timeout: "1s" }
          return [ok, slow]
        }`,
        []
      )
      const fiber = yield* Effect.fork(Effect.exit(Durable.start(program, {})))
      yield* TestClock.adjust("2 seconds")
      const exit = yield* Fiber.join(fiber)
      expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("Timeout")
    }).pipe(Effect.provide(layer())))

  it.effect("a signal sent before the wait is reached is buffered and consumed when it is", () =>
    Effect.gen(function*() {
      const program = compileProgram(
        `program main() {
          first = wait "one"
          second = wait "two" { after: first }
          return [first, second]
        }`,
        []
      )
      const r1 = yield* Durable.start(program, {})
      expect(r1.status === "waiting" && r1.waits.map((w) => w.name)).toEqual(["one"])
      yield* Durable.signal(r1.runId, "two", { v: 2 })
      yield* Durable.signal(r1.runId, "one", { v: 1 })
      const done = yield* Durable.resume(r1.runId)
      expect(done.output).toEqual([{ v: 1 }, { v: 2 }])
    }).pipe(Effect.provide(layer())))

  it.effect("the same signal id twice wakes once; a second signal answers a second wait", () =>
    Effect.gen(function*() {
      const program = compileProgram(
        `program main() {
          items = map i in range(2) { return wait "vote" }
          return items
        }`,
        []
      )
      const r1 = yield* Durable.start(program, {})
      expect(r1.status === "waiting" && r1.waits).toHaveLength(2)
      const a = yield* Durable.signal(r1.runId, "vote", 1, { signalId: "s1" })
      const b = yield* Durable.signal(r1.runId, "vote", 1, { signalId: "s1" })
      expect([a.accepted, b.accepted]).toEqual([true, false])
      const r2 = yield* Durable.resume(r1.runId)
      expect(r2.status === "waiting" && r2.waits).toHaveLength(1)
      yield* Durable.signal(r1.runId, "vote", 2, { signalId: "s2" })
      const r3 = yield* Durable.resume(r1.runId)
      expect(r3.status).toBe("completed")
      expect([...(r3.output as Array<number>)].sort()).toEqual([1, 2])
    }).pipe(Effect.provide(layer())))

  it.effect("a signal to an ended or unknown run is refused and changes nothing", () =>
    Effect.gen(function*() {
      const program = compileProgram(`program main() { ok = wait "go"\n return ok }`, [])
      const r1 = yield* Durable.start(program, {})
      yield* Durable.signal(r1.runId, "go", "yes")
      yield* Durable.resume(r1.runId)
      const before = yield* eventTypes(r1.runId)
      const ended = yield* Effect.flip(Durable.signal(r1.runId, "go", "again"))
      expect(ended.message).toMatch(/^ended:/)
      expect(yield* eventTypes(r1.runId)).toEqual(before)
      const missing = yield* Effect.flip(Durable.signal("no-such-run", "go", 1))
      expect(missing.kind).toBe("NotFound")
      const foreign = yield* Effect.flip(Durable.signal(r1.runId, "go", 1, { workspace: "other" }))
      expect(foreign.kind).toBe("NotFound")
    }).pipe(Effect.provide(layer())))

  it.effect("a durable sleep parks with its timer and completes with null once it passed", () =>
    Effect.gen(function*() {
      const program = compileProgram(`program main() { nap = wait for "3d"\n return { slept: nap } }`, [])
      const r1 = yield* Durable.start(program, {})
      expect(r1.status).toBe("waiting")
      const timers = yield* Effect.flatMap(RunStore, (s) => s.timers())
      expect(timers.map((t) => t.runId)).toEqual([r1.runId])
      expect(timers[0]!.fireAt).toBe(3 * 86_400_000)
      const early = yield* Durable.resume(r1.runId)
      expect(early.status).toBe("waiting")
      yield* TestClock.adjust("3 days")
      const done = yield* Durable.resume(r1.runId)
      expect(done.output).toEqual({ slept: null })
      expect(yield* Effect.flatMap(RunStore, (s) => s.timers())).toEqual([])
    }).pipe(Effect.provide(layer())))

  it.effect("replay answers waits from the record", () =>
    Effect.gen(function*() {
      const program = compileProgram(APPROVE, [])
      const r1 = yield* Durable.start(program, { total: 3 })
      yield* Durable.signal(r1.runId, "approve", { approved: true, note: "n" })
      yield* Durable.resume(r1.runId)
      const report = yield* Durable.replay({ _tag: "Stored", runId: r1.runId })
      expect(report.status).toBe("completed")
      expect(report.output).toEqual({ paid: 3, note: "n", side: 6 })
    }).pipe(Effect.provide(layer())))
})
