/**
 * Chat completions as an `@effect/ai` `LanguageModel`: provider options become a chat request, replies and streamed
 * chunks become response parts, and `LlmError`s travel inside `AiError`s (`llmErrorOf` finds them again). The HTTP
 * client itself is in `chatCompletions.ts`.
 */
import type { LanguageModel, Response } from "@effect/ai"
import * as AiError from "@effect/ai/AiError"
import * as LanguageModelApi from "@effect/ai/LanguageModel"
import * as Tool from "@effect/ai/Tool"
import { Effect, JSONSchema, Option, Stream } from "effect"
import type { Scope } from "effect"
import type { ChatChunk, ChatCompletion, ChatMessage, ChatRequest, ChatUsage } from "./chatCompletions.js"
import { LlmError } from "./service.js"

/** The text of a message content (a string or text parts). */
export const contentText = (content: unknown): string => {
  if (typeof content === "string") return content
  if (Array.isArray(content)) {
    return content.map((
      p
    ) => (typeof p === "object" && p !== null && (p as { type?: unknown }).type === "text"
      ? String((p as { text?: unknown }).text ?? "")
      : "")
    ).join("")
  }
  return ""
}

/** A chat request for `@effect/ai` provider options (`model` is the upstream model name). */
const requestOfOptions = (model: string, options: LanguageModel.ProviderOptions): ChatRequest => {
  const messages: Array<ChatMessage> = []
  for (const m of options.prompt.content) {
    switch (m.role) {
      case "system":
        messages.push({ role: "system", content: m.content })
        break
      case "user":
        messages.push({ role: "user", content: m.content.map((p) => (p.type === "text" ? p.text : "")).join("") })
        break
      case "assistant": {
        const content = m.content.map((p) => (p.type === "text" ? p.text : "")).join("")
        const calls = m.content.flatMap((p) =>
          p.type === "tool-call"
            ? [{ id: p.id, type: "function", function: { name: p.name, arguments: JSON.stringify(p.params ?? {}) } }]
            : []
        )
        messages.push({
          role: "assistant",
          content: content === "" && calls.length > 0 ? null : content,
          ...(calls.length > 0 ? { tool_calls: calls } : {})
        })
        break
      }
      case "tool":
        for (const r of m.content) {
          messages.push({
            role: "tool",
            tool_call_id: r.id,
            content: typeof r.result === "string" ? r.result : JSON.stringify(r.result ?? null)
          })
        }
        break
    }
  }
  if (messages.length === 0) messages.push({ role: "user", content: "" })
  const request: Record<string, unknown> = { model, messages }
  if (options.tools.length > 0) {
    request.tools = options.tools.map((t) => ({
      type: "function",
      function: {
        name: t.name,
        ...(t.description === undefined ? {} : { description: t.description }),
        parameters: Tool.getJsonSchema(t as Parameters<typeof Tool.getJsonSchema>[0])
      }
    }))
    const choice = options.toolChoice
    request.tool_choice = typeof choice === "string"
      ? choice
      : "tool" in choice
      ? { type: "function", function: { name: choice.tool } }
      : (choice.mode ?? "auto")
  }
  if (options.responseFormat.type === "json") {
    request.response_format = {
      type: "json_schema",
      json_schema: { name: options.responseFormat.objectName, schema: JSONSchema.make(options.responseFormat.schema) }
    }
  }
  return request as ChatRequest
}

/** `@effect/ai`'s finish reason of a chat `finish_reason`. */
const finishReasonOf = (reason: string | null | undefined): Response.FinishPartEncoded["reason"] => {
  switch (reason) {
    case "stop":
      return "stop"
    case "length":
      return "length"
    case "tool_calls":
    case "function_call":
      return "tool-calls"
    case "content_filter":
      return "content-filter"
    case null:
    case undefined:
      return "unknown"
    default:
      return "other"
  }
}

const usageOf = (usage: ChatUsage | null | undefined): Response.FinishPartEncoded["usage"] => ({
  inputTokens: usage?.prompt_tokens,
  outputTokens: usage?.completion_tokens,
  totalTokens: usage?.total_tokens
})

const parseArguments = (args: string): unknown => {
  try {
    return args.trim() === "" ? {} : JSON.parse(args)
  } catch {
    return args
  }
}

/**
 * The metadata of a `finish` part: `{ trellis: { cost } }`, the USD cost of
 * the answer (0 without pricing or for a cache hit). Llm steps charge it to
 * their meter (stepRunner.ts).
 */
const finishMetadata = (cost: number): Response.ProviderMetadata => ({
  trellis: { cost: Number.isFinite(cost) && cost > 0 ? cost : 0 }
})

/**
 * The response parts of a completion; `route` (`provider/model`) is the
 * `modelId` of the metadata part, `cost` (USD) goes into the finish part's
 * `metadata.trellis.cost`.
 */
const partsOfCompletion = (route: string, completion: ChatCompletion, cost = 0): Array<Response.PartEncoded> => {
  const parts: Array<Response.PartEncoded> = [
    {
      type: "response-metadata",
      id: completion.id,
      modelId: route,
      timestamp: new Date(completion.created * 1000).toISOString()
    }
  ]
  const choice = completion.choices[0]
  const content = choice?.message.content
  if (typeof content === "string" && content !== "") parts.push({ type: "text", text: content })
  for (const call of choice?.message.tool_calls ?? []) {
    parts.push({
      type: "tool-call",
      id: call.id,
      name: call.function.name,
      params: parseArguments(call.function.arguments)
    })
  }
  parts.push({
    type: "finish",
    reason: finishReasonOf(choice?.finish_reason),
    usage: usageOf(completion.usage),
    metadata: finishMetadata(cost)
  })
  return parts
}

/**
 * The stream parts of a chunk stream: `response-metadata` (modelId =
 * `route`) first, text deltas, tool calls (assembled from their deltas) and
 * `finish` with the usage at the end; its `metadata.trellis.cost` is
 * `price(usage)` (USD; 0 without `price` or usage).
 */
const partsOfChunks = <E>(
  route: string,
  chunks: Stream.Stream<ChatChunk, E>,
  price?: (usage: ChatUsage) => number
): Stream.Stream<Response.StreamPartEncoded, E> =>
  Stream.suspend(() => {
    let started = false
    let textOpen = false
    let finish: string | null = null
    let usage: ChatUsage | null | undefined
    const calls = new Map<number, { id: string; name: string; args: string }>()
    const body = Stream.mapConcat(chunks, (chunk): Array<Response.StreamPartEncoded> => {
      const out: Array<Response.StreamPartEncoded> = []
      if (!started) {
        started = true
        out.push({
          type: "response-metadata",
          id: chunk.id,
          modelId: route,
          timestamp: new Date(chunk.created * 1000).toISOString()
        })
      }
      if (chunk.usage !== undefined && chunk.usage !== null) usage = chunk.usage
      const choice = chunk.choices[0]
      if (choice === undefined) return out
      const delta = choice.delta.content
      if (typeof delta === "string" && delta !== "") {
        if (!textOpen) {
          textOpen = true
          out.push({ type: "text-start", id: "0" })
        }
        out.push({ type: "text-delta", id: "0", delta })
      }
      for (const d of choice.delta.tool_calls ?? []) {
        const known = calls.get(d.index)
        if (known === undefined) {
          const call = {
            id: d.id ?? `call_${d.index}`,
            name: d.function?.name ?? "",
            args: d.function?.arguments ?? ""
          }
          calls.set(d.index, call)
          out.push({ type: "tool-params-start", id: call.id, name: call.name })
          if (call.args !== "") out.push({ type: "tool-params-delta", id: call.id, delta: call.args })
        } else if (d.function?.arguments !== undefined && d.function.arguments !== "") {
          known.args += d.function.arguments
          out.push({ type: "tool-params-delta", id: known.id, delta: d.function.arguments })
        }
      }
      if (choice.finish_reason !== null && choice.finish_reason !== undefined) finish = choice.finish_reason
      return out
    })
    const tail = Stream.suspend(() => {
      const out: Array<Response.StreamPartEncoded> = []
      if (!started) out.push({ type: "response-metadata", modelId: route })
      if (textOpen) out.push({ type: "text-end", id: "0" })
      for (const call of calls.values()) {
        out.push({ type: "tool-params-end", id: call.id })
        out.push({ type: "tool-call", id: call.id, name: call.name, params: parseArguments(call.args) })
      }
      const cost = price === undefined || usage === undefined || usage === null ? 0 : price(usage)
      out.push({
        type: "finish",
        reason: finishReasonOf(finish),
        usage: usageOf(usage),
        metadata: finishMetadata(cost)
      })
      return Stream.fromIterable(out)
    })
    return Stream.concat(body, tail)
  })

/** An `AiError` carrying an `LlmError` (as its `cause`), for `LanguageModel` callers. */
const aiErrorOf = (method: string) => (error: LlmError): AiError.AiError =>
  new AiError.UnknownError({
    module: "LlmRouter",
    method,
    description: `${error.reason}: ${error.message}`,
    cause: error
  })

/** The `LlmError` inside an `AiError` raised by the router's models, if any. */
export const llmErrorOf = (error: unknown): Option.Option<LlmError> => {
  if (error instanceof LlmError) return Option.some(error)
  if (
    typeof error === "object" && error !== null && "cause" in error &&
    (error as { cause: unknown }).cause instanceof LlmError
  ) {
    return Option.some((error as { cause: LlmError }).cause)
  }
  return Option.none()
}

/** Where a router (or any chat backend) sends chat requests. */
export interface ChatBackend {
  /** A completion, the route (`provider/model`) that answered and its USD cost (0 when unknown or cached). */
  readonly complete: (
    request: ChatRequest
  ) => Effect.Effect<{ readonly route: string; readonly completion: ChatCompletion; readonly cost?: number }, LlmError>
  /**
   * An opened stream (its first chunk already arrived), the route that
   * answers it, and the USD price of its final usage (none: cost 0).
   */
  readonly stream: (
    request: ChatRequest
  ) => Effect.Effect<
    {
      readonly route: string
      readonly chunks: Stream.Stream<ChatChunk, LlmError>
      readonly price?: (usage: ChatUsage) => number
    },
    LlmError,
    Scope.Scope
  >
}

/**
 * Our own `@effect/ai` `LanguageModel` over the chat-completions wire format:
 * provider options become a chat request for `model`, replies become
 * response parts whose `response-metadata.modelId` is the answering route
 * and whose `finish` part carries `metadata: { trellis: { cost } }` (USD).
 * Failures are `AiError.UnknownError`s whose `cause` is the `LlmError`.
 */
export const chatLanguageModel = (model: string, backend: ChatBackend): Effect.Effect<LanguageModel.Service> =>
  LanguageModelApi.make({
    generateText: (options) =>
      backend.complete(requestOfOptions(model, options)).pipe(
        Effect.map(({ completion, cost, route }) => partsOfCompletion(route, completion, cost)),
        Effect.mapError(aiErrorOf("generateText"))
      ),
    streamText: (options) =>
      Stream.unwrapScoped(
        Effect.map(backend.stream({ ...requestOfOptions(model, options), stream: true }), ({ chunks, price, route }) =>
          partsOfChunks(route, chunks, price))
      ).pipe(Stream.mapError(aiErrorOf("streamText")))
  })
