import { LanguageModel } from "@effect/ai"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, JSONSchema, Option, Schema, Stream } from "effect"
import * as fc from "fast-check"
import type { ChatRequest } from "../../src/llm/chatCompletions.js"
import * as Echo from "../../src/llm/echo.js"
import { layerLocal } from "../../src/llm/router.js"
import { LlmRouter } from "../../src/llm/service.js"

const request = (text: string, extra: Partial<ChatRequest> = {}): ChatRequest => ({
  model: "local/echo",
  messages: [{ role: "system", content: "be brief" }, { role: "user", content: text }],
  ...extra
})

const Answer = Schema.Struct({
  text: Schema.String,
  confidence: Schema.Number.pipe(Schema.between(0.5, 1)),
  count: Schema.Int.pipe(Schema.greaterThan(3)),
  ok: Schema.Boolean,
  tags: Schema.Array(Schema.NonEmptyString),
  tone: Schema.Literal("formal", "casual"),
  nested: Schema.Struct({ when: Schema.optional(Schema.NullOr(Schema.String)), n: Schema.Number }),
  either: Schema.Union(Schema.Struct({ a: Schema.String }), Schema.Number)
})

describe("local/echo", () => {
  it.effect("plain text echoes the last user message, streamed in a few deltas", () =>
    Effect.gen(function*() {
      const c = yield* Echo.complete(request("hello there world"))
      expect(c.choices[0]!.message.content).toBe("hello there world")
      expect(c.usage!.total_tokens).toBeGreaterThan(0)
      const chunks = Chunk.toArray(yield* Stream.runCollect(Echo.stream(request("one two three four five six"))))
      const text = chunks.map((k) => k.choices[0]!.delta.content ?? "").join("")
      expect(text).toBe("one two three four five six")
      expect(chunks.length).toBeGreaterThan(3)
      expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe("stop")
    }))

  it("structured output conforms to the schema, deterministically", () => {
    const js = JSONSchema.make(Answer)
    const r = request("what is it?", {
      response_format: { type: "json_schema", json_schema: { name: "Answer", schema: js } }
    })
    const text = Echo.replyText(r)
    expect(text).toBe(Echo.replyText(r))
    const value = Schema.decodeUnknownSync(Answer)(JSON.parse(text))
    expect(value.tone).toBe("formal")
    expect(value.text).toContain("what is it?")
  })

  it("any schema built from a random Schema value gets a conforming example", () => {
    // A few shapes, generated: records of primitive fields with optional constraints.
    const field = fc.constantFrom<Schema.Schema.Any>(
      Schema.String,
      Schema.Number,
      Schema.Boolean,
      Schema.Int.pipe(Schema.between(2, 9)),
      Schema.Array(Schema.String),
      Schema.Literal("x", "y"),
      Schema.NullOr(Schema.String),
      Schema.String.pipe(Schema.maxLength(3))
    )
    fc.assert(
      fc.property(
        fc.dictionary(fc.stringMatching(/^[a-z]{1,6}$/), field, { minKeys: 1, maxKeys: 6 }),
        fc.string(),
        (fields, prompt) => {
          const S = Schema.Struct(fields as Record<string, Schema.Schema<unknown, unknown>>)
          const text = Echo.replyText(
            request(prompt, {
              response_format: { type: "json_schema", json_schema: { name: "X", schema: JSONSchema.make(S) } }
            })
          )
          expect(Schema.is(S)(JSON.parse(text))).toBe(true)
        }
      ),
      { numRuns: 200 }
    )
  })

  it.effect("through LlmRouter: generateText, generateObject and streamText carry the route", () =>
    Effect.gen(function*() {
      const router = yield* LlmRouter
      expect(router.models()).toContain("local/echo")
      const { model, route } = yield* router.resolve("local/echo", { workspace: "w", needs: ["json"] })
      expect(route).toBe("local/echo")
      const text = yield* model.generateText({ prompt: "say this" })
      expect(text.text).toBe("say this")
      const meta = text.content.find((p) => p.type === "response-metadata")
      expect(meta?.type === "response-metadata" ? Option.getOrUndefined(meta.modelId) : undefined).toBe("local/echo")
      const obj = yield* model.generateObject({ prompt: "an answer", schema: Answer })
      expect(obj.value.tone).toBe("formal")
      const parts = Chunk.toArray(yield* Stream.runCollect(model.streamText({ prompt: "stream me please now" })))
      expect(parts[0]!.type).toBe("response-metadata")
      expect(parts.flatMap((p) => (p.type === "text-delta" ? [p.delta] : [])).join("")).toBe("stream me please now")
      expect(parts.at(-1)!.type).toBe("finish")
      const viaTag = yield* LanguageModel.generateText({ prompt: "tagged" }).pipe(
        Effect.provideService(LanguageModel.LanguageModel, model)
      )
      expect(viaTag.text).toBe("tagged")
    }).pipe(Effect.provide(layerLocal)))

  it.effect("unknown models and missing capabilities are typed errors", () =>
    Effect.gen(function*() {
      const router = yield* LlmRouter
      const unknown = yield* Effect.flip(router.resolve("nope/x", { workspace: "w", needs: [] }))
      expect(unknown.reason).toBe("UnknownModel")
      expect(unknown.message).toContain("local/echo")
    }).pipe(Effect.provide(layerLocal)))
})
