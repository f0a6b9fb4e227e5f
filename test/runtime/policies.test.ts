/** Time, caps and policies at run time, all under TestClock: makespan, concurrency caps, retries, timeouts, cancellation, idempotency, budgets, cache, batching, hooks, limits. */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Exit, Fiber, Layer, Schema, Stream, TestClock } from "effect"
import { Hooks } from "../../src/runtime/policy/hooks.js"
import * as Runtime from "../../src/runtime/runtime.js"
import type { RunError } from "../../src/runtime/runtime.js"
import { make, Permanent, Transient } from "../../src/tools/index.js"
import type { AnyTool } from "../../src/tools/index.js"
import type { RunEvent } from "../../src/trace/events.js"
import { advanceUntilDone, compileProgram, eventsOf, idOf, makeProbe, settle, testLayer } from "../support/runtime.js"

const failureOf = <A>(exit: Exit.Exit<A, RunError>): RunError => {
  if (Exit.isSuccess(exit) || exit.cause._tag !== "Fail") throw new Error("expected a RunError failure")
  return exit.cause.error
}

const asTool = (t: unknown) => t as AnyTool

/** Events are well formed: seq contiguous from 0, RunStarted first, one terminal event last, per node Ready → Started → end. */
const expectWellFormed = (events: ReadonlyArray<RunEvent>) => {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i))
  expect(events[0]?.type).toBe("RunStarted")
  const terminal = events.filter((e) =>
    e.type === "RunCompleted" || e.type === "RunFailed" || e.type === "RunCancelled"
  )
  expect(terminal.length).toBe(1)
  expect(events[events.length - 1]).toBe(terminal[0])
  const byNode = new Map<string, Array<string>>()
  for (const e of events) if (e.node !== undefined) byNode.set(e.node, [...(byNode.get(e.node) ?? []), e.type])
  for (const [node, types] of byNode) {
    expect([node, types[0]]).toEqual([node, "NodeReady"])
    expect([node, types[1]]).toEqual([node, "NodeStarted"])
    const ends = types.filter((t) => t === "NodeCompleted" || t === "NodeFailed")
    expect([node, ends.length]).toEqual([node, 1])
  }
  for (const e of events) expect(e.runId).toBe(events[0]!.runId)
}

describe("makespan and caps", () => {
  it.effect("independent steps take as long as the longest, a chain as long as the sum", () =>
    Effect.gen(function*() {
      const { tool } = makeProbe()
      const par = compileProgram(
        `
        program main() {
          a = tool t.work(ms: 100, value: 1)
          b = tool t.work(ms: 200, value: 2)
          c = tool t.work(ms: 300, value: 3)
          return a + b + c
        }`,
        [tool]
      )
      const chain = compileProgram(
        `
        program main() {
          a = tool t.work(ms: 100, value: 1)
          b = tool t.work(ms: 100, value: a + 1)
          c = tool t.work(ms: 100, value: b + 1)
          return c
        }`,
        [tool]
      )
      const layer = testLayer([tool])
      const f1 = yield* Effect.fork(Runtime.run(par, {}).pipe(Effect.provide(layer)))
      expect(yield* advanceUntilDone(f1, 1000)).toBe(300)
      expect((yield* Fiber.join(f1)).output).toBe(6)
      const f2 = yield* Effect.fork(Runtime.run(chain, {}).pipe(Effect.provide(layer)))
      expect(yield* advanceUntilDone(f2, 1000)).toBe(300)
      expect((yield* Fiber.join(f2)).output).toBe(3)
    }))

  it.effect("a map's concurrency and the run's concurrency are never exceeded", () =>
    Effect.gen(function*() {
      const probe = makeProbe()
      const program = compileProgram(
        `
        program main(xs: number[]) {
          ys = map x in xs with { concurrency: 3 } { y = tool t.work(ms: 10 + x % 4, value: x) return y }
          return ys
        }`,
        [probe.tool]
      )
      const xs = Array.from({ length: 20 }, (_, i) => i)
      const f = yield* Effect.fork(Runtime.run(program, { xs }).pipe(Effect.provide(testLayer([probe.tool]))))
      const t = yield* advanceUntilDone(f, 5000)
      expect((yield* Fiber.join(f)).output).toEqual(xs)
      expect(probe.stats.max).toBe(3)
      expect(probe.stats.calls).toBe(20)
      expect(t).toBeGreaterThanOrEqual(Math.ceil(20 / 3) * 10)

      const wide = makeProbe()
      const program2 = compileProgram(
        `
        program main(xs: number[]) {
          ys = map x in xs { y = tool t.work(ms: 5, value: x) return y }
          zs = map x in xs { z = tool t.work(ms: 7, value: x) return z }
          return [ys, zs]
        }`,
        [wide.tool]
      )
      const f2 = yield* Effect.fork(
        Runtime.run(program2, { xs }, { concurrency: 4 }).pipe(Effect.provide(testLayer([wide.tool])))
      )
      yield* advanceUntilDone(f2, 5000)
      expect((yield* Fiber.join(f2)).output).toEqual([xs, xs])
      expect(wide.stats.max).toBe(4)
    }))
})

describe("retries and timeouts", () => {
  it.effect("retries only the listed kinds, recording NodeRetrying per retry", () =>
    Effect.gen(function*() {
      const program = compileProgram(`
        program main(kind: string) {
          x = tool std.fail(kind: kind, message: "nope")
            with { retry: { times: 2, backoff: "fixed", base: "100ms", jitter: "none" } }
          return x
        }`)
      const f = yield* Effect.fork(Effect.exit(Runtime.run(program, { kind: "Transient" }, { runId: "retry1" })))
      expect(yield* advanceUntilDone(f, 1000)).toBe(200)
      const error = failureOf(yield* Fiber.join(f))
      expect(error.kind).toBe("Transient")
      const events = yield* eventsOf("retry1")
      expectWellFormed(events)
      const retries = events.filter((e) => e.type === "NodeRetrying")
      expect(retries.map((e) => e.type === "NodeRetrying" && [e.attempt, e.data.delayMs, e.data.errorKind])).toEqual([
        [1, 100, "Transient"],
        [2, 100, "Transient"]
      ])
      expect(events.filter((e) => e.type === "ToolCalled").map((e) => e.attempt)).toEqual([1, 2, 3])

      const g = yield* Effect.fork(Effect.exit(Runtime.run(program, { kind: "Permanent" }, { runId: "retry2" })))
      yield* advanceUntilDone(g, 1000)
      expect(failureOf(yield* Fiber.join(g)).kind).toBe("Permanent")
      expect((yield* eventsOf("retry2")).filter((e) => e.type === "ToolCalled").length).toBe(1)
    }).pipe(Effect.provide(testLayer())))

  it.effect("a retried call that recovers completes with the attempt that succeeded", () =>
    Effect.gen(function*() {
      let calls = 0
      const flaky = asTool(make({
        name: "t.flaky",
        description: "fails twice",
        input: Schema.Struct({}),
        output: Schema.String,
        idempotent: true,
        retryable: true,
        handler: () => (++calls <= 2 ? Effect.fail(new Transient({ message: `try ${calls}` })) : Effect.succeed("ok"))
      }))
      const program = compileProgram(
        `program main() { x = tool t.flaky() with { retry: { times: 5, base: "10ms" } } return x }`,
        [flaky]
      )
      const f = yield* Effect.fork(
        Runtime.run(program, {}, { runId: "flaky", seed: 3 }).pipe(Effect.provide(testLayer([flaky])))
      )
      yield* advanceUntilDone(f, 1000)
      expect((yield* Fiber.join(f)).output).toBe("ok")
      expect(calls).toBe(3)
    }).pipe(Effect.provide(testLayer())))

  it.effect("a per-attempt timeout fails the call with Timeout and interrupts it", () =>
    Effect.gen(function*() {
      const probe = makeProbe()
      const program = compileProgram(
        `program main() { x = tool t.work(ms: 500, value: 1) with { timeout: "50ms" } return x }`,
        [probe.tool]
      )
      const f = yield* Effect.fork(Effect.exit(Runtime.run(program, {}).pipe(Effect.provide(testLayer([probe.tool])))))
      expect(yield* advanceUntilDone(f, 1000)).toBe(50)
      const error = failureOf(yield* Fiber.join(f))
      expect(error.kind).toBe("Timeout")
      expect(error.message).toBe(`tool "t.work" (node ${idOf(program, "x")}, attempt 1) timed out after 50ms`)
      expect(probe.stats.finalized).toBe(1)
    }))

  it.effect("a node-level timeout bounds a whole map", () =>
    Effect.gen(function*() {
      const probe = makeProbe()
      const program = compileProgram(
        `
        program main() {
          ys = map x in [1, 2, 3] with { concurrency: 1, timeout: "250ms" } { y = tool t.work(ms: 100, value: x) return y }
          return ys
        }`,
        [probe.tool]
      )
      const f = yield* Effect.fork(
        Effect.exit(Runtime.run(program, {}, { runId: "maptimeout" }).pipe(Effect.provide(testLayer([probe.tool]))))
      )
      expect(yield* advanceUntilDone(f, 1000)).toBe(250)
      const error = failureOf(yield* Fiber.join(f))
      expect(error.kind).toBe("Timeout")
      expect(error.node).toBe(idOf(program, "ys"))
      expect(probe.stats.active).toBe(0)
      expect(probe.stats.finalized).toBe(3)
    }))

  it.effect("limits.maxRunTime fails the run with ResourceExhausted", () =>
    Effect.gen(function*() {
      const probe = makeProbe()
      const program = compileProgram(`program main() { x = tool t.work(ms: 1000, value: 1) return x }`, [probe.tool])
      const f = yield* Effect.fork(
        Effect.exit(
          Runtime.run(program, {}, { limits: { maxRunTime: "200ms" } }).pipe(Effect.provide(testLayer([probe.tool])))
        )
      )
      expect(yield* advanceUntilDone(f, 2000)).toBe(200)
      const error = failureOf(yield* Fiber.join(f))
      expect(error.kind).toBe("ResourceExhausted")
      expect(error.message).toBe("run timed out after 200ms (limits.maxRunTime)")
      expect(probe.stats.finalized).toBe(1)
    }))
})

describe("cancellation", () => {
  it.effect("interrupting a run interrupts in-flight tools (finalizers run) and records RunCancelled", () => {
    const probe = makeProbe()
    return Effect.gen(function*() {
      const program = compileProgram(
        `
        program main() {
          a = tool t.work(ms: 1000, value: 1)
          b = tool t.work(ms: 2000, value: 2)
          return a + b
        }`,
        [probe.tool]
      )
      const f = yield* Effect.fork(Runtime.run(program, {}, { runId: "cancel" }))
      yield* settle
      expect(probe.stats.active).toBe(2)
      yield* Fiber.interrupt(f)
      expect(probe.stats.active).toBe(0)
      expect(probe.stats.finalized).toBe(2)
      const events = yield* eventsOf("cancel")
      expectWellFormed(events)
      expect(events[events.length - 1]?.type).toBe("RunCancelled")
      expect(events.filter((e) => e.type === "NodeFailed").map((e) => e.type === "NodeFailed" && e.data.errorKind))
        .toEqual([
          "Cancelled",
          "Cancelled"
        ])
    }).pipe(Effect.provide(testLayer([probe.tool])))
  })

  it.effect("a failing node interrupts its siblings in flight", () =>
    Effect.gen(function*() {
      const probe = makeProbe()
      const program = compileProgram(
        `
        program main() {
          a = tool t.work(ms: 1000, value: 1)
          b = tool std.fail(kind: "Permanent", message: "bad")
          return [a, b]
        }`,
        [probe.tool]
      )
      const exit = yield* Effect.exit(
        Runtime.run(program, {}, { runId: "sib" }).pipe(Effect.provide(testLayer([probe.tool])))
      )
      expect(failureOf(exit).message).toBe("bad")
      expect(probe.stats.finalized).toBe(1)
    }).pipe(Effect.provide(testLayer())))
})

describe("idempotency, cache, budgets", () => {
  const counter = () => {
    let n = 0
    const tool = asTool(make({
      name: "t.count",
      description: "a side effect",
      input: Schema.Struct({ tag: Schema.String }),
      output: Schema.Number,
      idempotent: false,
      handler: () => Effect.sync(() => ++n)
    }))
    return { tool, calls: () => n }
  }

  it.effect("a keyed call already completed returns the recorded result instead of calling again", () => {
    const c = counter()
    return Effect.gen(function*() {
      const program = compileProgram(
        `program main(t: string) { x = tool t.count(tag: t) with { idempotencyKey: concat("k:", t) } return x }`,
        [c.tool]
      )
      const first = yield* Runtime.run(program, { t: "a" }, { runId: "i1" })
      const second = yield* Runtime.run(program, { t: "a" }, { runId: "i2" })
      const other = yield* Runtime.run(program, { t: "b" }, { runId: "i3" })
      expect([first.output, second.output, other.output]).toEqual([1, 1, 2])
      expect(c.calls()).toBe(2)
      const returned = (yield* eventsOf("i2")).find((e) => e.type === "ToolReturned")
      expect(returned?.type === "ToolReturned" && returned.data.source).toBe("idempotency")
      const called = (yield* eventsOf("i1")).find((e) => e.type === "ToolCalled")
      expect(called?.type === "ToolCalled" && called.data.idempotencyKey).toBe("k:a")
    }).pipe(Effect.provide(testLayer([c.tool])))
  })

  it.effect("a non-idempotent tool's derived key (run id, node path, args) is recorded, so the same run id does not repeat it", () => {
    const c = counter()
    return Effect.gen(function*() {
      const program = compileProgram(`program main() { x = tool t.count(tag: "x") return x }`, [c.tool])
      yield* Runtime.run(program, {}, { runId: "same" })
      const again = yield* Runtime.run(program, {}, { runId: "same" })
      expect(again.output).toBe(1)
      expect(c.calls()).toBe(1)
      yield* Runtime.run(program, {}, { runId: "fresh" })
      expect(c.calls()).toBe(2)
    }).pipe(Effect.provide(testLayer([c.tool])))
  })

  it.effect("cache: { ttl } serves repeats from the result cache until the TTL passes; cache: false never caches", () => {
    const probe = makeProbe()
    return Effect.gen(function*() {
      const program = compileProgram(
        `program main() { x = tool t.work(ms: 0, value: 1) with { cache: { ttl: "1s" } } return x }`,
        [probe.tool]
      )
      yield* Runtime.run(program, {}, { runId: "c1" })
      yield* Runtime.run(program, {}, { runId: "c2" })
      expect(probe.stats.calls).toBe(1)
      const hit = (yield* eventsOf("c2")).find((e) => e.type === "ToolReturned")
      expect(hit?.type === "ToolReturned" && hit.data.source).toBe("cache")
      yield* TestClock.adjust("1001 millis")
      yield* Runtime.run(program, {}, { runId: "c3" })
      expect(probe.stats.calls).toBe(2)
      const off = compileProgram(`program main() { x = tool t.work(ms: 0, value: 1) with { cache: false } return x }`, [
        probe.tool
      ])
      yield* Runtime.run(off, {}, { runId: "c4" })
      yield* Runtime.run(off, {}, { runId: "c5" })
      expect(probe.stats.calls).toBe(4)
    }).pipe(Effect.provide(testLayer([probe.tool])))
  })

  it.effect("budgets stop a run with BudgetExceeded (run budget and node budget)", () =>
    Effect.gen(function*() {
      let calls = 0
      const paid = asTool(make({
        name: "t.paid",
        description: "costs 1 per call",
        input: Schema.Struct({ i: Schema.Number }),
        output: Schema.Number,
        idempotent: true,
        handler: (args) =>
          Effect.as(Effect.zipRight(Effect.sync(() => calls++), Runtime.charge({ cost: 1, tokens: 10 })), args.i)
      }))
      const program = compileProgram(
        `
        program main(n: number) {
          ys = map i in range(n) with { concurrency: 1 } { y = tool t.paid(i: i) return y }
          return ys
        }`,
        [paid]
      )
      const layer = testLayer([paid])
      expect((yield* Runtime.run(program, { n: 3 }, { budget: { cost: 3 } }).pipe(Effect.provide(layer))).output)
        .toEqual([0, 1, 2])
      calls = 0
      const error = failureOf(
        yield* Effect.exit(
          Runtime.run(program, { n: 10 }, { runId: "b1", budget: { cost: 3 } }).pipe(Effect.provide(layer))
        )
      )
      expect(error.kind).toBe("BudgetExceeded")
      expect(error.message).toBe("budget exceeded: cost 4 > limit 3")
      expect(calls).toBe(4)
      const nodeBudget = compileProgram(
        `
        program main() {
          ys = map i in range(10) with { concurrency: 1, budget: { tokens: 25 } } { y = tool t.paid(i: i) return y }
          return ys
        }`,
        [paid]
      )
      const e2 = failureOf(yield* Effect.exit(Runtime.run(nodeBudget, {}).pipe(Effect.provide(layer))))
      expect(e2.kind).toBe("BudgetExceeded")
      expect(e2.message).toBe("budget exceeded: tokens 30 > limit 25")
      const returned = (yield* eventsOf("b1").pipe(Effect.provide(layer))).length
      expect(returned).toBeGreaterThanOrEqual(0)
    }))

  it.effect("limits.maxNodes stops a run that executes too many nodes", () =>
    Effect.gen(function*() {
      const program = compileProgram(
        `program main() { ys = map i in range(50) { y = tool std.echo(value: i) return y } return ys }`
      )
      const error = failureOf(yield* Effect.exit(Runtime.run(program, {}, { limits: { maxNodes: 20 } })))
      expect(error.kind).toBe("ResourceExhausted")
      expect(error.message).toBe("run executed more than 20 nodes (limits.maxNodes)")
      const ok = yield* Runtime.run(program, {}, { limits: { maxNodes: 51 } })
      expect(ok.status).toBe("completed")
      const deep = yield* Effect.exit(Runtime.run(program, {}, { limits: { maxDepth: 0 } }))
      expect(failureOf(deep).message).toBe("scopes nested deeper than the limit of 0 (limits.maxDepth)")
    }).pipe(Effect.provide(testLayer())))
})

describe("batching and hooks", () => {
  it.effect("a batched tool's calls from a map are grouped by size", () =>
    Effect.gen(function*() {
      const batches: Array<number> = []
      const doubler = asTool(make({
        name: "t.double",
        description: "doubles, in batches",
        input: Schema.Struct({ x: Schema.Number }),
        output: Schema.Number,
        idempotent: true,
        batch: { size: 4, window: "50ms" },
        handler: (args) => Effect.succeed(args.x * 2),
        batchHandler: (all) =>
          Effect.sync(() => {
            batches.push(all.length)
            return all.map((a) => a.x * 2)
          })
      }))
      const program = compileProgram(
        `program main() { ys = map i in range(10) { y = tool t.double(x: i) return y } return ys }`,
        [doubler]
      )
      const f = yield* Effect.fork(Runtime.run(program, {}).pipe(Effect.provide(testLayer([doubler]))))
      yield* advanceUntilDone(f, 1000)
      expect((yield* Fiber.join(f)).output).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18])
      expect(batches.reduce((a, b) => a + b, 0)).toBe(10)
      expect(batches.slice(0, 2)).toEqual([4, 4])
    }))

  it.effect("a pre-node hook can veto a tool call; hooks see the evaluated args", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const hooks = Layer.succeed(Hooks, {
        preNode: (n) =>
          Effect.suspend(() => {
            seen.push(`${n.kind}:${n.tool ?? ""}`)
            return n.tool === "std.fail" ? Effect.fail(new Permanent({ message: "refused by policy" })) : Effect.void
          }),
        postNode: () => Effect.void
      })
      const program = compileProgram(`
        program main(go: boolean) {
          a = tool std.echo(value: 1)
          b = if go { f = tool std.fail(kind: "Transient", message: "x") return f }
          return [a, b]
        }`)
      expect((yield* Runtime.run(program, { go: false }).pipe(Effect.provide(hooks))).output).toEqual([1, null])
      const error = failureOf(yield* Effect.exit(Runtime.run(program, { go: true }).pipe(Effect.provide(hooks))))
      expect(error.message).toBe("refused by policy")
      expect(seen).toContain("tool:std.echo")
      expect(seen).toContain("branch:")
    }).pipe(Effect.provide(testLayer())))
})

describe("events", () => {
  it.effect("Runtime.events streams a run live, from before its first event to its terminal event", () => {
    const probe = makeProbe()
    return Effect.gen(function*() {
      const program = compileProgram(
        `
        program main() {
          a = tool t.work(ms: 100, value: 1)
          b = tool t.work(ms: 50, value: a + 1)
          return b
        }`,
        [probe.tool]
      )
      const collector = yield* Effect.fork(Stream.runCollect(Runtime.events("live")))
      yield* settle
      const run = yield* Effect.fork(Runtime.run(program, {}, { runId: "live" }))
      yield* advanceUntilDone(run, 1000)
      const streamed = Chunk.toReadonlyArray(yield* Fiber.join(collector))
      expect(streamed).toEqual(yield* eventsOf("live"))
      expect(streamed[streamed.length - 1]?.type).toBe("RunCompleted")
    }).pipe(Effect.provide(testLayer([probe.tool])))
  })

  it.effect("a completed run's events are well formed and end in RunCompleted with the output", () =>
    Effect.gen(function*() {
      const program = compileProgram(`
        program main(xs: number[] = [1, 2]) {
          ys = map x in xs { y = tool std.echo(value: x) return y }
          z = if len(ys) > 1 { return "many" }
          return { ys: ys, z: z }
        }`)
      const r = yield* Runtime.run(program, {}, { runId: "ev" })
      const events = yield* eventsOf("ev")
      expectWellFormed(events)
      const last = events[events.length - 1]!
      expect(last.type === "RunCompleted" && last.data.output).toEqual(r.output)
      const started = events[0]!
      expect(started.type === "RunStarted" && started.data.inputs).toEqual({ xs: [1, 2] })
      const streamed = yield* Stream.runCollect(Runtime.events("ev"))
      expect(Chunk.toReadonlyArray(streamed)).toEqual(events)
    }).pipe(Effect.provide(testLayer())))
})
