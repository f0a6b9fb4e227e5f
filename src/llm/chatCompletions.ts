/**
 * The OpenAI chat-completions API (what vLLM, Ollama, llama.cpp, LiteLLM and
 * Azure OpenAI speak): its wire shapes, a client over `@effect/platform`'s
 * `HttpClient` (`complete`, and `stream` parsing the SSE `data:` lines up to
 * `[DONE]`), the mapping of HTTP failures to `LlmError` (429 with
 * `Retry-After` in seconds or as an HTTP date), and the conversions between
 * `@effect/ai`'s provider options / response parts and this wire format that
 * `chatLanguageModel` uses to be an `@effect/ai` `LanguageModel`.
 * Interrupting a stream aborts the upstream HTTP request.
 */
import type { HttpClientResponse } from "@effect/platform"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { Effect, Redacted, Schema, Stream } from "effect"
import { createParser } from "eventsource-parser"
import { LlmError } from "./service.js"

// ---------------------------------------------------------------------------
// Wire shapes

/** A message of a chat request (other fields pass through). */
export const ChatMessage = Schema.Struct(
  {
    role: Schema.Literal("system", "developer", "user", "assistant", "tool"),
    content: Schema.optionalWith(Schema.NullOr(Schema.Union(Schema.String, Schema.Array(Schema.Unknown))), {
      exact: true
    }),
    tool_calls: Schema.optionalWith(Schema.Array(Schema.Unknown), { exact: true }),
    tool_call_id: Schema.optionalWith(Schema.String, { exact: true })
  },
  Schema.Record({ key: Schema.String, value: Schema.Unknown })
)
export type ChatMessage = typeof ChatMessage.Type

/** A function tool of a chat request. */
export const ChatTool = Schema.Struct(
  {
    type: Schema.Literal("function"),
    function: Schema.Struct(
      {
        name: Schema.String,
        description: Schema.optionalWith(Schema.String, { exact: true }),
        parameters: Schema.optionalWith(Schema.Unknown, { exact: true })
      },
      Schema.Record({ key: Schema.String, value: Schema.Unknown })
    )
  }
)

/** `POST /v1/chat/completions` body; parameters not named here (temperature, …) pass through untouched. */
export const ChatRequest = Schema.Struct(
  {
    model: Schema.String.pipe(Schema.minLength(1)),
    messages: Schema.NonEmptyArray(ChatMessage),
    stream: Schema.optionalWith(Schema.Boolean, { exact: true }),
    tools: Schema.optionalWith(Schema.Array(ChatTool), { exact: true }),
    response_format: Schema.optionalWith(
      Schema.Struct(
        { type: Schema.Literal("text", "json_object", "json_schema") },
        Schema.Record({ key: Schema.String, value: Schema.Unknown })
      ),
      { exact: true }
    )
  },
  Schema.Record({ key: Schema.String, value: Schema.Unknown })
)
export type ChatRequest = typeof ChatRequest.Type

/** A tool call in a reply. */
export interface ChatToolCall {
  readonly id: string
  readonly type: "function"
  readonly function: { readonly name: string; readonly arguments: string }
}

/** Token usage as chat completions report it. */
export interface ChatUsage {
  readonly prompt_tokens: number
  readonly completion_tokens: number
  readonly total_tokens: number
}

/** A non-streamed reply. */
export interface ChatCompletion {
  readonly id: string
  readonly object: "chat.completion"
  readonly created: number
  readonly model: string
  readonly choices: ReadonlyArray<{
    readonly index: number
    readonly message: {
      readonly role: "assistant"
      readonly content: string | null
      readonly tool_calls?: ReadonlyArray<ChatToolCall>
    }
    readonly finish_reason: string | null
  }>
  readonly usage?: ChatUsage | undefined
}

/** A tool-call delta of a streamed chunk. */
export interface ChatToolCallDelta {
  readonly index: number
  readonly id?: string
  readonly type?: "function"
  readonly function?: { readonly name?: string; readonly arguments?: string }
}

/** One streamed chunk (`data: {…}`). */
export interface ChatChunk {
  readonly id: string
  readonly object: "chat.completion.chunk"
  readonly created: number
  readonly model: string
  readonly choices: ReadonlyArray<{
    readonly index: number
    readonly delta: {
      readonly role?: "assistant"
      readonly content?: string | null
      readonly tool_calls?: ReadonlyArray<ChatToolCallDelta>
    }
    readonly finish_reason: string | null
  }>
  readonly usage?: ChatUsage | null | undefined
}

/** The capabilities a chat request needs. */
export const needsOf = (request: ChatRequest): Array<"stream" | "tools" | "json"> => {
  const needs: Array<"stream" | "tools" | "json"> = []
  if (request.stream === true) needs.push("stream")
  if (request.tools !== undefined && request.tools.length > 0) needs.push("tools")
  const format = request.response_format?.type
  if (format === "json_schema" || format === "json_object") needs.push("json")
  return needs
}

// ---------------------------------------------------------------------------
// HTTP

/** Milliseconds of a `Retry-After` header: delta seconds or an HTTP date (relative to `now`). */
export const parseRetryAfter = (value: string | undefined, now: number): number | undefined => {
  if (value === undefined) return undefined
  const text = value.trim()
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000)
  const date = Date.parse(text)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/** The `LlmError` of an upstream HTTP status. */
const errorOfStatus = (provider: string, status: number, body: string, retryAfterMs: number | undefined): LlmError => {
  const detail = upstreamMessage(body)
  if (status === 429) {
    return new LlmError({
      reason: "RateLimited",
      provider,
      status,
      message: `provider ${provider} answered 429 (rate limited)${detail}`,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs })
    })
  }
  if (status >= 500) {
    return new LlmError({
      reason: "Upstream",
      provider,
      status,
      message: `provider ${provider} answered ${status}${detail}`
    })
  }
  // The gateway's own configuration is wrong (key, base URL, model name): not the client's fault, and another route may work.
  if (status === 401 || status === 403 || status === 404) {
    return new LlmError({
      reason: "Upstream",
      provider,
      status,
      message: `provider ${provider} answered ${status} (check its apiKeyEnv, baseUrl and models)${detail}`
    })
  }
  return new LlmError({
    reason: "BadRequest",
    provider,
    status,
    message: `provider ${provider} refused the request (${status})${detail}`
  })
}

/** The upstream's own error message, shortened (never the request, which may hold secrets in headers). */
const upstreamMessage = (body: string): string => {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } | string }
    const message = typeof parsed.error === "string" ? parsed.error : parsed.error?.message
    if (typeof message === "string") return `: ${message.slice(0, 300)}`
  } catch {
    // not JSON
  }
  return body.trim() === "" ? "" : `: ${body.trim().slice(0, 200)}`
}

/** Options of a chat-completions client. */
export interface ChatClientOptions {
  /** The provider's name (errors and metrics). */
  readonly provider: string
  /** The API base, e.g. `http://127.0.0.1:8000/v1` (`/chat/completions` is appended). */
  readonly baseUrl: string
  readonly apiKey?: Redacted.Redacted<string> | undefined
}

/** A chat-completions client. */
export interface ChatClient {
  /** A non-streamed completion. */
  readonly complete: (request: ChatRequest) => Effect.Effect<ChatCompletion, LlmError>
  /** The chunks of a streamed completion; ends at `data: [DONE]`; a stream cut before it fails with `Upstream`. */
  readonly stream: (request: ChatRequest) => Stream.Stream<ChatChunk, LlmError>
}

const transportError = (provider: string, cause: unknown): LlmError =>
  new LlmError({
    reason: "Upstream",
    provider,
    message: `provider ${provider} could not be reached or broke the connection (${describe(cause)})`
  })

const describe = (cause: unknown): string => {
  if (typeof cause === "object" && cause !== null) {
    const c = cause as { _tag?: unknown; reason?: unknown; message?: unknown }
    if (typeof c._tag === "string") return `${c._tag}${typeof c.reason === "string" ? ` ${c.reason}` : ""}`
    if (typeof c.message === "string") return c.message.slice(0, 200)
  }
  return "error"
}

const failOnStatus =
  (provider: string, scrub: (text: string) => string) => (response: HttpClientResponse.HttpClientResponse) =>
    response.status >= 200 && response.status < 300
      ? Effect.succeed(response)
      : Effect.flatMap(
        Effect.orElseSucceed(response.text, () => ""),
        (body) =>
          Effect.fail(
            errorOfStatus(
              provider,
              response.status,
              scrub(body),
              parseRetryAfter(response.headers["retry-after"], Date.now())
            )
          )
      )

/**
 * Parses the SSE byte stream of a chat completion into chunks, up to `[DONE]` (frames parsed by eventsource-parser);
 * `scrub` removes secrets (the provider's key) from an error the upstream sends mid-stream.
 */
export const parseSse =
  (provider: string, scrub: (text: string) => string = (text) => text) =>
  <E>(bytes: Stream.Stream<Uint8Array, E>): Stream.Stream<ChatChunk, LlmError | E> =>
    Stream.suspend(() => {
      let done = false
      let finished = false
      let pending: Array<string> = []
      let tooLarge = false
      // Comments, `event:`, `id:` and `retry:` fields are not chat data; only `data:` payloads are read.
      const parser = createParser({
        onEvent: (message) => pending.push(message.data),
        onError: (error) => {
          if (error.type === "max-buffer-size-exceeded") tooLarge = true
        }
      })
      const payloads = (text: string): Effect.Effect<ReadonlyArray<string>, LlmError> => {
        parser.feed(text)
        if (tooLarge) {
          return Effect.fail(
            new LlmError({
              reason: "Upstream",
              provider,
              message: `provider ${provider} sent an event too large to buffer`
            })
          )
        }
        const out = pending
        pending = []
        return Effect.succeed(out)
      }
      return bytes.pipe(
        Stream.decodeText(),
        Stream.mapConcatEffect(payloads),
        Stream.mapConcatEffect((payload): Effect.Effect<ReadonlyArray<ChatChunk>, LlmError> => {
          if (done) return Effect.succeed([])
          if (payload.trim() === "[DONE]") {
            done = true
            return Effect.succeed([])
          }
          try {
            const chunk = JSON.parse(payload) as ChatChunk & { error?: { message?: string } }
            if (chunk.error !== undefined) {
              return Effect.fail(
                new LlmError({
                  reason: "Upstream",
                  provider,
                  message: `provider ${provider} sent an error mid-stream: ${
                    scrub(String(chunk.error.message ?? "error")).slice(0, 300)
                  }`
                })
              )
            }
            if (
              Array.isArray(chunk.choices) &&
              chunk.choices.some((c) => c.finish_reason !== null && c.finish_reason !== undefined)
            ) finished = true
            return Effect.succeed([chunk])
          } catch {
            return Effect.fail(
              new LlmError({
                reason: "Upstream",
                provider,
                message: `provider ${provider} sent a chunk that is not JSON`
              })
            )
          }
        }),
        Stream.takeUntilEffect(() => Effect.succeed(done)),
        Stream.concat(Stream.suspend(() =>
          done || finished
            ? Stream.empty
            : Stream.fail(
              new LlmError({
                reason: "Upstream",
                provider,
                message: `provider ${provider} cut the stream before it finished`
              })
            )
        ))
      )
    })

/** A chat-completions client over the `HttpClient` in context. */
export const makeChatClient = (options: ChatClientOptions): Effect.Effect<ChatClient, never, HttpClient.HttpClient> =>
  Effect.map(HttpClient.HttpClient, (http) => {
    const url = `${options.baseUrl}/chat/completions`
    const post = (body: unknown) => {
      let request = HttpClientRequest.post(url).pipe(HttpClientRequest.bodyUnsafeJson(body))
      if (options.apiKey !== undefined) request = HttpClientRequest.bearerToken(request, Redacted.value(options.apiKey))
      return request
    }
    const provider = options.provider
    // An upstream may quote the key back in its error; it never reaches our errors.
    const key = options.apiKey === undefined ? "" : Redacted.value(options.apiKey)
    const scrub = (text: string) => (key.length < 4 ? text : text.split(key).join("[REDACTED]"))
    return {
      complete: (request) =>
        http.execute(post({ ...request, stream: false })).pipe(
          Effect.mapError((e) => transportError(provider, e)),
          Effect.flatMap(failOnStatus(provider, scrub)),
          Effect.flatMap((response) =>
            Effect.mapError(response.json, () =>
              new LlmError({
                reason: "Upstream",
                provider,
                message: `provider ${provider} answered with a body that is not JSON`
              }))
          ),
          Effect.flatMap((json) => {
            const c = json as ChatCompletion
            return typeof c === "object" && c !== null && Array.isArray(c.choices)
              ? Effect.succeed(c)
              : Effect.fail(
                new LlmError({ reason: "Upstream", provider, message: `provider ${provider} answered without choices` })
              )
          })
        ),
      stream: (request) =>
        Stream.unwrap(
          http.execute(post({ stream_options: { include_usage: true }, ...request, stream: true })).pipe(
            Effect.mapError((e) => transportError(provider, e)),
            Effect.flatMap(failOnStatus(provider, scrub)),
            Effect.map((response) =>
              parseSse(provider, scrub)(Stream.mapError(response.stream, (e) => transportError(provider, e)))
            )
          )
        )
    }
  })

// ---------------------------------------------------------------------------
// @effect/ai <-> chat completions
