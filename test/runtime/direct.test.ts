/** Fiberless calls (direct.ts): `Effect.async` handlers without a fiber, cancellation, odd resumes; slots by critical path (waitQueue.ts). */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Option, Schema } from "effect"
import { asyncRegister, DirectCall } from "../../src/runtime/direct.js"
import { charge } from "../../src/runtime/meter.js"
import * as Plan from "../../src/runtime/plan.js"
import * as Runtime from "../../src/runtime/runtime.js"
import { WaitQueue } from "../../src/runtime/waitQueue.js"
import { make } from "../../src/tools/index.js"
import type { AnyTool } from "../../src/tools/index.js"
import type { RunEvent } from "../../src/trace/events.js"
import { compileProgram, eventsOf, settle, testLayer } from "../support/runtime.js"

/** Lets the host's macrotasks run (the scheduler finishes a burst of completions in a `setImmediate`), then every ready fiber. */
const turn = Effect.zipRight(Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve))), settle)

/**
 * A tool whose calls wait until the test resumes them: each call's
 * `Effect.async` registers itself in `pending`; `onFiber` says whether a
 * fiber was current when the register ran; `wrapped` makes the handler something other
 * than a bare `Effect.async` (so it runs on a fiber).
 */
const makeGate = (name: string, wrapped = false) => {
  const state = {
    pending: [] as Array<{ readonly value: number; readonly resume: (e: Effect.Effect<number>) => void; readonly signal: AbortSignal }>,
    onFiber: [] as Array<boolean>,
    cancelled: 0,
    aborted: 0,
    maxPending: 0
  }
  const tool = make({
    name,
    description: "waits until the test resumes it",
    input: Schema.Struct({ value: Schema.Number }),
    output: Schema.Number,
    idempotent: true,
    handler: (args) => {
      const wait = Effect.async<number>((resume, signal) => {
        state.onFiber.push(Option.isSome(Fiber.getCurrentFiber()))
        signal.addEventListener("abort", () => state.aborted++)
        state.pending.push({ value: args.value, resume, signal })
        state.maxPending = Math.max(state.maxPending, state.pending.length)
        return Effect.sync(() => {
          state.cancelled++
        })
      })
      return wrapped ? Effect.map(wait, (n) => n) : wait
    }
  })
  /** Resumes the oldest pending call with its value plus `add`. */
  const release = (add = 0) => {
    const p = state.pending.shift()
    if (p === undefined) throw new Error("nothing pending")
    p.resume(Effect.succeed(p.value + add))
  }
  return { tool: tool as unknown as AnyTool, state, release }
}

const typesByNode = (events: ReadonlyArray<RunEvent>) => {
  const out = new Map<string, Array<string>>()
  for (const e of events) if (e.node !== undefined) out.set(e.node, [...(out.get(e.node) ?? []), e.type])
  return [...out.entries()].sort(([a], [b]) => (a < b ? -1 : 1))
}

const calledOrder = (events: ReadonlyArray<RunEvent>) => events.filter((e) => e.type === "ToolCalled").map((e) => e.node)

describe("asyncRegister", () => {
  it("recognises Effect.async (with and without a signal) and Effect.promise, nothing else", () => {
    expect(asyncRegister(Effect.async<number>((resume) => resume(Effect.succeed(1))))).toBeTypeOf("function")
    expect(asyncRegister(Effect.async<number>((_resume, _signal) => undefined))).toBeTypeOf("function")
    expect(asyncRegister(Effect.promise(() => Promise.resolve(1)))).toBeTypeOf("function")
    expect(asyncRegister(Effect.succeed(1))).toBeUndefined()
    expect(asyncRegister(Effect.sleep("1 millis"))).toBeUndefined()
    expect(asyncRegister(Effect.uninterruptibleMask((restore) => restore(Effect.void)))).toBeUndefined()
    expect(asyncRegister(Effect.map(Effect.async<number>(() => undefined), (n) => n))).toBeUndefined()
  })

  it("a DirectCall takes the first resume only, and ignores resumes after an interrupt", () => {
    const seen: Array<unknown> = []
    let resume: ((e: Effect.Effect<unknown, unknown>) => void) | undefined
    const call = new DirectCall((r) => {
      resume = r
    }, (e) => seen.push(e), () => seen.push("interrupted"))
    resume!(Exit.succeed(1))
    resume!(Exit.succeed(2))
    expect(seen).toEqual([Exit.succeed(1)])
    expect(call.resumed).toBe(true)
    const other = new DirectCall((r) => {
      resume = r
    }, (e) => seen.push(e), () => seen.push("interrupted"))
    Effect.runSync(other.interrupt())
    resume!(Exit.succeed(3))
    expect(seen).toEqual([Exit.succeed(1), "interrupted"])
  })
})

describe("fiberless tool calls", () => {
  it.effect("an Effect.async handler runs without a fiber; outputs and events match the fiber path", () => {
    const direct = makeGate("t.gate")
    const fibered = makeGate("t.fgate", true)
    return Effect.gen(function*() {
      const source = (tool: string) => `
        program main() {
          a = tool ${tool}(value: 1)
          b = tool ${tool}(value: a + 1)
          return [a, b]
        }`
      const results: Array<unknown> = []
      const shapes: Array<unknown> = []
      for (const [gate, runId] of [[direct, "direct"], [fibered, "fibered"]] as const) {
        const program = compileProgram(source(gate.tool.name), [direct.tool, fibered.tool])
        const f = yield* Effect.fork(Runtime.run(program, {}, { runId }))
        yield* turn
        gate.release()
        yield* turn
        gate.release(10)
        yield* turn
        results.push((yield* Fiber.join(f)).output)
        shapes.push(typesByNode(yield* eventsOf(runId)))
      }
      expect(results).toEqual([[1, 12], [1, 12]])
      expect(shapes[0]).toEqual(shapes[1])
      // The first call starts from the driver (its fiber is current); the second from the drain after a completion: no fiber.
      expect(direct.state.onFiber[1]).toBe(false)
      expect(fibered.state.onFiber).toEqual([true, true])
    }).pipe(Effect.provide(testLayer([direct.tool, fibered.tool])))
  })

  it.effect("interrupting a run aborts the signal and runs the canceller of every waiting call", () => {
    const gate = makeGate("t.gate")
    return Effect.gen(function*() {
      const program = compileProgram(`
        program main() {
          a = tool t.gate(value: 1)
          b = tool t.gate(value: 2)
          return a + b
        }`, [gate.tool])
      const f = yield* Effect.fork(Runtime.run(program, {}, { runId: "cancel-direct" }))
      yield* turn
      expect(gate.state.pending.length).toBe(2)
      yield* Fiber.interrupt(f)
      expect(gate.state.cancelled).toBe(2)
      expect(gate.state.aborted).toBe(2)
      // A resume after the run was cancelled changes nothing.
      gate.release()
      yield* turn
      const events = yield* eventsOf("cancel-direct")
      expect(events[events.length - 1]?.type).toBe("RunCancelled")
      expect(events.filter((e) => e.type === "NodeFailed").map((e) => e.type === "NodeFailed" && e.data.errorKind)).toEqual([
        "Cancelled",
        "Cancelled"
      ])
    }).pipe(Effect.provide(testLayer([gate.tool])))
  })

  it.effect("a resume during registration completes at once; a throwing register is a Defect", () => {
    const now = make({
      name: "t.now",
      description: "resumes while registering",
      input: Schema.Struct({}),
      output: Schema.Number,
      idempotent: true,
      handler: () => Effect.async<number>((resume) => resume(Effect.succeed(7)))
    })
    const broken = make({
      name: "t.broken",
      description: "its register throws",
      input: Schema.Struct({}),
      output: Schema.Number,
      idempotent: true,
      handler: () =>
        Effect.async<number>(() => {
          throw new Error("no socket")
        })
    })
    const tools = [now as unknown as AnyTool, broken as unknown as AnyTool]
    return Effect.gen(function*() {
      const ok = yield* Runtime.run(compileProgram(`program main() { return tool t.now() }`, tools), {})
      expect(ok.output).toBe(7)
      const exit = yield* Effect.exit(Runtime.run(compileProgram(`program main() { return tool t.broken() }`, tools), {}))
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error).toMatchObject({
        kind: "Defect",
        message: `tool "t.broken" died: no socket`
      })
    }).pipe(Effect.provide(testLayer(tools)))
  })

  it.effect("a resume with an effect still to run runs it (charges included)", () => {
    let resume: ((e: Effect.Effect<number>) => void) | undefined
    const later = make({
      name: "t.later",
      description: "resumes with an effect that charges",
      input: Schema.Struct({}),
      output: Schema.Number,
      idempotent: true,
      handler: () =>
        Effect.async<number>((r) => {
          resume = r
        })
    })
    const tools = [later as unknown as AnyTool]
    return Effect.gen(function*() {
      const f = yield* Effect.fork(Runtime.run(compileProgram(`program main() { return tool t.later() }`, tools), {}, { runId: "later" }))
      yield* turn
      resume!(Effect.as(charge({ cost: 2 }), 5))
      yield* turn
      expect((yield* Fiber.join(f)).output).toBe(5)
      const returned = (yield* eventsOf("later")).find((e) => e.type === "ToolReturned")
      expect(returned?.type === "ToolReturned" && returned.data.cost).toBe(2)
    }).pipe(Effect.provide(testLayer(tools)))
  })
})

describe("call slots go to the critical path first", () => {
  it.effect("with one slot, the waiting call with the longest chain after it starts first, then the oldest", () => {
    const gate = makeGate("t.gate")
    return Effect.gen(function*() {
      const program = compileProgram(`
        program main() {
          x = tool t.gate(value: 0)
          y1 = tool t.gate(value: x + 1)
          y2 = tool t.gate(value: x + 2)
          z = tool t.gate(value: y2 + 1)
          w = tool t.gate(value: z + 1)
          return [y1, w]
        }`, [gate.tool])
      const f = yield* Effect.fork(Runtime.run(program, {}, { runId: "ranked", concurrency: 1 }))
      yield* turn
      for (let i = 0; i < 5; i++) {
        gate.release()
        yield* turn
      }
      expect((yield* Fiber.join(f)).output).toEqual([1, 4])
      expect(gate.state.maxPending).toBe(1)
      const labels = program.labels ?? {}
      expect(calledOrder(yield* eventsOf("ranked")).map((id) => labels[id!] ?? id)).toEqual(["x", "y2", "z", "y1", "w"])
    }).pipe(Effect.provide(testLayer([gate.tool])))
  })

  it("ranks are the longest chain of same-scope dependents", () => {
    const program = compileProgram(`
      program main() {
        x = tool std.echo(value: 0)
        y1 = tool std.echo(value: x)
        y2 = tool std.echo(value: x)
        z = tool std.echo(value: y2)
        return [y1, z]
      }`)
    const plan = Plan.make(program)
    if (plan._tag === "Left") throw new Error(plan.left.message)
    const labels = program.labels ?? {}
    const ranks = Object.fromEntries(plan.right.entry.scope.nodes.map((n) => [labels[n.id] ?? n.id, n.rank]))
    expect(ranks).toEqual({ x: 3, y1: 1, y2: 2, z: 1 })
  })

  it("WaitQueue pops by rank, then first come", () => {
    const q = new WaitQueue<string>()
    for (const [rank, v] of [[1, "a"], [3, "b"], [1, "c"], [2, "d"], [3, "e"]] as const) q.push(rank, v)
    const out: Array<string> = []
    for (let v = q.pop(); v !== undefined; v = q.pop()) out.push(v)
    expect(out).toEqual(["b", "e", "d", "a", "c"])
    expect(q.size).toBe(0)
  })
})
