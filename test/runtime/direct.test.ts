/**
 * Tool handler shapes in the scheduler: `run` handlers (a Promise, awaited
 * without a fiber, inflight.ts) and Effect handlers (`Effect.async`,
 * `Effect.promise`, wrapped effects, on a fiber) agree on outputs, events,
 * cancellation and errors; slots go by critical path (waitQueue.ts).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Option, Schema, TestClock } from "effect"
import { PromiseCall } from "../../src/runtime/inflight.js"
import { charge } from "../../src/runtime/meter.js"
import * as Plan from "../../src/runtime/plan.js"
import * as Runtime from "../../src/runtime/runtime.js"
import { WaitQueue } from "../../src/runtime/waitQueue.js"
import { make, Transient } from "../../src/tools/index.js"
import type { AnyTool } from "../../src/tools/index.js"
import type { RunEvent } from "../../src/trace/events.js"
import { compileProgram, eventsOf, settle, testLayer } from "../support/runtime.js"

/** Lets the host's macrotasks run (the scheduler finishes a burst of completions in a `setImmediate`), then every ready fiber. */
const turn = Effect.zipRight(Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve))), settle)

/** The ways a handler can wait. */
const SHAPES = ["run", "async", "promise", "wrapped"] as const
type Shape = (typeof SHAPES)[number]

/**
 * A tool whose calls wait until the test releases them, written in the
 * given shape: `run` (an async function), `async` (`Effect.async` with a
 * canceller), `promise` (`Effect.promise`), `wrapped` (`Effect.async`
 * under `Effect.map`). `onFiber` says whether a fiber was current when
 * the call started waiting.
 */
const makeGate = (name: string, shape: Shape) => {
  const state = {
    pending: [] as Array<
      { readonly value: number; readonly resolve: (n: number) => void; readonly signal: AbortSignal }
    >,
    onFiber: [] as Array<boolean>,
    cancelled: 0,
    aborted: 0,
    maxPending: 0
  }
  const register = (value: number, signal: AbortSignal, resolve: (n: number) => void) => {
    state.onFiber.push(Option.isSome(Fiber.getCurrentFiber()))
    signal.addEventListener("abort", () => state.aborted++)
    state.pending.push({ value, resolve, signal })
    state.maxPending = Math.max(state.maxPending, state.pending.length)
  }
  const asyncWait = (value: number) =>
    Effect.async<number>((resume, signal) => {
      register(value, signal, (n) => resume(Effect.succeed(n)))
      return Effect.sync(() => {
        state.cancelled++
      })
    })
  const base = {
    name,
    description: "waits until the test releases it",
    input: Schema.Struct({ value: Schema.Number }),
    output: Schema.Number,
    idempotent: true
  }
  const tool = shape === "run"
    ? make({ ...base, run: (args, ctx) => new Promise<number>((resolve) => register(args.value, ctx.signal, resolve)) })
    : make({
      ...base,
      handler: (args) => {
        switch (shape) {
          case "async":
            return asyncWait(args.value)
          case "promise":
            return Effect.promise((signal) => new Promise<number>((resolve) => register(args.value, signal, resolve)))
          default:
            return Effect.map(asyncWait(args.value), (n) => n)
        }
      }
    })
  /** Releases the oldest pending call with its value plus `add`. */
  const release = (add = 0) => {
    const p = state.pending.shift()
    if (p === undefined) throw new Error("nothing pending")
    p.resolve(p.value + add)
  }
  return { tool: tool as unknown as AnyTool, state, release }
}

const typesByNode = (events: ReadonlyArray<RunEvent>) => {
  const out = new Map<string, Array<string>>()
  for (const e of events) if (e.node !== undefined) out.set(e.node, [...(out.get(e.node) ?? []), e.type])
  return [...out.entries()].sort(([a], [b]) => (a < b ? -1 : 1))
}

const calledOrder = (events: ReadonlyArray<RunEvent>) =>
  events.filter((e) => e.type === "ToolCalled").map((e) => e.node)

const failureOf = (
  exit: Exit.Exit<unknown, unknown>
) => (Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined)

describe("PromiseCall", () => {
  it("settles once, and not at all after an interrupt", async () => {
    const seen: Array<unknown> = []
    let resolve: ((n: number) => void) | undefined
    new PromiseCall(
      new Promise<number>((r) => (resolve = r)),
      (ok, v) => seen.push([ok, v]),
      () => seen.push("interrupted")
    )
    resolve!(1)
    await Promise.resolve()
    expect(seen).toEqual([[true, 1]])
    let reject: ((e: unknown) => void) | undefined
    const other = new PromiseCall(
      new Promise<number>((_, r) => (reject = r)),
      (ok, v) => seen.push([ok, v]),
      () => seen.push("interrupted")
    )
    other.interrupt()
    other.interrupt()
    reject!(new Error("late"))
    await new Promise((r) => setImmediate(r))
    expect(seen).toEqual([[true, 1], "interrupted"])
  })
})

describe("handler shapes", () => {
  it.effect("every shape gives the same outputs and events; a run handler started by a drain has no fiber", () => {
    const gates = SHAPES.map((shape) => makeGate(`t.${shape}`, shape))
    const tools = gates.map((g) => g.tool)
    return Effect.gen(function*() {
      const results: Array<unknown> = []
      const shapes: Array<unknown> = []
      for (const gate of gates) {
        const program = compileProgram(
          `
          program main() {
            a = tool ${gate.tool.name}(value: 1)
            b = tool ${gate.tool.name}(value: a + 1)
            return [a, b]
          }`,
          tools
        )
        const runId = `shape-${gate.tool.name}`
        const f = yield* Effect.fork(Runtime.run(program, {}, { runId }))
        yield* turn
        gate.release()
        yield* turn
        gate.release(10)
        yield* turn
        results.push((yield* Fiber.join(f)).output)
        shapes.push(typesByNode(yield* eventsOf(runId)))
      }
      for (let i = 0; i < gates.length; i++) {
        expect(results[i]).toEqual([1, 12])
        expect(shapes[i]).toEqual(shapes[0])
      }
      // The first call starts from the driver (its fiber is current); the second from the drain after a completion.
      expect(gates[0]!.state.onFiber).toEqual([true, false])
      for (const g of gates.slice(1)) expect(g.state.onFiber).toEqual([true, true])
    }).pipe(Effect.provide(testLayer(tools)))
  })

  for (const shape of SHAPES) {
    it.effect(`${shape}: interrupting a run aborts the signal of every waiting call (and runs Effect.async's canceller)`, () => {
      const gate = makeGate("t.gate", shape)
      return Effect.gen(function*() {
        const program = compileProgram(
          `
          program main() {
            a = tool t.gate(value: 1)
            b = tool t.gate(value: 2)
            return a + b
          }`,
          [gate.tool]
        )
        const runId = `cancel-${shape}`
        const f = yield* Effect.fork(Runtime.run(program, {}, { runId }))
        yield* turn
        expect(gate.state.pending.length).toBe(2)
        yield* Fiber.interrupt(f)
        expect(gate.state.aborted).toBe(2)
        expect(gate.state.cancelled).toBe(shape === "async" || shape === "wrapped" ? 2 : 0)
        // A completion after the run was cancelled changes nothing.
        gate.release()
        yield* turn
        const events = yield* eventsOf(runId)
        expect(events[events.length - 1]?.type).toBe("RunCancelled")
        expect(events.filter((e) => e.type === "NodeFailed").map((e) => e.type === "NodeFailed" && e.data.errorKind))
          .toEqual([
            "Cancelled",
            "Cancelled"
          ])
      }).pipe(Effect.provide(testLayer([gate.tool])))
    })
  }

  it.effect("run handlers: a returned value completes at once; throws and rejections are Defects, ToolErrors stay typed", () => {
    const base = { description: "", input: Schema.Struct({}), output: Schema.Number, idempotent: true }
    const tools = [
      make({ ...base, name: "t.sync", run: () => 7 }),
      make({
        ...base,
        name: "t.throws",
        run: (): number => {
          throw new Error("no socket")
        }
      }),
      make({ ...base, name: "t.rejects", run: () => Promise.reject(new Error("refused")) }),
      make({
        ...base,
        name: "t.transient",
        run: async (): Promise<number> => {
          await Promise.resolve()
          throw new Transient({ message: "try later" })
        }
      }),
      make({ ...base, name: "t.bad", run: async () => "seven" as unknown as number })
    ].map((t) => t as unknown as AnyTool)
    const one = (tool: string) =>
      Effect.exit(Runtime.run(compileProgram(`program main() { return tool ${tool}() }`, tools), {}))
    return Effect.gen(function*() {
      const ok = yield* one("t.sync")
      expect(Exit.isSuccess(ok) && ok.value.output).toBe(7)
      expect(failureOf(yield* one("t.throws"))).toMatchObject({
        kind: "Defect",
        message: `tool "t.throws" threw: no socket`
      })
      expect(failureOf(yield* one("t.rejects"))).toMatchObject({
        kind: "Defect",
        message: `tool "t.rejects" threw: refused`
      })
      expect(failureOf(yield* one("t.transient"))).toMatchObject({ kind: "Transient", message: "try later" })
      expect(failureOf(yield* one("t.bad"))).toMatchObject({ kind: "Permanent" })
    }).pipe(Effect.provide(testLayer(tools)))
  })

  it.effect("run handlers under a retry policy take the policy path with the same semantics", () => {
    let calls = 0
    const flaky = make({
      name: "t.flaky",
      description: "fails once, then answers",
      input: Schema.Struct({}),
      output: Schema.Number,
      idempotent: true,
      run: async (_args, ctx) => {
        calls++
        if (ctx.attempt === 1) throw new Transient({ message: "once" })
        return ctx.attempt
      }
    })
    const tools = [flaky as unknown as AnyTool]
    return Effect.gen(function*() {
      const program = compileProgram(
        `
        program main() {
          a = tool t.flaky() with { retry: { times: 2, backoff: "fixed", base: "1ms", jitter: "none" } }
          return a
        }`,
        tools
      )
      const f = yield* Effect.fork(Runtime.run(program, {}, { runId: "flaky" }))
      for (let i = 0; i < 5; i++) yield* Effect.zipRight(turn, TestClock.adjust("1 millis"))
      expect((yield* Fiber.join(f)).output).toBe(2)
      expect(calls).toBe(2)
    }).pipe(Effect.provide(testLayer(tools)))
  })

  it.effect("Effect.async: a resume during registration completes at once; a throwing register is a Defect", () => {
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
      const exit = yield* Effect.exit(
        Runtime.run(compileProgram(`program main() { return tool t.broken() }`, tools), {})
      )
      expect(failureOf(exit)).toMatchObject({ kind: "Defect", message: `tool "t.broken" died: no socket` })
    }).pipe(Effect.provide(testLayer(tools)))
  })

  it.effect("Effect.async: a resume with an effect still to run runs it (charges included)", () => {
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
      const f = yield* Effect.fork(
        Runtime.run(compileProgram(`program main() { return tool t.later() }`, tools), {}, { runId: "later" })
      )
      yield* turn
      resume!(Effect.as(charge({ cost: 2 }), 5))
      yield* turn
      expect((yield* Fiber.join(f)).output).toBe(5)
      const returned = (yield* eventsOf("later")).find((e) => e.type === "ToolReturned")
      expect(returned?.type === "ToolReturned" && returned.data.cost).toBe(2)
    }).pipe(Effect.provide(testLayer(tools)))
  })

  it.effect("a handler that fails from a host callback frees no slot for a waiting call: the run fails first", () => {
    const resumes: Array<(e: Effect.Effect<number, Transient>) => void> = []
    const started: Array<number> = []
    const gated = make({
      name: "t.gated",
      description: "waits until the test resumes it",
      input: Schema.Struct({ value: Schema.Number }),
      output: Schema.Number,
      idempotent: true,
      handler: ({ value }) =>
        Effect.async<number, Transient>((resume) => {
          started.push(value)
          resumes.push(resume)
        })
    })
    const tools = [gated as unknown as AnyTool]
    return Effect.gen(function*() {
      const program = compileProgram(
        `program main() { a = tool t.gated(value: 1) b = tool t.gated(value: 2) return [a, b] }`,
        tools
      )
      const f = yield* Effect.fork(Runtime.run(program, {}, { runId: "fails-first", concurrency: 1 }))
      yield* turn
      expect(started).toHaveLength(1)
      resumes[0]!(Effect.fail(new Transient({ message: "down" })))
      yield* turn
      const exit = yield* Fiber.await(f)
      expect(failureOf(exit)).toMatchObject({ kind: "Transient", message: "down" })
      expect(started).toHaveLength(1)
    }).pipe(Effect.provide(testLayer(tools)))
  })

  it.effect("suspended Effect handlers each charge their own call's meter, and nothing carries over to later calls", () => {
    const resumes: Array<{ readonly cost: number; readonly resume: (e: Effect.Effect<number>) => void }> = []
    const metered = make({
      name: "t.metered",
      description: "charges `cost` (when positive) after the test resumes it; a child fiber charges as well",
      input: Schema.Struct({ cost: Schema.Number }),
      output: Schema.Number,
      idempotent: true,
      handler: ({ cost }) =>
        Effect.async<number>((resume) => {
          resumes.push({ cost, resume })
        })
    })
    const tools = [metered as unknown as AnyTool]
    const runId = "metered"
    return Effect.gen(function*() {
      const program = compileProgram(
        `
        program main() {
          a = tool t.metered(cost: 1)
          b = tool t.metered(cost: 2)
          c = tool t.metered(cost: 4)
          d = tool t.metered(cost: 0) with { after: [a, b, c] }
          return [a, b, c, d]
        }`,
        tools
      )
      const f = yield* Effect.fork(Runtime.run(program, {}, { runId, concurrency: 3 }))
      yield* turn
      expect(resumes.map((r) => r.cost).sort()).toEqual([1, 2, 4])
      // Resumed in another order than started; each charges once directly and once from a child fiber.
      for (const { cost, resume } of [...resumes].reverse()) {
        resume(
          Effect.zipRight(
            Effect.zipRight(charge({ cost }), Effect.flatMap(Effect.fork(charge({ cost })), Fiber.join)),
            Effect.succeed(cost)
          )
        )
      }
      yield* turn
      yield* turn
      resumes[3]!.resume(Effect.succeed(0))
      yield* turn
      expect((yield* Fiber.join(f)).output).toEqual([1, 2, 4, 0])
      // Each call's cost is its own two charges (output × 2), whatever the order the calls completed in.
      const returned = (yield* eventsOf(runId)).flatMap((e) =>
        e.type === "ToolReturned" ? [[e.data.output, e.data.cost]] : []
      )
      expect(returned.sort((x, y) => Number(x[0]) - Number(y[0]))).toEqual([[0, 0], [1, 2], [2, 4], [4, 8]])
    }).pipe(Effect.provide(testLayer(tools)))
  })
})

describe("call slots go to the critical path first", () => {
  for (const shape of SHAPES) {
    it.effect(`${shape}: with one slot, the waiting call with the longest chain after it starts first, then the oldest`, () => {
      const gate = makeGate("t.gate", shape)
      const runId = `ranked-${shape}`
      return Effect.gen(function*() {
        const program = compileProgram(
          `
          program main() {
            x = tool t.gate(value: 0)
            y1 = tool t.gate(value: x + 1)
            y2 = tool t.gate(value: x + 2)
            z = tool t.gate(value: y2 + 1)
            w = tool t.gate(value: z + 1)
            return [y1, w]
          }`,
          [gate.tool]
        )
        const f = yield* Effect.fork(Runtime.run(program, {}, { runId, concurrency: 1 }))
        yield* turn
        for (let i = 0; i < 5; i++) {
          gate.release()
          yield* turn
        }
        expect((yield* Fiber.join(f)).output).toEqual([1, 4])
        expect(gate.state.maxPending).toBe(1)
        const labels = program.labels ?? {}
        expect(calledOrder(yield* eventsOf(runId)).map((id) => labels[id!] ?? id)).toEqual(["x", "y2", "z", "y1", "w"])
      }).pipe(Effect.provide(testLayer([gate.tool])))
    })
  }

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
