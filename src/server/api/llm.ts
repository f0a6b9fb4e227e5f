/**
 * The OpenAI-compatible LLM gateway (SPEC §8): `POST /v1/chat/completions`.
 * The body is OpenAI's chat-completions request (`model` is a route,
 * `provider/model`); the answer is a `chat.completion`, or with
 * `stream: true` an SSE stream of `chat.completion.chunk`s ending with
 * `data: [DONE]`. `Cache-Control: no-cache` skips the response cache. Errors
 * use OpenAI's shape, `{ error: { message, type, param, code } }` — 401
 * included (`LlmAuthorization`), and so do 404/405/413/415 on every `/v1/…`
 * path outside the Trellis API (`../http.ts`). `GET /v1/models` lists the
 * served routes.
 */
import {
  HttpApiEndpoint,
  HttpApiGroup,
  HttpApiMiddleware,
  HttpApiSchema,
  HttpApiSecurity,
  OpenApi
} from "@effect/platform"
import { Schema } from "effect"
import { ChatRequest } from "../../llm/chatCompletions.js"
import { CurrentWorkspace } from "./auth.js"

/** OpenAI's error body. */
export const OpenAiErrorBody = Schema.Struct({
  message: Schema.String,
  type: Schema.String,
  code: Schema.NullOr(Schema.String),
  param: Schema.optionalWith(Schema.NullOr(Schema.String), { exact: true })
})

/** OpenAI's error body with its `type` fixed (so the error schemas differ and each encodes with its own status). */
const typedBody = (type: string) =>
  Schema.Struct({
    message: Schema.String,
    type: Schema.Literal(type),
    code: Schema.NullOr(Schema.String),
    param: Schema.optionalWith(Schema.NullOr(Schema.String), { exact: true })
  })

const errorClass = <const Name extends string>(name: Name, status: number, description: string) =>
  Schema.Struct({
    error: typedBody(
      status === 401
        ? "authentication_error"
        : status === 429
        ? "rate_limit_error"
        : status >= 500
        ? "server_error"
        : "invalid_request_error"
    )
  }).annotations({
    identifier: name,
    description,
    ...HttpApiSchema.annotations({ status })
  })

/** 401: no valid API key (`code: "invalid_api_key"`). */
export const LlmUnauthorized = errorClass("LlmUnauthorized", 401, "No valid API key.")
/** 413: the request body is larger than `limits.maxBodyBytes` (`code: "payload_too_large"`). */
export const LlmPayloadTooLarge = errorClass("LlmPayloadTooLarge", 413, "The request body is too large.")
/** 415: the request body is not JSON (`code: "unsupported_media_type"`). */
export const LlmUnsupportedMediaType = errorClass("LlmUnsupportedMediaType", 415, "The request body is not JSON.")

/** Bearer-key authentication of the gateway: like `Authorization`, but a refusal is OpenAI-shaped. */
export class LlmAuthorization extends HttpApiMiddleware.Tag<LlmAuthorization>()("trellis/LlmAuthorization", {
  failure: LlmUnauthorized,
  provides: CurrentWorkspace,
  security: { bearer: HttpApiSecurity.bearer }
}) {}

/** 400: a malformed request, or the model lacks a capability the request needs (`code: "capability_missing"`). */
export const LlmBadRequest = errorClass(
  "LlmBadRequest",
  400,
  "The request is malformed, or the model lacks a capability it needs."
)
/** 404: no provider serves the model (`code: "model_not_found"`). */
export const LlmNotFound = errorClass("LlmNotFound", 404, "No provider serves the model.")
/** 429: rate limited upstream on every route, or the workspace's tokens-per-minute quota is spent (`Retry-After`). */
export const LlmTooManyRequests = errorClass(
  "LlmTooManyRequests",
  429,
  "Rate limited on every route, or the workspace's token quota is spent."
)
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

/** A model as `GET /v1/models` lists it: `id` is the route (`provider/model`). */
export const ModelView = Schema.Struct({
  id: Schema.String,
  object: Schema.Literal("model"),
  created: Schema.Number,
  owned_by: Schema.String
})

/** `GET /v1/models`. */
export const ModelList = Schema.Struct({ object: Schema.Literal("list"), data: Schema.Array(ModelView) })

/** OpenAPI: the 200 of chat completions is JSON, or with `stream: true` an event stream. */
const withEventStream = (operation: Record<string, unknown>): Record<string, unknown> => {
  const responses = operation["responses"] as Record<string, { content?: Record<string, unknown> }> | undefined
  const ok = responses?.["200"]
  if (ok === undefined) return operation
  const stream = {
    schema: { type: "string", description: "`data: {chat.completion.chunk}` lines, then `data: [DONE]`" }
  }
  return {
    ...operation,
    responses: { ...responses, "200": { ...ok, content: { ...ok.content, "text/event-stream": stream } } }
  }
}

/** The gateway endpoints. */
export class LlmGroup extends HttpApiGroup.make("llm")
  .add(
    HttpApiEndpoint.post("chatCompletions", "/v1/chat/completions")
      .setPayload(ChatRequest)
      .setHeaders(Schema.Struct({ "cache-control": Schema.optionalWith(Schema.String, { exact: true }) }))
      .addSuccess(ChatCompletionView)
      .addError(LlmBadRequest)
      .addError(LlmNotFound)
      .addError(LlmUnsupportedMediaType)
      .addError(LlmTooManyRequests)
      .addError(LlmBadGateway)
      .addError(LlmUnavailable)
      .addError(LlmTimeout)
      .annotate(
        OpenApi.Description,
        "OpenAI-compatible chat completions. With `stream: true` the answer is `text/event-stream`: `data: {chat.completion.chunk}` lines, then `data: [DONE]` (a usage chunk with empty `choices` before it only with `stream_options.include_usage: true`). `n` other than 1 is refused (400, `param: \"n\"`). The `model` field of answers is the route that answered; headers `x-trellis-route` and `x-trellis-cache` (hit|miss) say the same."
      )
      .annotate(OpenApi.Summary, "Chat completions (OpenAI-compatible)")
      .annotate(OpenApi.Transform, withEventStream)
  )
  .add(
    HttpApiEndpoint.get("models", "/v1/models")
      .addSuccess(ModelList)
      .annotate(OpenApi.Summary, "List the served models (OpenAI-compatible)")
      .annotate(OpenApi.Description, "The routes (`provider/model`) the gateway serves, as OpenAI's model list.")
  )
  .addError(LlmPayloadTooLarge)
  .middleware(LlmAuthorization)
{}
