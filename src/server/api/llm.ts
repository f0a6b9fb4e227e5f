/**
 * The OpenAI-compatible LLM gateway (SPEC §8): `POST /v1/chat/completions`.
 * The body is OpenAI's chat-completions request (`model` is a route,
 * `provider/model`); the answer is a `chat.completion`, or with
 * `stream: true` an SSE stream of `chat.completion.chunk`s ending with
 * `data: [DONE]`. `Cache-Control: no-cache` skips the response cache. Errors
 * use OpenAI's shape, `{ error: { message, type, code } }`.
 */
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { ChatRequest } from "../../llm/chatCompletions.js"
import { Authorization } from "./auth.js"

/** OpenAI's error body. */
export const OpenAiErrorBody = Schema.Struct({
  message: Schema.String,
  type: Schema.String,
  code: Schema.NullOr(Schema.String),
  param: Schema.optionalWith(Schema.NullOr(Schema.String), { exact: true })
})

const errorClass = <const Name extends string>(name: Name, status: number, description: string) =>
  Schema.Struct({ error: OpenAiErrorBody }).annotations({
    identifier: name,
    description,
    ...HttpApiSchema.annotations({ status })
  })

/** 400: a malformed request, or the model lacks a capability the request needs (`code: "capability_missing"`). */
export const LlmBadRequest = errorClass("LlmBadRequest", 400, "The request is malformed, or the model lacks a capability it needs.")
/** 404: no provider serves the model (`code: "model_not_found"`). */
export const LlmNotFound = errorClass("LlmNotFound", 404, "No provider serves the model.")
/** 429: rate limited upstream on every route, or the workspace's tokens-per-minute quota is spent (`Retry-After`). */
export const LlmTooManyRequests = errorClass("LlmTooManyRequests", 429, "Rate limited on every route, or the workspace's token quota is spent.")
/** 502: the upstream failed (5xx, a cut stream, a bad reply). */
export const LlmBadGateway = errorClass("LlmBadGateway", 502, "The upstream failed.")
/** 503: no route left (every fallback failed). */
export const LlmUnavailable = errorClass("LlmUnavailable", 503, "Every route failed.")
/** 504: the upstream did not answer in time. */
export const LlmTimeout = errorClass("LlmTimeout", 504, "The upstream did not answer in time.")

/** A `chat.completion` (other fields pass through). */
export const ChatCompletionView = Schema.Struct(
  {
    id: Schema.String,
    object: Schema.Literal("chat.completion"),
    created: Schema.Number,
    model: Schema.String,
    choices: Schema.Array(Schema.Unknown),
    usage: Schema.optionalWith(Schema.Unknown, { exact: true })
  },
  Schema.Record({ key: Schema.String, value: Schema.Unknown })
)

/** The gateway endpoint. */
export class LlmGroup extends HttpApiGroup.make("llm")
  .add(
    HttpApiEndpoint.post("chatCompletions", "/v1/chat/completions")
      .setPayload(ChatRequest)
      .setHeaders(Schema.Struct({ "cache-control": Schema.optionalWith(Schema.String, { exact: true }) }))
      .addSuccess(ChatCompletionView)
      .addError(LlmBadRequest)
      .addError(LlmNotFound)
      .addError(LlmTooManyRequests)
      .addError(LlmBadGateway)
      .addError(LlmUnavailable)
      .addError(LlmTimeout)
      .annotate(
        OpenApi.Description,
        "OpenAI-compatible chat completions. With `stream: true` the answer is `text/event-stream`: `data: {chat.completion.chunk}` lines, then `data: [DONE]`. The `model` field of answers is the route that answered; headers `x-trellis-route` and `x-trellis-cache` (hit|miss) say the same."
      )
  )
  .middleware(Authorization)
{}
