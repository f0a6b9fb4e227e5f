/**
 * The cost of llm steps: the router puts the USD cost of every answer (by
 * the provider's `pricing`) into the finish part's `metadata.trellis.cost`;
 * the step runner charges it, so `ToolReturned.cost`, cost budgets and the
 * run summary see it. A cache hit and a provider without pricing cost 0.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Schema, Stream } from "effect"
import { afterAll, beforeAll } from "vitest"
import type { ProviderConfig } from "../../src/llm/config.js"
import { layer as routerLayer } from "../../src/llm/router.js"
import { LlmRouter } from "../../src/llm/service.js"
import * as StepRunner from "../../src/llm/stepRunner.js"
import type { StepRunnerConfig } from "../../src/llm/stepRunner.js"
import * as Runtime from "../../src/runtime/runtime.js"
import type { RunEvent } from "../../src/trace/events.js"
import { summarize } from "../../src/trace/summary.js"
import type { FakeUpstream } from "../support/fakeUpstream.js"
import { startFakeUpstream } from "../support/fakeUpstream.js"
import { ANSWER_SIGNATURE } from "../support/llmSteps.js"
import { compileProgram, eventsOf, testLayer } from "../support/runtime.js"

const PRICING = { inputPer1M: 3_000, outputPer1M: 15_000 }
const REPLY = "{\"text\":\"4\",\"confidence\":1}"

const SOURCE = `
${ANSWER_SIGNATURE}program main(q: string = "What is 2+2?") {
  a = llm Answer(question: q) with { model: "paid/m" }
  b = llm Answer(question: "And 3+3?") with { model: "paid/m" }
  return [a, b]
}`

/** The fake upstream's usage of one answer: 5 prompt tokens, a completion token per 4 characters. */
const usageOf = (text: string) => ({ prompt: 5, completion: Math.max(1, Math.ceil(text.length / 4)) })
const priced = (text: string, pricing = PRICING) => {
  const u = usageOf(text)
  return (u.prompt * pricing.inputPer1M + u.completion * pricing.outputPer1M) / 1_000_000
}

describe("llm step cost", () => {
  let up: FakeUpstream
  beforeAll(async () => {
    up = await startFakeUpstream("paid", () => ({ kind: "ok", text: REPLY }))
  })
  afterAll(async () => {
    await up?.close()
  })

  const router = (extra: Partial<ProviderConfig> = { pricing: PRICING }) =>
    routerLayer({
      providers: [{
        name: "paid",
        kind: "openai-compatible",
        baseUrl: up.baseUrl,
        models: ["m"],
        retry: { times: 0 },
        ...extra
      }]
    }).pipe(Layer.orDie)

  const runAll = (
    source: string,
    routers: Layer.Layer<LlmRouter>,
    config: StepRunnerConfig,
    runIds: ReadonlyArray<string>
  ) =>
    Effect.gen(function*() {
      const out: Array<{ exit: Exit.Exit<Runtime.RunResult, Runtime.RunError>; events: ReadonlyArray<RunEvent> }> = []
      for (const runId of runIds) {
        const exit = yield* Effect.exit(Runtime.run(compileProgram(source), {}, { runId }))
        out.push({ exit, events: yield* eventsOf(runId) })
      }
      return out
    }).pipe(Effect.provide(Layer.merge(testLayer(), StepRunner.layer(config).pipe(Layer.provide(routers)))))

  const returned = (events: ReadonlyArray<RunEvent>) =>
    events.filter((e): e is Extract<RunEvent, { type: "ToolReturned" }> => e.type === "ToolReturned")

  for (const mode of ["structured", "stream"] as const) {
    it.live(`${mode}: ToolReturned.cost is tokens × price, and the run summary's cost is their sum`, () =>
      Effect.gen(function*() {
        const [run] = yield* runAll(SOURCE, router(), { mode }, [`cost-${mode}`])
        expect(Exit.isSuccess(run!.exit)).toBe(true)
        const steps = returned(run!.events)
        expect(steps).toHaveLength(2)
        for (const step of steps) {
          const u = usageOf(REPLY)
          expect(step.data.tokens).toBe(u.prompt + u.completion)
          expect(step.data.route).toBe("paid/m")
          expect(step.data.cost).toBeGreaterThan(0)
          expect(step.data.cost).toBeCloseTo(priced(REPLY), 12)
        }
        expect(summarize(run!.events).cost).toBeCloseTo(2 * priced(REPLY), 12)
      }))
  }

  it.live("a run's cost budget stops the run with BudgetExceeded once the steps spent it", () =>
    Effect.gen(function*() {
      // One answer fits in the limit; the second passes it (without a budget the run completes: the tests above).
      const limit = priced(REPLY) * 1.5
      const exit = yield* Effect.exit(
        Runtime.run(compileProgram(SOURCE), {}, { runId: "cost-run-budget", budget: { cost: limit } })
      )
      if (Exit.isSuccess(exit) || exit.cause._tag !== "Fail") throw new Error(`expected a failure, got ${String(exit)}`)
      expect(exit.cause.error.kind).toBe("BudgetExceeded")
      expect(exit.cause.error.message).toContain(`> limit ${limit}`)
      const events = yield* eventsOf("cost-run-budget")
      // The step whose charge passed the limit failed instead of returning.
      expect(returned(events).map((e) => e.data.cost)).toEqual([priced(REPLY)])
    }).pipe(Effect.provide(Layer.merge(testLayer(), StepRunner.layer({}).pipe(Layer.provide(router()))))))

  it.live("a step's own budget: { cost } fails it with BudgetExceeded", () =>
    Effect.gen(function*() {
      const limit = priced(REPLY) / 2
      const source = SOURCE.replace(
        `a = llm Answer(question: q) with { model: "paid/m" }`,
        `a = llm Answer(question: q) with { model: "paid/m", budget: { cost: ${limit} } }`
      )
      const [run] = yield* runAll(source, router(), {}, ["cost-step-budget"])
      if (Exit.isSuccess(run!.exit) || run!.exit.cause._tag !== "Fail") {
        throw new Error(`expected a failure, got ${String(run!.exit)}`)
      }
      expect(run!.exit.cause.error.kind).toBe("BudgetExceeded")
      expect(run!.exit.cause.error.message).toContain(`cost ${priced(REPLY)} > limit ${limit}`)
    }))

  it.live("a cache hit costs 0; a provider without pricing costs 0", () =>
    Effect.gen(function*() {
      // The same program twice over one router: the second run's answers come from the response cache.
      const [first, second] = yield* runAll(SOURCE, router(), {}, ["cost-cache-1", "cost-cache-2"])
      expect(returned(first!.events).map((e) => e.data.cost)).toEqual([priced(REPLY), priced(REPLY)])
      expect(returned(second!.events).map((e) => e.data.cost)).toEqual([0, 0])
      expect(summarize(second!.events).cost).toBe(0)
      const [free] = yield* runAll(SOURCE, router({}), {}, ["cost-free"])
      expect(Exit.isSuccess(free!.exit)).toBe(true)
      expect(returned(free!.events).map((e) => e.data.cost)).toEqual([0, 0])
    }))

  it.live("the router's LanguageModel carries metadata.trellis.cost in the finish part (text and stream)", () =>
    Effect.gen(function*() {
      const r = yield* LlmRouter
      const { model } = yield* r.resolve("paid/m", { workspace: "w", needs: [], noCache: true })
      const text = yield* model.generateText({ prompt: "hi" })
      const finish = text.content.find((p) => p.type === "finish")
      expect(finish?.metadata).toEqual({ trellis: { cost: priced(REPLY) } })
      const parts = yield* Stream.runCollect(model.streamText({ prompt: "hi" }))
      const last = [...parts].at(-1)!
      expect(last.type).toBe("finish")
      expect(last.metadata).toEqual({ trellis: { cost: priced(REPLY) } })
      const o = yield* model.generateObject({ prompt: "hi", schema: Schema.Struct({ text: Schema.String }) })
      expect(o.content.find((p) => p.type === "finish")?.metadata).toEqual({ trellis: { cost: priced(REPLY) } })
    }).pipe(Effect.provide(router())))
})
