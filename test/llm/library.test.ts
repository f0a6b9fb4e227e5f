/**
 * The LLM layer through the library surface (`src/index.ts`'s `Llm`
 * namespace): the router layers, `yield* Llm.LlmRouter`, `generateObject`
 * with an effect Schema, llm steps in a program run with
 * `Llm.StepRunner.layer` over `Llm.Router.layerLocal`, `Llm.plan`, and the
 * config Schema.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Layer, Schema } from "effect"
import { Llm, Program, Runtime, Tool } from "../../src/index.js"
import type { ProgramIR } from "../../src/index.js"
import { ANSWER_SIGNATURE } from "../support/llmSteps.js"

const Answer = Schema.Struct({
  text: Schema.String,
  confidence: Schema.Number.pipe(Schema.between(0, 1)),
  tone: Schema.Literal("formal", "casual")
})

const SOURCE = `
${ANSWER_SIGNATURE}program main(q: string = "What is 2+2?") {
  a = llm Answer(question: q)
  return a
}`

const compileSource = (source: string): ProgramIR => {
  const checked = Program.check(source, { tools: Either.getOrThrow(Tool.makeRegistry(Tool.builtinTools)).table })
  if (checked.normalized === undefined) throw new Error(checked.diagnostics.map((d) => d.message).join("\n"))
  return checked.normalized
}

describe("Llm (library surface)", () => {
  it.effect("Llm.LlmRouter resolves local/echo; generateObject decodes with an effect Schema", () =>
    Effect.gen(function*() {
      const router = yield* Llm.LlmRouter
      expect(router.models()).toContain("local/echo")
      const { model, route } = yield* router.resolve("local/echo", { workspace: "lib", needs: ["json"] })
      expect(route).toBe("local/echo")
      const answer = yield* model.generateObject({ prompt: "How are you?", schema: Answer, objectName: "Answer" })
      expect(Schema.is(Answer)(answer.value)).toBe(true)
      expect(answer.value.text).toContain("How are you?")
      // local/echo has no pricing: the finish part says cost 0.
      expect(answer.content.find((p) => p.type === "finish")?.metadata).toEqual({ trellis: { cost: 0 } })
      const unknown = yield* Effect.flip(router.resolve("nope/x", { workspace: "lib", needs: [] }))
      expect(unknown).toBeInstanceOf(Llm.LlmError)
      expect(unknown.reason).toBe("UnknownModel")
    }).pipe(Effect.provide(Llm.Router.layerLocal)))

  it.effect("Llm.Router.layer(configFile) decodes with Llm.ConfigFile; a bad file is an LlmConfigError naming the field", () =>
    Effect.gen(function*() {
      const file = yield* Schema.decodeUnknown(Llm.ConfigFile)({
        providers: [{
          name: "vllm",
          kind: "openai-compatible",
          baseUrl: "http://127.0.0.1:9/v1",
          models: ["qwen"],
          pricing: { inputPer1M: 1, outputPer1M: 2 }
        }],
        fallbacks: { "vllm/qwen": ["local/echo"] },
        steps: { defaultModel: "vllm/qwen" }
      })
      const models = yield* Effect.map(Llm.LlmRouter, (r) => r.models()).pipe(Effect.provide(Llm.Router.layer(file)))
      expect([...models].sort()).toEqual(["local/echo", "vllm/qwen"])
      const bad = yield* Effect.flip(
        Effect.provide(
          Llm.LlmRouter,
          Llm.Router.layer({ providers: [{ name: "x", kind: "openai-compatible", models: ["m"] }] })
        )
      )
      expect(bad).toBeInstanceOf(Llm.LlmConfigError)
      expect(bad.message).toContain("providers[0] (x).baseUrl")
      expect(
        Either.isLeft(
          Schema.decodeUnknownEither(Llm.ConfigFile)({ providers: [{ name: "a/b", kind: "local", models: ["echo"] }] })
        )
      ).toBe(true)
    }))

  it.effect("a program with an llm step runs through Runtime.run with Llm.StepRunner.layer over Llm.Router.layerLocal", () =>
    Effect.gen(function*() {
      const result = yield* Runtime.run(compileSource(SOURCE), { q: "What is 3+3?" }, { runId: "lib-llm" })
      const output = result.output as { text: string; confidence: number }
      expect(output.text).toContain("What is 3+3?")
      expect(output.confidence).toBeGreaterThanOrEqual(0)
      expect(output.confidence).toBeLessThanOrEqual(1)
    }).pipe(
      Effect.provide(
        Layer.merge(Runtime.layerMemory, Llm.StepRunner.layer({}).pipe(Layer.provide(Llm.Router.layerLocal)))
      )
    ))

  it.effect("Llm.plan asks the model through Llm.LlmRouter; bad options are a PlanError", () =>
    Effect.gen(function*() {
      const tools = Either.getOrThrow(Tool.makeRegistry(Tool.builtinTools)).table
      const result: Llm.PlanResult = yield* Llm.plan("echo the input", { model: "local/echo", tools, rounds: 1 })
      expect(result.rounds).toBe(1)
      const bad = yield* Effect.flip(Llm.plan("x", { model: "local/echo", tools, rounds: Llm.MAX_PLAN_ROUNDS + 1 }))
      expect(bad).toBeInstanceOf(Llm.PlanError)
      expect(bad.reason).toBe("BadOptions")
      const missing = yield* Effect.flip(Llm.plan("x", { model: "nope/x", tools }))
      expect(missing.reason).toBe("Model")
    }).pipe(Effect.provide(Llm.Router.layerLocal)))

  it("Llm.Capability is the Schema of capabilities", () => {
    expect(Schema.is(Llm.Capability)("json")).toBe(true)
    expect(Schema.is(Llm.Capability)("vision")).toBe(false)
  })
})
