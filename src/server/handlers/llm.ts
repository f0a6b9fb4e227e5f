/**
 * The gateway handler (`POST /v1/chat/completions`), raw so that errors keep
 * OpenAI's shape and a stream is proxied chunk by chunk: the body is decoded
 * here (400 naming the field), the workspace's tokens-per-minute quota is
 * checked (429 + `Retry-After`), then the router answers (routing,
 * capability gating, fallbacks, retries, cache, usage). A stream is opened
 * before the response starts — so a failure before the first chunk is still
 * a proper status — then each chunk is written as soon as it arrives, with a
 * span event per chunk on the `llm.gateway.stream` span; a failure after the
 * first chunk is an SSE `data: {"error": …}` line. A client disconnect
 * interrupts the response stream, which closes the upstream request.
 */
import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { Cause, Clock, Effect, Either, Exit, Option, ParseResult, Schema, Scope, Stream } from "effect"
import type { ChatChunk, ChatRequest as ChatRequestType } from "../../llm/chatCompletions.js"
import { ChatRequest } from "../../llm/chatCompletions.js"
import { LlmGateway } from "../../llm/router.js"
import type { LlmError } from "../../llm/service.js"
import { CurrentWorkspace } from "../api/auth.js"
import { Api } from "../api/index.js"

/** The status, type and code of each `LlmError` reason. */
const STATUS: Record<LlmError["reason"], readonly [number, string, string]> = {
  UnknownModel: [404, "invalid_request_error", "model_not_found"],
  CapabilityMissing: [400, "invalid_request_error", "capability_missing"],
  BadRequest: [400, "invalid_request_error", "bad_request"],
  RateLimited: [429, "rate_limit_error", "rate_limited"],
  QuotaExceeded: [429, "rate_limit_error", "quota_exceeded"],
  Timeout: [504, "server_error", "upstream_timeout"],
  Upstream: [502, "server_error", "upstream_error"],
  CircuitOpen: [503, "server_error", "circuit_open"],
  Unavailable: [503, "server_error", "unavailable"]
}

/** OpenAI's error body of an `LlmError`. */
const errorBody = (e: LlmError) => {
  const [, type, code] = STATUS[e.reason]
  return { error: { message: e.message, type, code } }
}

/** The HTTP response of an `LlmError` (`Retry-After` on 429). */
const errorResponse = (e: LlmError): HttpServerResponse.HttpServerResponse => {
  const [status] = STATUS[e.reason]
  const retry = e.retryAfterMs === undefined ? 1 : Math.max(1, Math.ceil(e.retryAfterMs / 1000))
  return HttpServerResponse.unsafeJson(errorBody(e), {
    status,
    headers: status === 429 || status === 503 ? { "retry-after": String(retry) } : {}
  })
}

const badRequest = (message: string, param: string | null = null, code = "bad_request") =>
  HttpServerResponse.unsafeJson({ error: { message, type: "invalid_request_error", param, code } }, { status: 400 })

/** The request's `stream_options` object ({} when absent or not an object). */
const streamOptionsOf = (request: ChatRequestType): Record<string, unknown> => {
  const o = request["stream_options"]
  return typeof o === "object" && o !== null && !Array.isArray(o) ? (o as Record<string, unknown>) : {}
}

/** Whether the client asked for the usage chunk (`stream_options.include_usage: true`). */
const includeUsageOf = (request: ChatRequestType): boolean => streamOptionsOf(request)["include_usage"] === true

/**
 * The chunks as OpenAI sends them: without `include_usage` no chunk carries `usage` (a usage-only chunk is
 * dropped); with it every chunk has `usage: null` and one last chunk with empty `choices` carries the usage.
 */
export const shapeUsage = (
  chunks: Stream.Stream<ChatChunk, LlmError>,
  includeUsage: boolean
): Stream.Stream<ChatChunk, LlmError> => {
  let usage: ChatChunk["usage"] = undefined
  let last: ChatChunk | undefined
  const body = chunks.pipe(
    Stream.filterMap((chunk) => {
      if (chunk.usage !== undefined && chunk.usage !== null) usage = chunk.usage
      last = chunk
      if (chunk.choices.length === 0) return Option.none()
      const { usage: _, ...rest } = chunk
      return Option.some(includeUsage ? { ...rest, usage: null } : rest)
    })
  )
  if (!includeUsage) return body
  return Stream.concat(
    body,
    Stream.suspend(() =>
      last === undefined || usage === undefined || usage === null
        ? Stream.empty
        : Stream.make({
          id: last.id,
          object: last.object,
          created: last.created,
          model: last.model,
          choices: [],
          usage
        })
    )
  )
}

const formatIssues = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    .slice(0, 5)
    .map((i) =>
      `${
        i.path.length === 0
          ? "body"
          : i.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("").replace(/^\./, "")
      }: ${i.message}`
    )
    .join("; ")

const decode = Schema.decodeUnknownEither(ChatRequest, { errors: "all" })
const encoder = new TextEncoder()
const sse = (value: unknown) => encoder.encode(`data: ${JSON.stringify(value)}\n\n`)
const DONE = encoder.encode("data: [DONE]\n\n")

/** The handlers of the `llm` group: chat completions (raw), the model list. */
export const layerLlm = HttpApiBuilder.group(
  Api,
  "llm",
  (handlers) =>
    handlers.handleRaw("chatCompletions", ({ request }) =>
      Effect.gen(function*() {
        const ws = yield* CurrentWorkspace
        const gateway = yield* LlmGateway
        const raw = yield* Effect.either(request.json)
        if (Either.isLeft(raw)) return badRequest("the body is not JSON")
        const decoded = decode(raw.right)
        if (Either.isLeft(decoded)) return badRequest(`invalid request: ${formatIssues(decoded.left)}`)
        const n = decoded.right["n"]
        if (n !== undefined && n !== null && n !== 1) {
          return badRequest("n: only one choice per request is served (n = 1)", "n", "unsupported_value")
        }
        const includeUsage = includeUsageOf(decoded.right)
        // Upstream is always asked for usage (quotas and metrics need it); the client gets it only if it asked.
        const body: ChatRequestType = decoded.right.stream === true
          ? { ...decoded.right, stream_options: { ...streamOptionsOf(decoded.right), include_usage: true } }
          : decoded.right
        const quota = yield* Effect.either(gateway.checkQuota(ws.name, ws.quotas.tokensPerMinute))
        if (Either.isLeft(quota)) return errorResponse(quota.left)
        const cacheControl = request.headers["cache-control"] ?? ""
        const context = { workspace: ws.name, needs: [], noCache: /no-cache|no-store/i.test(cacheControl) }
        if (body.stream !== true) {
          const result = yield* Effect.either(gateway.complete(body.model, body, context))
          if (Either.isLeft(result)) return errorResponse(result.left)
          const { completion, route, cached } = result.right
          return HttpServerResponse.unsafeJson({ ...completion, model: route }, {
            headers: { "x-trellis-route": route, "x-trellis-cache": cached ? "hit" : "miss" }
          })
        }
        // The stream lives in its own scope, handed over to the response body; the request's scope (closed
        // once the response was written, or the client left) closes it too, even if the body never ran.
        const scope = yield* Scope.make()
        yield* Effect.addFinalizer(() => Scope.close(scope, Exit.void))
        const opened = yield* Effect.either(gateway.stream(body.model, body, context).pipe(Scope.extend(scope))).pipe(
          Effect.onInterrupt(() => Scope.close(scope, Exit.void))
        )
        if (Either.isLeft(opened)) {
          yield* Scope.close(scope, Exit.void)
          return errorResponse(opened.left)
        }
        const { route, cached } = opened.right
        const chunks = shapeUsage(opened.right.chunks, includeUsage)
        const span = yield* Effect.makeSpan("llm.gateway.stream", {
          attributes: { "llm.model": body.model, "llm.route": route, "llm.cached": cached, "llm.workspace": ws.name }
        })
        let index = 0
        let ok = true
        const bytes = chunks.pipe(
          Stream.mapEffect((chunk: ChatChunk) =>
            Effect.map(Clock.currentTimeNanos, (now) => {
              const data = sse({ ...chunk, model: route })
              span.event("llm.chunk", now, { index: index++, bytes: data.length })
              return data
            })
          ),
          Stream.concat(Stream.sync(() => DONE)),
          Stream.catchAll((e: LlmError) => {
            ok = false
            return Stream.succeed(sse(errorBody(e)))
          }),
          Stream.ensuringWith((exit) =>
            Effect.flatMap(Clock.currentTimeNanos, (now) =>
              Effect.sync(() => {
                span.attribute("llm.chunks", index)
                span.end(
                  now,
                  Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)
                    ? Exit.void
                    : ok
                    ? Exit.void
                    : Exit.fail("stream failed")
                )
              })).pipe(Effect.zipRight(Scope.close(scope, Exit.void)))
          )
        )
        return HttpServerResponse.stream(bytes, {
          contentType: "text/event-stream",
          headers: { "cache-control": "no-cache", "x-trellis-route": route, "x-trellis-cache": cached ? "hit" : "miss" }
        })
      })).handle("models", () =>
        Effect.map(LlmGateway, (gateway) => ({
          object: "list" as const,
          data: gateway.models().map((id) => ({
            id,
            object: "model" as const,
            created: 0,
            owned_by: id.split("/")[0] ?? id
          }))
        })))
)
