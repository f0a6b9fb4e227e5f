/**
 * The `openai` and `anthropic` provider kinds: `@effect/ai-openai` (the Responses API) and `@effect/ai-anthropic`
 * through their `LanguageModel`, answering in the chat-completions wire format. `providers.ts` imports this module
 * only when a config names one of these kinds: the two packages (and the tokenizer tables under them) cost a
 * noticeable part of a second to load, which no other command should pay.
 */
import type { LanguageModel, Prompt } from "@effect/ai"
import { AnthropicClient, AnthropicLanguageModel } from "@effect/ai-anthropic"
import { OpenAiClient, OpenAiLanguageModel } from "@effect/ai-openai"
import type { HttpClient } from "@effect/platform"
import { Effect, Option, Schema, Stream } from "effect"
import type { Scope } from "effect"
import type { ChatChunk, ChatCompletion, ChatRequest } from "./chatCompletions.js"
import { contentText, llmErrorOf } from "./chatLanguageModel.js"
import type { ResolvedProvider } from "./config.js"
import type { ProviderBackend } from "./providers.js"
import { LlmError } from "./service.js"

/** The backend of an `openai` provider: one `OpenAiLanguageModel` per configured model. */
export const makeOpenAi = (
  provider: ResolvedProvider
): Effect.Effect<ProviderBackend, never, HttpClient.HttpClient | Scope.Scope> =>
  Effect.gen(function*() {
    const client = yield* OpenAiClient.make({ apiKey: provider.apiKey, apiUrl: provider.baseUrl })
    const models = new Map<string, LanguageModel.Service>()
    for (const m of provider.models) {
      models.set(
        m,
        yield* Effect.provideService(OpenAiLanguageModel.make({ model: m }), OpenAiClient.OpenAiClient, client)
      )
    }
    return fromLanguageModels(provider.name, models)
  })

/** The backend of an `anthropic` provider: one `AnthropicLanguageModel` per configured model. */
export const makeAnthropic = (
  provider: ResolvedProvider
): Effect.Effect<ProviderBackend, never, HttpClient.HttpClient | Scope.Scope> =>
  Effect.gen(function*() {
    const client = yield* AnthropicClient.make({ apiKey: provider.apiKey, apiUrl: provider.baseUrl })
    const models = new Map<string, LanguageModel.Service>()
    for (const m of provider.models) {
      models.set(
        m,
        yield* Effect.provideService(AnthropicLanguageModel.make({ model: m }), AnthropicClient.AnthropicClient, client)
      )
    }
    return fromLanguageModels(provider.name, models)
  })

/** A chat request's messages as an `@effect/ai` prompt (tool results become user text). */
const promptOf = (request: ChatRequest): ReadonlyArray<Prompt.MessageEncoded> =>
  request.messages.map((m): Prompt.MessageEncoded => {
    const text = contentText(m.content)
    switch (m.role) {
      case "system":
      case "developer":
        return { role: "system", content: text }
      case "assistant":
        return { role: "assistant", content: text }
      case "tool":
        return { role: "user", content: `tool result (${m.tool_call_id ?? "call"}): ${text}` }
      case "user":
        return { role: "user", content: text }
    }
  })

const upstreamError = (provider: string) => (error: unknown): LlmError => {
  const inner = llmErrorOf(error)
  if (inner._tag === "Some") return inner.value
  const e = error as { _tag?: string; response?: { status?: number }; message?: string }
  const status = e.response?.status
  if (status === 429) {
    return new LlmError({
      reason: "RateLimited",
      provider,
      status,
      message: `provider ${provider} answered 429 (rate limited)`
    })
  }
  if (status !== undefined && status < 500) {
    return new LlmError({
      reason: "BadRequest",
      provider,
      status,
      message: `provider ${provider} refused the request (${status})`
    })
  }
  return new LlmError({
    reason: "Upstream",
    provider,
    ...(status === undefined ? {} : { status }),
    message: `provider ${provider} failed (${e._tag ?? "error"})`
  })
}

const jsonSchemaOf = (request: ChatRequest): { readonly name: string; readonly schema: object } | undefined => {
  const format = request.response_format
  if (format === undefined || format.type === "text") return undefined
  const js = format.json_schema as { name?: unknown; schema?: unknown } | undefined
  const schema = typeof js?.schema === "object" && js.schema !== null ? js.schema : { type: "object" }
  return { name: typeof js?.name === "string" ? js.name : "output", schema }
}

/** A backend over `@effect/ai` language models, one per model name. */
const fromLanguageModels = (provider: string, models: ReadonlyMap<string, LanguageModel.Service>): ProviderBackend => {
  const modelOf = (request: ChatRequest) => {
    const m = models.get(request.model)
    return m === undefined
      ? Effect.fail(
        new LlmError({
          reason: "UnknownModel",
          provider,
          message: `provider ${provider} does not serve "${request.model}"`
        })
      )
      : Effect.succeed(m)
  }
  const created = () => Math.floor(Date.now() / 1000)
  return {
    complete: (request) =>
      Effect.gen(function*() {
        const lm = yield* modelOf(request)
        const prompt = promptOf(request)
        const json = jsonSchemaOf(request)
        const reply = json === undefined
          ? yield* Effect.map(
            lm.generateText({ prompt }),
            (r) => ({ text: r.text, finish: r.finishReason, usage: r.usage })
          )
          : yield* Effect.map(
            lm.generateObject({
              prompt,
              objectName: json.name,
              schema: Schema.Record({ key: Schema.String, value: Schema.Unknown }).annotations({
                jsonSchema: json.schema
              })
            }),
            (r) => ({ text: JSON.stringify(r.value), finish: r.finishReason, usage: r.usage })
          )
        const input = reply.usage.inputTokens ?? 0
        const output = reply.usage.outputTokens ?? 0
        const completion: ChatCompletion = {
          id: `chatcmpl-${provider}-${Date.now().toString(36)}`,
          object: "chat.completion",
          created: created(),
          model: request.model,
          choices: [{
            index: 0,
            message: { role: "assistant", content: reply.text },
            finish_reason: reply.finish === "tool-calls" ? "tool_calls" : reply.finish === "length" ? "length" : "stop"
          }],
          usage: { prompt_tokens: input, completion_tokens: output, total_tokens: input + output }
        }
        return completion
      }).pipe(Effect.mapError(upstreamError(provider))),
    stream: (request) =>
      Stream.unwrap(Effect.map(modelOf(request), (lm) => {
        const base = {
          id: `chatcmpl-${provider}-${Date.now().toString(36)}`,
          object: "chat.completion.chunk" as const,
          created: created(),
          model: request.model
        }
        return lm.streamText({ prompt: promptOf(request) }).pipe(
          Stream.mapError(upstreamError(provider)),
          Stream.mapEffect((part): Effect.Effect<Option.Option<ChatChunk>, LlmError> => {
            if (part.type === "error") {
              return Effect.fail(
                new LlmError({ reason: "Upstream", provider, message: `provider ${provider} sent an error mid-stream` })
              )
            }
            if (part.type === "text-delta") {
              return Effect.succeed(
                Option.some({ ...base, choices: [{ index: 0, delta: { content: part.delta }, finish_reason: null }] })
              )
            }
            if (part.type === "finish") {
              const input = part.usage.inputTokens ?? 0
              const output = part.usage.outputTokens ?? 0
              const reason = part.reason === "tool-calls" ? "tool_calls" : part.reason === "length" ? "length" : "stop"
              return Effect.succeed(Option.some({
                ...base,
                choices: [{ index: 0, delta: {}, finish_reason: reason }],
                usage: { prompt_tokens: input, completion_tokens: output, total_tokens: input + output }
              }))
            }
            return Effect.succeed(Option.none())
          }),
          Stream.filterMap((chunk) => chunk)
        )
      }))
  }
}
