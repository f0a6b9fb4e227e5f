/** llm steps replay like tool calls: from the record, never calling the model; a changed prompt is a divergence at that node. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer } from "effect"
import type { Program } from "../../src/ir/schema.js"
import * as StepRunner from "../../src/llm/stepRunner.js"
import type { StepRunnerConfig } from "../../src/llm/stepRunner.js"
import * as Durable from "../../src/runtime/durable.js"
import { replay } from "../../src/runtime/durable.js"
import * as Runtime from "../../src/runtime/runtime.js"
import { makeEvent } from "../../src/trace/events.js"
import type { RunEvent } from "../../src/trace/events.js"
import { makeFake } from "../support/llmSteps.js"
import { compileProgram, eventsOf, idOf, testLayer } from "../support/runtime.js"

const SOURCE = `
signature Summarize {
  "Summarize the text in one line."
  input  text: string
  output summary: string
}
program main(docs: string[] = ["alpha", "beta"]) {
  sums = map d in docs {
    s = llm Summarize(text: d) with { model: "fake/m" }
    return s.summary
  }
  return join(sums, " | ")
}`

const services = (fake: ReturnType<typeof makeFake>, config: StepRunnerConfig = {}) =>
  Layer.mergeAll(testLayer(), Runtime.RunStore.layerMemory, StepRunner.layer(config).pipe(Layer.provide(fake.layer)))

const record = (program: Program, fake: ReturnType<typeof makeFake>) =>
  Effect.gen(function*() {
    const r = yield* Runtime.run(program, {}, { runId: "rec", seed: 7 })
    return { output: r.output, events: yield* eventsOf("rec") }
  }).pipe(Effect.provide(services(fake)))

const replayed = (
  program: Program,
  events: ReadonlyArray<RunEvent>,
  fake: ReturnType<typeof makeFake>,
  config: StepRunnerConfig = {}
) => replay({ _tag: "Trace", events, program }).pipe(Effect.provide(services(fake, config)))

describe("replay of llm steps", () => {
  it.effect("is exact and never calls the model: outputs, chunks and routes come from the record", () =>
    Effect.gen(function*() {
      const program = compileProgram(SOURCE)
      const live = makeFake(["{\"summary\":\"one\"}", "{\"summary\":\"two\"}"], { route: "fake/answered" })
      const { output, events } = yield* record(program, live)
      expect(output).toBe("one | two")
      expect(live.calls).toHaveLength(2)
      const silent = makeFake(["{\"summary\":\"never\"}"])
      const report = yield* replayed(program, events, silent)
      expect(report.divergence).toBeUndefined()
      expect(report).toMatchObject({ exact: true, status: "completed", output: "one | two" })
      expect(silent.calls).toHaveLength(0)
    }))

  it.effect("a recorded repair replays exactly too (both rounds' tokens)", () =>
    Effect.gen(function*() {
      const program = compileProgram(SOURCE.replace(`["alpha", "beta"]`, `["alpha"]`))
      const live = makeFake(["{\"nope\":1}", "{\"summary\":\"fixed\"}"])
      const { output, events } = yield* record(program, live)
      expect(output).toBe("fixed")
      const report = yield* replayed(program, events, makeFake(["{}"]))
      expect(report).toMatchObject({ exact: true, output: "fixed" })
    }))

  it.effect("a changed prompt diverges at that node (the runner now sends another prompt)", () =>
    Effect.gen(function*() {
      const program = compileProgram(SOURCE)
      const { events } = yield* record(program, makeFake(["{\"summary\":\"one\"}"]))
      // Same program, but the step runner now streams, which puts the JSON Schema in the prompt.
      const report = yield* replayed(program, events, makeFake(["{}"]), { mode: "stream" })
      expect(report.exact).toBe(false)
      const map = idOf(program, "sums")
      expect(report.divergence?.node).toMatch(new RegExp(`^${map}/0/`))
      expect(report.divergence?.expected).toContain(`"promptHash"`)
      expect(report.divergence?.actual).toContain(`"promptHash"`)
      expect(report.divergence?.expected).not.toBe(report.divergence?.actual)
    }))

  it.effect("a tampered prompt hash in the record is reported as the divergence", () =>
    Effect.gen(function*() {
      const program = compileProgram(SOURCE)
      const { events } = yield* record(program, makeFake(["{\"summary\":\"one\"}"]))
      const i = events.findIndex((e) => e.type === "ToolCalled")
      const e = events[i]!
      if (e.type !== "ToolCalled") throw new Error("expected ToolCalled")
      const tampered = [...events]
      tampered[i] = makeEvent("ToolCalled", { ...e, data: { ...e.data, promptHash: "sha256:0000" } })
      const report = yield* replayed(program, tampered, makeFake(["{}"]))
      expect(report.exact).toBe(false)
      expect(report.divergence).toMatchObject({ node: e.node, seq: e.seq })
      expect(report.divergence?.expected).toContain("sha256:0000")
    }))
})

describe("resume of llm steps", () => {
  it.live("reuses the completed step's recorded answer and calls the model only for the step in flight", () =>
    Effect.gen(function*() {
      const program = compileProgram(`
        signature S { "Continue." input q: string output a: string }
        program main() {
          first  = llm S(q: "start") with { model: "fake/m" }
          second = llm S(q: first.a) with { model: "fake/m" }
          return second.a
        }`)
      const before = makeFake(["{\"a\":\"one\"}", { hang: true }])
      const runner = (fake: ReturnType<typeof makeFake>) => StepRunner.layer().pipe(Layer.provide(fake.layer))
      const fiber = yield* Effect.fork(
        Durable.leaveRunning(Durable.start(program, {}, { runId: "res" })).pipe(Effect.provide(runner(before)))
      )
      // Wait until the second step is in flight, then stop the process (the run stays `running`).
      while (before.calls.length < 2) yield* Effect.sleep("5 millis")
      yield* Fiber.interrupt(fiber)
      const after = makeFake(["{\"a\":\"two\"}"])
      const result = yield* Durable.resume("res").pipe(Effect.provide(runner(after)))
      expect(result.output).toBe("two")
      expect(after.calls).toHaveLength(1)
      expect(after.calls[0]!.messages[1]!.text).toBe("q (string): one")
      const events = yield* eventsOf("res")
      const called = events.filter((e) => e.type === "ToolCalled").map((e) => e.node)
      // The log holds each call once: the resumed run's repeat of the in-flight call's ToolCalled is not recorded again.
      expect(called).toEqual([idOf(program, "first"), idOf(program, "second")])
      expect(events.filter((e) => e.type === "ToolReturned").map((e) => e.node)).toEqual([
        idOf(program, "first"),
        idOf(program, "second")
      ])
    }).pipe(Effect.provide(Layer.mergeAll(testLayer(), Runtime.RunStore.layerMemory))))
})
