/**
 * The server's own HTTP middleware: the request-body limit
 * (`limits.maxBodyBytes`) — a `Content-Length` above it is refused at once
 * with 413, and a body without one (chunked) is read under the limit before
 * routing (the read is cached, so the API reads it again for free) — and a
 * last line that turns any unexpected failure into a bare 500 without a
 * stack trace or message.
 */
import { HttpIncomingMessage, HttpMiddleware, HttpServerRequest, HttpServerRespondable, HttpServerResponse } from "@effect/platform"
import { Effect, Either, Option } from "effect"

const BODY_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"])

const tooLarge = (maxBytes: number) =>
  HttpServerResponse.unsafeJson(
    { _tag: "PayloadTooLarge", message: `the request body exceeds ${maxBytes} bytes` },
    { status: 413, headers: { connection: "close" } }
  )

/** Deepest JSON nesting a request body may have (deeper values would overflow recursive decoders). */
export const MAX_DEPTH = 256

/** The deepest nesting of `[`/`{` in a JSON text (outside strings); stops counting past `MAX_DEPTH`. */
export const nestingDepth = (text: string): number => {
  let depth = 0
  let max = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92) i++ // backslash: skip the escaped character
      else if (c === 34) inString = false
    } else if (c === 34) inString = true
    else if (c === 91 || c === 123) {
      depth++
      if (depth > max) max = depth
      if (max > MAX_DEPTH) return max
    } else if (c === 93 || c === 125) depth--
  }
  return max
}

/** True when a body read failed on the size limit. */
const isSizeError = (error: unknown): boolean => {
  const cause = typeof error === "object" && error !== null && "cause" in error ? (error as { cause: unknown }).cause : undefined
  return cause instanceof Error && cause.message === "maxBytes exceeded"
}

const bodyTimeout = (ms: number) =>
  HttpServerResponse.unsafeJson(
    { _tag: "RequestTimeout", message: `the request body was not received within ${ms} ms` },
    { status: 408, headers: { connection: "close" } }
  )

/** Refuses request bodies larger than `maxBytes` with 413, and bodies not received within `readMs` with 408. */
export const bodyLimit = (maxBytes: number, readMs = 10_000): HttpMiddleware.HttpMiddleware =>
  HttpMiddleware.make((app) =>
    Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const length = request.headers["content-length"]
      if (length !== undefined && /^\d+$/.test(length.trim()) && Number(length.trim()) > maxBytes) return tooLarge(maxBytes)
      if (!BODY_METHODS.has(request.method)) return yield* app
      const type = (request.headers["content-type"] ?? "").toLowerCase()
      // The API reads JSON (and text) bodies only; other types (multipart, bytes) are refused before any read.
      if (type !== "" && !/^(application\/([a-z0-9.+-]*\+)?json|text\/[a-z0-9.+-]+)\s*(;|$)/.test(type)) {
        return HttpServerResponse.unsafeJson(
          { _tag: "UnsupportedMediaType", message: "request bodies are JSON (Content-Type: application/json)" },
          { status: 415 }
        )
      }
      // JSON and text bodies are read as text by the API too: this read is cached and shared.
      const timed = yield* HttpIncomingMessage.withMaxBodySize(request.text, Option.some(maxBytes)).pipe(
        Effect.either,
        // Do not wait for the read to notice its interruption: answer at the deadline.
        Effect.disconnect,
        Effect.timeoutTo({ duration: readMs, onTimeout: () => undefined, onSuccess: (r) => r })
      )
      if (timed === undefined) return bodyTimeout(readMs)
      const read = timed
      if (Either.isLeft(read) && isSizeError(read.left)) return tooLarge(maxBytes)
      if (Either.isRight(read) && nestingDepth(read.right) > MAX_DEPTH) {
        return HttpServerResponse.unsafeJson(
          { _tag: "BadRequest", message: `the request body is nested deeper than ${MAX_DEPTH} levels` },
          { status: 400 }
        )
      }
      return yield* app
    })
  )

/**
 * A defect (a bug, not bad input) becomes a bare 500: no message, no stack
 * trace in the response. Responses and respondable errors the platform
 * raises as defects (its own 404s) pass through.
 */
export const lastResort: HttpMiddleware.HttpMiddleware = HttpMiddleware.make((app) =>
  app.pipe(
    Effect.catchAllDefect((defect) => {
      if (HttpServerResponse.isServerResponse(defect)) return Effect.succeed(defect)
      if (HttpServerRespondable.isRespondable(defect)) return Effect.die(defect)
      return Effect.zipRight(
        Effect.logError(`request failed unexpectedly: ${defect instanceof Error ? defect.name : typeof defect}`),
        Effect.succeed(HttpServerResponse.unsafeJson({ _tag: "InternalError", message: "internal error" }, { status: 500 }))
      )
    })
  )
)
