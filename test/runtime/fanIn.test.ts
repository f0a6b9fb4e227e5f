/**
 * Fan-ins that do not wait for all: `race` (first success wins, the rest are
 * cancelled) and `map … with { take: k }` (first k results in completion
 * order); failures aggregated; replay follows the recorded winner.
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Exit, Fiber, Layer, Schema, Stream } from "effect"
import * as Durable from "../../src/runtime/durable.js"
import { RunStore } from "../../src/runtime/runStore.js"
import * as Runtime from "../../src/runtime/runtime.js"
import type { RunError } from "../../src/runtime/runtime.js"
import { make, Transient } from "../../src/tools/index.js"
import type { AnyTool } from "../../src/tools/index.js"
import type { RunEvent } from "../../src/trace/events.js"
import { compileProgram, eventsOf, idOf, makeProbe, testLayer } from "../support/runtime.js"

/** Fails with Transient after `ms`. */
const failing = make({
  name: "t.fail",
  description: "Sleeps ms, then fails Transient with the message given.",
  input: Schema.Struct({ ms: Schema.Number, why: Schema.String }),
  output: Schema.Unknown,
  idempotent: true,
  handler: (args) =>
    Effect.zipRight(Effect.sleep(`${args.ms} millis`), Effect.fail(new Transient({ message: args.why })))
}) as unknown as AnyTool

/** A promise-returning tool that resolves after `ms` unless its signal aborts first (aborts are counted). */
const makeAbortable = () => {
  const stats = { aborted: 0, finished: 0 }
  const tool = make({
    name: "t.promise",
    description: "Resolves value after ms unless aborted.",
    input: Schema.Struct({ ms: Schema.Number, value: Schema.Unknown }),
    output: Schema.Unknown,
    idempotent: true,
    run: (args, ctx) =>
      new Promise<unknown>((resolve) => {
        const timer = setTimeout(() => {
          stats.finished++
          resolve(args.value)
        }, args.ms)
        ctx.signal.addEventListener("abort", () => {
          clearTimeout(timer)
          stats.aborted++
        })
      })
  })
  return { tool: tool as unknown as AnyTool, stats }
}

const failureOf = <A>(exit: Exit.Exit<A, RunError>): RunError => {
  if (Exit.isSuccess(exit) || exit.cause._tag !== "Fail") throw new Error("expected a failure")
  return exit.cause.error
}

const cancelledUnder = (events: ReadonlyArray<RunEvent>, prefix: string) =>
  events.filter((e) => e.type === "NodeFailed" && e.data.errorKind === "Cancelled" && e.node?.startsWith(prefix))

describe("race", () => {
  it.live("the first option to succeed gives the value; the slower one is interrupted and recorded Cancelled", () => {
    const probe = makeProbe()
    const program = compileProgram(
      `program main() {
        r = race {
          slow: { return tool t.work(ms: 400, value: "slow") }
          fast: { return tool t.work(ms: 5, value: "fast") }
        }
        return r
      }`,
      [probe.tool]
    )
    return Effect.gen(function*() {
      const result = yield* Runtime.run(program, {}, { runId: "race-1" })
      expect(result.output).toBe("fast")
      const events = yield* eventsOf("race-1")
      const race = idOf(program, "r")
      const settled = events.find((e) => e.type === "FanInSettled")
      expect(settled?.node).toBe(race)
      expect(settled?.type === "FanInSettled" && settled.data).toEqual({ picked: ["fast"], dropped: ["slow"] })
      expect(cancelledUnder(events, `${race}/slow/`).length).toBe(1)
      // The slow call was interrupted: its finalizer ran and nothing is in flight.
      expect(probe.stats.active).toBe(0)
      expect(probe.stats.finalized).toBe(2)
    }).pipe(Effect.provide(testLayer([probe.tool])))
  })

  it.live("a losing promise handler's signal aborts", () => {
    const p = makeAbortable()
    const program = compileProgram(
      `program main() {
        return race {
          a: { return tool t.promise(ms: 400, value: 1) }
          b: { return tool t.promise(ms: 5, value: 2) }
        }
      }`,
      [p.tool]
    )
    return Effect.gen(function*() {
      const result = yield* Runtime.run(program, {})
      expect(result.output).toBe(2)
      expect(p.stats).toEqual({ aborted: 1, finished: 1 })
    }).pipe(Effect.provide(testLayer([p.tool])))
  })

  it.live("a failing option does not fail the race while another can still win", () => {
    const probe = makeProbe()
    const program = compileProgram(
      `program main() {
        return race {
          bad: { return tool t.fail(ms: 1, why: "down") }
          good: { return tool t.work(ms: 20, value: "ok") }
        }
      }`,
      [probe.tool, failing]
    )
    return Effect.gen(function*() {
      const result = yield* Runtime.run(program, {}, { runId: "race-2" })
      expect(result.output).toBe("ok")
      const events = yield* eventsOf("race-2")
      const settled = events.find((e) => e.type === "FanInSettled")
      expect(settled?.type === "FanInSettled" && settled.data).toEqual({ picked: ["good"], dropped: ["bad"] })
    }).pipe(Effect.provide(testLayer([probe.tool, failing])))
  })

  it.live("every option failing fails the node with the errors aggregated, of their common kind", () => {
    const program = compileProgram(
      `program main() {
        r = race {
          a: { return tool t.fail(ms: 1, why: "first down") }
          b: { return tool t.fail(ms: 3, why: "second down") }
        }
        return r
      }`,
      [failing]
    )
    return Effect.gen(function*() {
      const error = failureOf(yield* Effect.exit(Runtime.run(program, {})))
      expect(error.kind).toBe("Transient")
      expect(error.node).toBe(idOf(program, "r"))
      expect(error.message).toContain(`option "a": Transient: first down`)
      expect(error.message).toContain(`option "b": Transient: second down`)
    }).pipe(Effect.provide(testLayer([failing])))
  })

  it.live("a synchronous option wins at once; races nest inside a take and are cancelled with their item", () => {
    const probe = makeProbe()
    const program = compileProgram(
      `program main(delays: number[] = [200, 5]) {
        now = race {
          pure: { return "at once" }
          slow: { return tool t.work(ms: 300, value: "late") }
        }
        first = map d in delays with { take: 1 } {
          r = race {
            x: { return tool t.work(ms: d, value: d) }
            y: { return tool t.work(ms: d + 1, value: d) }
          }
          return r
        }
        return { now: now, first: first }
      }`,
      [probe.tool]
    )
    return Effect.gen(function*() {
      const result = yield* Runtime.run(program, {}, { runId: "race-nested" })
      expect(result.output).toEqual({ now: "at once", first: [5] })
      // Every call still running when its item lost was interrupted: nothing is left in flight.
      expect(probe.stats.active).toBe(0)
      expect(probe.stats.finalized).toBe(probe.stats.calls)
      const events = yield* eventsOf("race-nested")
      const item0 = `${idOf(program, "first")}/0/`
      expect(cancelledUnder(events, item0).length).toBeGreaterThanOrEqual(2)
    }).pipe(Effect.provide(testLayer([probe.tool])))
  })

  it.live("replay follows the recorded winner exactly and calls no tool", () => {
    const probe = makeProbe()
    const program = compileProgram(
      `program main() {
        return race {
          slow: { return tool t.work(ms: 300, value: "slow") }
          fast: { return tool t.work(ms: 5, value: "fast") }
        }
      }`,
      [probe.tool]
    )
    return Effect.gen(function*() {
      const r = yield* Durable.start(program, {}, { seed: 1 })
      const calls = probe.stats.calls
      const replayed = yield* Durable.replay({ _tag: "Stored", runId: r.runId })
      expect(replayed.exact).toBe(true)
      expect(replayed.output).toBe("fast")
      expect(probe.stats.calls).toBe(calls)
    }).pipe(Effect.provide(Layer.merge(testLayer([probe.tool]), RunStore.layerMemory)))
  })
})

describe("map with take", () => {
  it.live("the first k results in completion order; the items still running are cancelled", () => {
    const probe = makeProbe()
    const program = compileProgram(
      `program main(delays: number[] = [300, 5, 300, 40]) {
        firsts = map d in delays with { take: 2 } {
          return tool t.work(ms: d, value: d)
        }
        return firsts
      }`,
      [probe.tool]
    )
    return Effect.gen(function*() {
      const result = yield* Runtime.run(program, {}, { runId: "take-1" })
      expect(result.output).toEqual([5, 40])
      const events = yield* eventsOf("take-1")
      const map = idOf(program, "firsts")
      const settled = events.find((e) => e.type === "FanInSettled")
      expect(settled?.type === "FanInSettled" && settled.data).toEqual({ picked: ["1", "3"], dropped: ["0", "2"] })
      expect(cancelledUnder(events, `${map}/0/`).length).toBe(1)
      expect(cancelledUnder(events, `${map}/2/`).length).toBe(1)
      expect(probe.stats.active).toBe(0)
    }).pipe(Effect.provide(testLayer([probe.tool])))
  })

  it.live("failures are skipped while k successes stay possible; beyond that the node fails", () => {
    const probe = makeProbe()
    const program = compileProgram(
      `program main(fails: boolean[]) {
        got = map f in fails with { take: 2, concurrency: 1 } {
          v = if f { return tool t.fail(ms: 1, why: "no") } else { return tool t.work(ms: 1, value: "yes") }
          return v
        }
        return got
      }`,
      [probe.tool, failing]
    )
    return Effect.gen(function*() {
      const ok = yield* Runtime.run(program, { fails: [true, false, true, false] })
      expect(ok.output).toEqual(["yes", "yes"])
      const error = failureOf(yield* Effect.exit(Runtime.run(program, { fails: [true, false, true] })))
      expect(error.kind).toBe("Transient")
      expect(error.message).toContain("fewer than 2 of 3 items can succeed")
      expect(error.message).toContain("item 0: Transient: no")
    }).pipe(Effect.provide(testLayer([probe.tool, failing])))
  })

  it.live("a take larger than the list fails Permanent at run time", () => {
    const program = compileProgram(`program main(xs: number[]) { return map x in xs with { take: 3 } { return x } }`)
    return Effect.gen(function*() {
      const error = failureOf(yield* Effect.exit(Runtime.run(program, { xs: [1, 2] })))
      expect(error.kind).toBe("Permanent")
      expect(error.message).toContain("take 3 of 2 items")
    }).pipe(Effect.provide(testLayer()))
  })

  it.live("replay reproduces the recorded order", () => {
    const probe = makeProbe()
    const program = compileProgram(
      `program main(delays: number[] = [60, 5, 30]) {
        return map d in delays with { take: 2 } { return tool t.work(ms: d, value: d) }
      }`,
      [probe.tool]
    )
    return Effect.gen(function*() {
      const r = yield* Durable.start(program, {}, { seed: 2 })
      expect(r.output).toEqual([5, 30])
      const replayed = yield* Durable.replay({ _tag: "Stored", runId: r.runId })
      expect(replayed.exact).toBe(true)
      expect(replayed.output).toEqual([5, 30])
    }).pipe(Effect.provide(Layer.merge(testLayer([probe.tool]), RunStore.layerMemory)))
  })
})

describe("map with fold", () => {
  const FOLD = `
    program main(delays: number[] = [40, 5, 20]) {
      total = map d in delays with { fold: add, init: 0 } {
        return tool t.work(ms: d, value: d)
      }
      return total
    }
    program add(acc: number, x: number) { return acc + x }`

  it.live("combines results as they arrive; each partial value is an event, in completion order", () => {
    const probe = makeProbe()
    const program = compileProgram(FOLD, [probe.tool])
    return Effect.gen(function*() {
      const result = yield* Runtime.run(program, {}, { runId: "fold-1" })
      expect(result.output).toBe(65)
      const events = yield* eventsOf("fold-1")
      const map = idOf(program, "total")
      const partial = events.flatMap((e) => (e.type === "FoldUpdated" && e.node === map ? [e.data.value] : []))
      expect(partial).toEqual([5, 25, 65])
      const completed = events.findIndex((e) => e.type === "NodeCompleted" && e.node === map)
      const lastFold = events.map((e) => e.type).lastIndexOf("FoldUpdated")
      expect(lastFold).toBeLessThan(completed)
    }).pipe(Effect.provide(testLayer([probe.tool])))
  })

  it.live("a live subscriber sees each partial value while the run is still going", () => {
    const probe = makeProbe()
    const program = compileProgram(FOLD, [probe.tool])
    return Effect.gen(function*() {
      const run = yield* Effect.fork(Runtime.run(program, {}, { runId: "fold-live" }))
      // Subscribe as the server's SSE endpoint does: recorded events, then live ones until the run ends.
      const seen = yield* Runtime.events("fold-live").pipe(
        Stream.filter((e) => e.type === "FoldUpdated" || e.type === "RunCompleted"),
        Stream.map((e) => (e.type === "FoldUpdated" ? e.data.value : "end")),
        Stream.runCollect
      )
      expect(Chunk.toReadonlyArray(seen)).toEqual([5, 25, 65, "end"])
      expect((yield* Fiber.join(run)).output).toBe(65)
    }).pipe(Effect.provide(testLayer([probe.tool])))
  })

  it.live("an empty list folds to init; fold with take folds the first k", () => {
    const probe = makeProbe()
    const program = compileProgram(
      `program main(delays: number[]) {
        return map d in delays with { take: 2, fold: join2, init: "" } {
          return tool t.work(ms: d, value: str(d))
        }
      }
      program join2(acc: string, x: string) { return concat(acc, x, ";") }`,
      [probe.tool]
    )
    return Effect.gen(function*() {
      expect((yield* Runtime.run(program, { delays: [] })).output).toBe("")
      expect((yield* Runtime.run(program, { delays: [400, 1, 20] })).output).toBe("1;20;")
    }).pipe(Effect.provide(testLayer([probe.tool])))
  })

  it.live("replay folds in the recorded order", () => {
    const probe = makeProbe()
    const program = compileProgram(
      `program main(delays: number[] = [30, 1, 15]) {
        return map d in delays with { fold: cat, init: [] } { return tool t.work(ms: d, value: d) }
      }
      program cat(acc: number[], x: number) { return concat(acc, [x]) }`,
      [probe.tool]
    )
    return Effect.gen(function*() {
      const r = yield* Durable.start(program, {}, { seed: 3 })
      expect(r.output).toEqual([1, 15, 30])
      const replayed = yield* Durable.replay({ _tag: "Stored", runId: r.runId })
      expect(replayed.exact).toBe(true)
      expect(replayed.output).toEqual([1, 15, 30])
    }).pipe(Effect.provide(Layer.merge(testLayer([probe.tool]), RunStore.layerMemory)))
  })
})

describe("hedged calls", () => {
  /** A tool whose n-th call sleeps `delays[n]` ms (then returns n); interrupted calls are counted. */
  const makeSlowFirst = (delays: ReadonlyArray<number>) => {
    const stats = { calls: 0, interrupted: 0 }
    const tool = make({
      name: "t.flaky",
      description: "The n-th call sleeps delays[n] ms.",
      input: Schema.Struct({ q: Schema.String }),
      output: Schema.Number,
      idempotent: true,
      handler: () => {
        const n = stats.calls++
        return Effect.as(Effect.sleep(`${delays[n] ?? 0} millis`), n).pipe(
          Effect.onInterrupt(() => Effect.sync(() => stats.interrupted++))
        )
      }
    })
    return { tool: tool as unknown as AnyTool, stats }
  }
  const SOURCE = `program main() {
    v = tool t.flaky(q: "x") with { hedge: "20ms" }
    return v
  }`

  it.live("a slow first attempt is hedged after the delay; the hedge wins and the first is interrupted", () => {
    const t = makeSlowFirst([400, 5])
    const program = compileProgram(SOURCE, [t.tool])
    return Effect.gen(function*() {
      const r = yield* Runtime.run(program, {}, { runId: "hedge-1" })
      expect(r.output).toBe(1)
      expect(t.stats).toEqual({ calls: 2, interrupted: 1 })
      const events = yield* eventsOf("hedge-1")
      const v = idOf(program, "v")
      const settled = events.find((e) => e.type === "FanInSettled")
      expect(settled?.node).toBe(v)
      expect(settled?.type === "FanInSettled" && settled.data).toEqual({ picked: ["hedge"], dropped: ["primary"] })
      expect(events.some((e) => e.type === "ToolCalled" && e.node === `${v}/hedge/call`)).toBe(true)
    }).pipe(Effect.provide(testLayer([t.tool])))
  })

  it.live("a fast first attempt never starts the hedge", () => {
    const t = makeSlowFirst([1, 1])
    const program = compileProgram(SOURCE, [t.tool])
    return Effect.gen(function*() {
      const r = yield* Runtime.run(program, {}, { runId: "hedge-2" })
      expect(r.output).toBe(0)
      expect(t.stats.calls).toBe(1)
      const settled = (yield* eventsOf("hedge-2")).find((e) => e.type === "FanInSettled")
      expect(settled?.type === "FanInSettled" && settled.data).toEqual({ picked: ["primary"], dropped: [] })
    }).pipe(Effect.provide(testLayer([t.tool])))
  })

  it.live("replay answers the recorded winner exactly", () => {
    const t = makeSlowFirst([300, 1])
    const program = compileProgram(SOURCE, [t.tool])
    return Effect.gen(function*() {
      const r = yield* Durable.start(program, {}, { seed: 4 })
      expect(r.output).toBe(1)
      const replayed = yield* Durable.replay({ _tag: "Stored", runId: r.runId })
      expect(replayed.divergence).toBeUndefined()
      expect(replayed.output).toBe(1)
      expect(t.stats.calls).toBe(2)
    }).pipe(Effect.provide(Layer.merge(testLayer([t.tool]), RunStore.layerMemory)))
  })

  it.live("an llm step's hedge goes to its hedgeModel route", () => {
    const program = compileProgram(`
      signature Say {
        input topic: string
        output text: string
      }
      program main() {
        return llm Say(topic: "x") with { model: "slow/a", hedge: "10ms", hedgeModel: "fast/b" }
      }`)
    const llm = Runtime.LlmRunner.layer({
      run: (req) =>
        Effect.as(Effect.sleep(req.model === "slow/a" ? "400 millis" : "2 millis"), { text: req.model ?? "none" })
    })
    return Effect.gen(function*() {
      const r = yield* Runtime.run(program, {})
      expect(r.output).toEqual({ text: "fast/b" })
    }).pipe(Effect.provide(Layer.merge(testLayer(), llm)))
  })
})
