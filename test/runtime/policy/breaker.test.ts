/** The circuit breaker: its state machine on the TestClock, `protect`, and a tool's `limits.breaker` in a run. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Schema, TestClock } from "effect"
import * as Durable from "../../../src/runtime/durable.js"
import { CircuitBreaker, makeMemory, protect } from "../../../src/runtime/policy/breaker.js"
import * as Machine from "../../../src/runtime/policy/breakerState.js"
import { RunStore } from "../../../src/runtime/runStore.js"
import * as Runtime from "../../../src/runtime/runtime.js"
import { breakerProblems, resolveBreaker } from "../../../src/tools/breaker.js"
import { CircuitOpen, configProblems, make, Permanent, Transient } from "../../../src/tools/index.js"
import type { AnyTool, ToolError } from "../../../src/tools/index.js"
import { canonicalTrace } from "../../../src/trace/events.js"
import { compileProgram, eventsOf, testLayer } from "../../support/runtime.js"

const settings = resolveBreaker({ failureRate: 0.5, minCalls: 4, window: "10s", openFor: "5s", halfOpenProbes: 2 })

const options = {
  counts: (e: ToolError) => e._tag !== "Permanent",
  rejected: (retryAfterMs: number): ToolError => new CircuitOpen({ message: "open", retryAfterMs })
}

describe("breaker settings", () => {
  it("defaults every field and names each bad one with its location", () => {
    expect(resolveBreaker({})).toEqual({
      failureRate: 0.5,
      minCalls: 10,
      windowMs: 30_000,
      openForMs: 10_000,
      halfOpenProbes: 1
    })
    expect(
      breakerProblems(
        { failureRate: 1.5, minCalls: 0, window: "soon", openFor: "0s", halfOpenProbes: 1.5, x: 1 },
        "limits.breaker"
      )
    )
      .toEqual([
        "limits.breaker.x: unknown setting (known: failureRate, minCalls, window, openFor, halfOpenProbes)",
        "limits.breaker.failureRate must be a number above 0 and at most 1",
        "limits.breaker.minCalls must be a positive integer",
        "limits.breaker.halfOpenProbes must be a positive integer",
        "limits.breaker.window: invalid duration \"soon\" (a positive duration such as \"10s\")",
        "limits.breaker.openFor: invalid duration \"0s\" (a positive duration such as \"10s\")"
      ])
    expect(breakerProblems("on", "providers[0].breaker")[0]).toMatch(/^providers\[0\]\.breaker must be an object/)
  })
})

describe("the state machine", () => {
  const admitted = (s: Machine.BreakerState, now: number) => {
    const step = Machine.admit(s, settings, now)
    if (step.result._tag !== "Admitted") throw new Error("expected an admission")
    return { ...step, admission: step.result }
  }

  it("opens at the failure rate with minCalls in the window, not before", () => {
    let s = Machine.initialState
    // 3 failures: below minCalls (4), stays closed
    for (const t of [0, 1, 2]) {
      const a = admitted(s, t)
      s = Machine.record(a.state, settings, a.admission, true, t).state
    }
    expect(s.status).toBe("closed")
    const a = admitted(s, 3)
    const step = Machine.record(a.state, settings, a.admission, false, 3)
    expect(step.transitions).toEqual([{ from: "closed", to: "open", at: 3, calls: 4, failures: 3 }])
    expect(step.state).toEqual({ status: "open", episode: 1, until: 5003 })
  })

  it("forgets outcomes older than the window", () => {
    let s = Machine.initialState
    for (const t of [0, 1, 2]) {
      const a = admitted(s, t)
      s = Machine.record(a.state, settings, a.admission, true, t).state
    }
    // 10 s later the three failures have left the window: one more failure is 1 call of 4 needed
    const a = admitted(s, 10_002)
    const step = Machine.record(a.state, settings, a.admission, true, 10_002)
    expect(step.state.status).toBe("closed")
    expect(step.state.status === "closed" && step.state.outcomes.length).toBe(1)
  })

  it("rejects while open, then admits halfOpenProbes probes, and closes when they succeed", () => {
    const open: Machine.BreakerState = { status: "open", episode: 1, until: 5000 }
    expect(Machine.admit(open, settings, 4000).result).toEqual({ _tag: "Rejected", retryAfterMs: 1000 })
    const p1 = admitted(open, 5000)
    expect(p1.transitions).toEqual([{ from: "open", to: "half-open", at: 5000 }])
    expect(p1.admission).toEqual({ _tag: "Admitted", probe: true, episode: 1 })
    const p2 = admitted(p1.state, 5001)
    expect(Machine.admit(p2.state, settings, 5002).result._tag).toBe("Rejected")
    const s1 = Machine.record(p2.state, settings, p1.admission, false, 5010)
    expect(s1.state.status).toBe("half-open")
    const s2 = Machine.record(s1.state, settings, p2.admission, false, 5011)
    expect(s2.transitions).toEqual([{ from: "half-open", to: "closed", at: 5011 }])
    expect(s2.state).toEqual({ status: "closed", episode: 1, outcomes: [] })
  })

  it("opens again at a failed probe, and ignores outcomes of calls admitted in an earlier episode", () => {
    const closedCall = admitted(Machine.initialState, 0).admission
    const open: Machine.BreakerState = { status: "open", episode: 1, until: 5000 }
    const p = admitted(open, 5000)
    // a slow call admitted while closed (episode 0) answers now: it changes nothing
    expect(Machine.record(p.state, settings, closedCall, false, 5001).state).toEqual(p.state)
    const failed = Machine.record(p.state, settings, p.admission, true, 5002)
    expect(failed.transitions).toEqual([{ from: "half-open", to: "open", at: 5002 }])
    expect(failed.state).toEqual({ status: "open", episode: 2, until: 10_002 })
  })

  it("a half-open whose probes never answer opens again after openFor", () => {
    const single = { ...settings, halfOpenProbes: 1 }
    const p = Machine.admit({ status: "open", episode: 1, until: 0 }, single, 0)
    expect(Machine.admit(p.state, single, 4999).result).toEqual({ _tag: "Rejected", retryAfterMs: 1 })
    const stale = Machine.admit(p.state, single, 5000)
    expect(stale.transitions).toEqual([{ from: "half-open", to: "open", at: 5000 }])
    expect(stale.state).toEqual({ status: "open", episode: 2, until: 10_000 })
  })
})

describe("protect (memory store, TestClock)", () => {
  it.effect("fails fast while open, with the time to the first probe, and recovers through half-open", () =>
    Effect.gen(function*() {
      const service = makeMemory()
      const seen: Array<string> = []
      const guard = protect(service, "tool:x", settings, {
        ...options,
        onTransition: (t) => seen.push(`${t.from}->${t.to}`)
      })
      let calls = 0
      const failing = Effect.suspend(() => {
        calls += 1
        return Effect.fail<ToolError>(new Transient({ message: "down" }))
      })
      for (let i = 0; i < 4; i++) yield* Effect.exit(guard(failing))
      expect(seen).toEqual(["closed->open"])
      expect(yield* service.status("tool:x", settings)).toBe("open")
      yield* TestClock.adjust("2 seconds")
      const refused = yield* Effect.exit(guard(failing))
      expect(refused).toEqual(Exit.fail(new CircuitOpen({ message: "open", retryAfterMs: 3000 })))
      expect(calls).toBe(4)
      yield* TestClock.adjust("3 seconds")
      expect(yield* service.status("tool:x", settings)).toBe("half-open")
      // two probes succeed: closed again
      expect(yield* guard(Effect.succeed(1))).toBe(1)
      expect(yield* guard(Effect.succeed(2))).toBe(2)
      expect(seen).toEqual(["closed->open", "open->half-open", "half-open->closed"])
      // a failure the breaker does not count (Permanent) never opens it
      for (let i = 0; i < 10; i++) yield* Effect.exit(guard(Effect.fail(new Permanent({ message: "bad args" }))))
      expect(yield* service.status("tool:x", settings)).toBe("closed")
    }))
})

const flaky = (state: { fail: boolean; calls: number }): AnyTool =>
  make({
    name: "flaky",
    description: "fails while told to",
    input: Schema.Struct({ i: Schema.Number }),
    output: Schema.Number,
    idempotent: true,
    limits: { breaker: { failureRate: 0.5, minCalls: 2, window: "10s", openFor: "5s" } },
    handler: ({ i }) =>
      Effect.suspend(() => {
        state.calls += 1
        return state.fail ? Effect.fail(new Transient({ message: "upstream down" })) : Effect.succeed(i)
      })
  }) as unknown as AnyTool

describe("a tool's limits.breaker in a run", () => {
  it("is validated with its location", () => {
    expect(configProblems({ name: "t", limits: { breaker: { minCalls: -1 } } }))
      .toContain("limits.breaker.minCalls must be a positive integer")
  })

  it.effect("opens after failures, fails later calls fast with CircuitOpen, records BreakerChanged", () => {
    const state = { fail: true, calls: 0 }
    const tool = flaky(state)
    const program = compileProgram(`program main(x: number) { y = tool flaky(i: x) return y }`, [tool])
    return Effect.gen(function*() {
      const runOnce = (x: number) => Effect.flip(Runtime.run(program, { x }))
      expect((yield* runOnce(1)).kind).toBe("Transient")
      const second = yield* runOnce(2)
      expect(second.kind).toBe("Transient")
      // the second failure opened the breaker: the third run fails fast, without calling the tool
      const third = yield* runOnce(3)
      expect(third.kind).toBe("CircuitOpen")
      expect(state.calls).toBe(2)
      const events = yield* eventsOf(second.runId!)
      const changes = events.filter((e) => e.type === "BreakerChanged")
      expect(changes.map((e) => e.type === "BreakerChanged" && [e.data.breaker, e.data.from, e.data.to, e.data.calls]))
        .toEqual([["tool:flaky", "closed", "open", 2]])
      expect(changes[0]?.node).toBeUndefined()
      expect(canonicalTrace(events).some((l) => l.includes("BreakerChanged"))).toBe(false)
      // the refused call is an attempt of its own: ToolCalled, then the node fails with CircuitOpen
      const refused = yield* eventsOf(third.runId!)
      expect(refused.filter((e) => e.type === "ToolCalled").length).toBe(1)
      expect(refused.some((e) => e.type === "NodeFailed" && e.data.errorKind === "CircuitOpen")).toBe(true)
    }).pipe(Effect.provide(Layer.merge(testLayer([tool]), CircuitBreaker.layerMemory)))
  })

  it.effect("a retry policy that lists CircuitOpen waits until the probe, which closes the breaker", () => {
    const state = { fail: true, calls: 0 }
    const tool = flaky(state)
    const plain = compileProgram(`program main(x: number) { y = tool flaky(i: x) return y }`, [tool])
    const patient = compileProgram(
      `program main(x: number) {
        y = tool flaky(i: x) with { retry: { times: 1, backoff: "none", on: ["CircuitOpen"] } }
        return y
      }`,
      [tool]
    )
    return Effect.gen(function*() {
      yield* Effect.exit(Runtime.run(plain, { x: 1 }))
      yield* Effect.exit(Runtime.run(plain, { x: 2 }))
      state.fail = false
      const fiber = yield* Effect.fork(Runtime.run(patient, { x: 7 }))
      yield* TestClock.adjust("5 seconds")
      const result = yield* Fiber.join(fiber)
      expect(result.output).toBe(7)
      expect(state.calls).toBe(3)
      const events = yield* eventsOf(result.runId)
      const retried = events.find((e) => e.type === "NodeRetrying")
      expect(
        retried?.type === "NodeRetrying" && [retried.data.errorKind, retried.data.retryAfterMs, retried.data.delayMs]
      )
        .toEqual(["CircuitOpen", 5000, 5000])
      expect(events.filter((e) => e.type === "BreakerChanged").map((e) => e.type === "BreakerChanged" && e.data.to))
        .toEqual(["half-open", "closed"])
    }).pipe(Effect.provide(Layer.merge(testLayer([tool]), CircuitBreaker.layerMemory)))
  })

  it.effect("a run that met an open breaker and waited it out replays exactly, without asking the breaker", () => {
    const state = { fail: true, calls: 0 }
    const tool = flaky(state)
    const plain = compileProgram(`program main(x: number) { y = tool flaky(i: x) return y }`, [tool])
    const patient = compileProgram(
      `program main(x: number) {
        y = tool flaky(i: x) with { retry: { times: 1, backoff: "none", on: ["CircuitOpen"] } }
        return y
      }`,
      [tool]
    )
    return Effect.gen(function*() {
      yield* Effect.exit(Durable.start(plain, { x: 1 }, { seed: 1 }))
      yield* Effect.exit(Durable.start(plain, { x: 2 }, { seed: 2 }))
      state.fail = false
      const fiber = yield* Effect.fork(Durable.start(patient, { x: 7 }, { seed: 3 }))
      yield* TestClock.adjust("5 seconds")
      const r = yield* Fiber.join(fiber)
      const calls = state.calls
      // the breaker is open again when the replay runs: a replay never asks it
      state.fail = true
      const replayed = yield* Effect.fork(Durable.replay({ _tag: "Stored", runId: r.runId }))
      yield* TestClock.adjust("5 seconds")
      const result = yield* Fiber.join(replayed)
      expect(result.exact).toBe(true)
      expect(result.output).toBe(7)
      expect(state.calls).toBe(calls)
    }).pipe(Effect.provide(Layer.mergeAll(testLayer([tool]), CircuitBreaker.layerMemory, RunStore.layerMemory)))
  })
})
