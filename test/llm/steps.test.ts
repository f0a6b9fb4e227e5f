/** llm steps through the step runner: decode, repair loop, Chunk events, route + prompt hash, budgets, errors → taxonomy. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer } from "effect"
import * as Router from "../../src/llm/router.js"
import { LlmError } from "../../src/llm/service.js"
import { compileSignature } from "../../src/llm/signature.js"
import * as StepRunner from "../../src/llm/stepRunner.js"
import type { StepRunnerConfig } from "../../src/llm/stepRunner.js"
import * as Durable from "../../src/runtime/durable.js"
import * as Runtime from "../../src/runtime/runtime.js"
import type { RunEvent } from "../../src/trace/events.js"
import { ANSWER_SIGNATURE, failingThen, makeFake } from "../support/llmSteps.js"
import { compileProgram, eventsOf, testLayer } from "../support/runtime.js"

const SOURCE = `
${ANSWER_SIGNATURE}program main(q: string = "What is 2+2?") {
  a = llm Answer(question: q) with { model: "fake/m" }
  return a
}`

const runWith = (
  source: string,
  router: Layer.Layer<import("../../src/llm/service.js").LlmRouter>,
  config: StepRunnerConfig = {},
  runId = "r1"
) =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(Runtime.run(compileProgram(source), {}, { runId }))
    return { exit, events: yield* eventsOf(runId) }
  }).pipe(Effect.provide(Layer.merge(testLayer(), StepRunner.layer(config).pipe(Layer.provide(router)))))

const ofType = <T extends RunEvent["type"]>(events: ReadonlyArray<RunEvent>, type: T) =>
  events.filter((e): e is Extract<RunEvent, { type: T }> => e.type === type)

const failure = (exit: Exit.Exit<unknown, Runtime.RunError>) => {
  if (Exit.isSuccess(exit) || exit.cause._tag !== "Fail") throw new Error(`expected a failure, got ${String(exit)}`)
  return exit.cause.error
}

describe("llm steps", () => {
  it.effect("decode the reply with the signature's Schema; the route, model and prompt hash are recorded", () =>
    Effect.gen(function*() {
      const fake = makeFake(["{\"text\":\"4\",\"confidence\":0.9,\"extra\":true}"], { route: "fake/answered" })
      const { exit, events } = yield* runWith(SOURCE, fake.layer)
      expect(Exit.isSuccess(exit) && exit.value.output).toEqual({ text: "4", confidence: 0.9 })
      expect(fake.calls).toHaveLength(1)
      expect(fake.calls[0]!.model).toBe("fake/m")
      expect(fake.calls[0]!.json).toBe(true)
      const called = ofType(events, "ToolCalled")
      expect(called).toHaveLength(1)
      const signature = compileProgram(SOURCE).signatures.Answer!
      const expectedHash = compileSignature("Answer", signature, { question: "What is 2+2?" }).promptHash
      expect(called[0]!.data).toMatchObject({ tool: "llm:Answer", model: "fake/m", promptHash: expectedHash })
      const returned = ofType(events, "ToolReturned")
      expect(returned[0]!.data).toMatchObject({
        tool: "llm:Answer",
        route: "fake/answered",
        tokens: 15,
        output: { text: "4", confidence: 0.9 }
      })
      expect(ofType(events, "Chunk").map((c) => c.data.text).join("")).toBe(
        "{\"text\":\"4\",\"confidence\":0.9,\"extra\":true}"
      )
    }))

  it.effect("repair an invalid reply by feeding the decode error back", () =>
    Effect.gen(function*() {
      const fake = makeFake(["{\"text\":4}", "{\"text\":\"4\",\"confidence\":1}"])
      const { exit, events } = yield* runWith(SOURCE, fake.layer)
      expect(Exit.isSuccess(exit) && exit.value.output).toEqual({ text: "4", confidence: 1 })
      expect(fake.calls).toHaveLength(2)
      const second = fake.calls[1]!.messages
      expect(second.map((m) => m.role)).toEqual(["system", "user", "assistant", "user"])
      expect(second[2]!.text).toBe("{\"text\":4}")
      expect(second[3]!.text).toContain(`["text"]`)
      expect(second[3]!.text).toContain(`["confidence"]`)
      // Both rounds' tokens are charged to the step.
      expect(ofType(events, "ToolReturned")[0]!.data.tokens).toBe(30)
    }))

  it.effect("fail with Permanent after 1 + repairs invalid replies (default 2 repairs)", () =>
    Effect.gen(function*() {
      const fake = makeFake(["not json at all"])
      const { exit } = yield* runWith(SOURCE, fake.layer)
      const e = failure(exit)
      expect(e.kind).toBe("Permanent")
      expect(e.message).toContain("did not match the signature after 3 tries")
      expect(e.message).toContain("not valid JSON")
      expect(fake.calls).toHaveLength(3)
    }))

  it.effect("the number of repairs is configurable", () =>
    Effect.gen(function*() {
      const fake = makeFake(["{\"text\":\"x\"}"])
      const { exit } = yield* runWith(SOURCE, fake.layer, { repairs: 0 })
      expect(failure(exit).message).toContain("after 1 tries")
      expect(fake.calls).toHaveLength(1)
    }))

  it.effect("stream mode: every text delta is a Chunk event, in order; the prompt carries the JSON Schema", () =>
    Effect.gen(function*() {
      const reply = "{\"text\":\"four\",\"confidence\":0.75}"
      const fake = makeFake([reply], { deltas: 4 })
      const { exit, events } = yield* runWith(SOURCE, fake.layer, { mode: "stream" })
      expect(Exit.isSuccess(exit) && exit.value.output).toEqual({ text: "four", confidence: 0.75 })
      expect(fake.calls[0]!.json).toBe(false)
      expect(fake.calls[0]!.messages[0]!.text).toContain(`"required":["text","confidence"]`)
      const chunks = ofType(events, "Chunk")
      expect(chunks.length).toBe(4)
      expect(chunks.map((c) => c.data.index)).toEqual([0, 1, 2, 3])
      expect(chunks.map((c) => c.data.text).join("")).toBe(reply)
    }))

  it.effect("tokens are charged to budgets: a step over its token budget fails with BudgetExceeded", () =>
    Effect.gen(function*() {
      const fake = makeFake([{ text: "{\"text\":\"4\",\"confidence\":1}", tokens: 120 }])
      const { exit } = yield* runWith(
        SOURCE.replace(`model: "fake/m"`, `model: "fake/m", budget: { tokens: 100 }`),
        fake.layer
      )
      const e = failure(exit)
      expect(e.kind).toBe("BudgetExceeded")
      expect(e.message).toContain("tokens 120 > limit 100")
    }))

  // Live clock: the retry waits the 1 ms Retry-After for real.
  it.live("router errors map to the taxonomy, so retry policies apply (RateLimited retried, then success)", () =>
    Effect.gen(function*() {
      const fake = makeFake(["{\"text\":\"4\",\"confidence\":1}"])
      const router = failingThen([new LlmError({ reason: "RateLimited", message: "slow down", retryAfterMs: 1 })], fake)
      const source = SOURCE.replace(`model: "fake/m"`, `model: "fake/m", retry: { times: 2, backoff: "none" }`)
      const { exit, events } = yield* runWith(source, router.layer)
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(ofType(events, "NodeRetrying").map((e) => e.data.errorKind)).toEqual(["RateLimited"])
      expect(ofType(events, "ToolCalled").map((e) => e.attempt)).toEqual([1, 2])
    }))

  it.effect("an unknown model is Permanent and not retried by default", () =>
    Effect.gen(function*() {
      const fake = makeFake(["{\"text\":\"4\",\"confidence\":1}"])
      const router = failingThen(
        [new LlmError({ reason: "UnknownModel", message: `no provider serves "fake/m"` })],
        fake
      )
      const source = SOURCE.replace(`model: "fake/m"`, `model: "fake/m", retry: { times: 2, backoff: "none" }`)
      const { exit } = yield* runWith(source, router.layer)
      expect(failure(exit)).toMatchObject({ kind: "Permanent", message: `no provider serves "fake/m"` })
    }))

  it("maps every LlmError reason to a runtime error kind", () => {
    const kinds = Object.fromEntries(
      ([
        "UnknownModel",
        "CapabilityMissing",
        "BadRequest",
        "RateLimited",
        "QuotaExceeded",
        "Timeout",
        "Upstream",
        "Unavailable"
      ] as const)
        .map((reason) => [reason, StepRunner.toolErrorOfLlm(new LlmError({ reason, message: "m" }))._tag])
    )
    expect(kinds).toEqual({
      UnknownModel: "Permanent",
      CapabilityMissing: "Permanent",
      BadRequest: "Permanent",
      RateLimited: "RateLimited",
      QuotaExceeded: "RateLimited",
      Timeout: "Timeout",
      Upstream: "Transient",
      Unavailable: "Transient"
    })
  })

  it.effect("default model is local/echo: a step without a model policy runs offline and conforms to its signature", () =>
    Effect.gen(function*() {
      const source = SOURCE.replace(` with { model: "fake/m" }`, "")
      const { exit, events } = yield* runWith(source, Router.layerLocal)
      expect(Exit.isSuccess(exit)).toBe(true)
      const out = Exit.isSuccess(exit) ? (exit.value.output as Record<string, unknown>) : {}
      expect(typeof out.text).toBe("string")
      expect(typeof out.confidence).toBe("number")
      expect(ofType(events, "ToolCalled")[0]!.data.model).toBe("local/echo")
      expect(ofType(events, "ToolReturned")[0]!.data.route).toBe("local/echo")
    }))

  it.effect("requests are made in the durable run's workspace (else the runner's, else default)", () =>
    Effect.gen(function*() {
      const fake = makeFake(["{\"text\":\"4\",\"confidence\":1}"])
      const layer = Layer.mergeAll(
        testLayer(),
        Runtime.RunStore.layerMemory,
        StepRunner.layer({ workspace: "cli" }).pipe(Layer.provide(fake.layer))
      )
      yield* Durable.start(compileProgram(SOURCE), {}, { runId: "w1", workspace: "acme" }).pipe(Effect.provide(layer))
      yield* Runtime.run(compileProgram(SOURCE), {}, { runId: "w2" }).pipe(Effect.provide(layer))
      expect(fake.workspaces).toEqual(["acme", "cli"])
    }))
})
