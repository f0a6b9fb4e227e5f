/**
 * The server's own HTTP middleware: the request-body limit
 * (`limits.maxBodyBytes`) — a `Content-Length` above it is refused at once
 * with 413, and a body without one (chunked) is read under the limit before
 * routing (the read is cached, so the API reads it again for free) — the
 * media-type rule (bodies are JSON, else 415), `errorBodies` (unknown routes
 * 404, known paths with another method 405 + `Allow`, unreadable JSON 400,
 * all with a JSON body), and a last line that turns any unexpected failure
 * into a 500 without a stack trace. Every error body here has the API's
 * shape `{ _tag, message }`, or OpenAI's `{ error: { message, type, param,
 * code } }` on the gateway's paths (`isGatewayPath`).
 */
import {
  HttpIncomingMessage,
  HttpMiddleware,
  HttpServerError,
  HttpServerRequest,
  HttpServerRespondable,
  HttpServerResponse
} from "@effect/platform"
import { Cause, Effect, Either, Option } from "effect"

const BODY_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"])

/** First path segments under `/v1/` that belong to the Trellis API; every other `/v1/…` path is the gateway's. */
const API_SEGMENTS = new Set(["runs", "programs", "tools", "schema", "schedules"])

/** Whether `path` is the OpenAI-compatible gateway's (`/v1/…` outside the Trellis API): its errors use OpenAI's shape. */
export const isGatewayPath = (path: string): boolean => {
  const m = /^\/v1\/([^/?#]*)/.exec(path)
  return m !== null && !API_SEGMENTS.has(m[1]!)
}

/** OpenAI's error `type` for a status. */
const openAiType = (status: number): string =>
  status === 401
    ? "authentication_error"
    : status === 429
    ? "rate_limit_error"
    : status >= 500
    ? "server_error"
    : "invalid_request_error"

/** The `code` OpenAI-style clients see for one of the API's error tags. */
const OPENAI_CODES: { readonly [tag: string]: string } = {
  NotFound: "unknown_url",
  MethodNotAllowed: "method_not_allowed",
  BadRequest: "invalid_json",
  PayloadTooLarge: "payload_too_large",
  UnsupportedMediaType: "unsupported_media_type",
  InternalError: "internal_error",
  Unauthorized: "invalid_api_key",
  Forbidden: "forbidden",
  RequestTimeout: "request_timeout"
}

/** The path of a request (no query). */
export const pathOf = (request: HttpServerRequest.HttpServerRequest): string =>
  Option.match(HttpServerRequest.toURL(request), {
    onNone: () => request.url.split("?")[0]!,
    onSome: (u) => u.pathname
  })

/**
 * An error response made outside the handlers: `{ _tag, message }` (the API's error shape), or on a
 * gateway path OpenAI's `{ error: { message, type, param: null, code } }`.
 */
export const errorResponse = (
  path: string,
  status: number,
  tag: string,
  message: string,
  headers: Readonly<Record<string, string>> = {}
): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.unsafeJson(
    isGatewayPath(path)
      ? { error: { message, type: openAiType(status), param: null, code: OPENAI_CODES[tag] ?? null } }
      : { _tag: tag, message },
    { status, headers }
  )

const tooLarge = (path: string, maxBytes: number) =>
  errorResponse(path, 413, "PayloadTooLarge", `the request body exceeds ${maxBytes} bytes`, { connection: "close" })

/**
 * The media-type rule of request bodies: JSON (`application/json` or `+json`) or no `Content-Type`
 * (then JSON is assumed, and an empty body is allowed). Anything else is refused with this message (415).
 */
export const mediaTypeRefusal = (contentType: string | undefined): string | undefined => {
  const type = (contentType ?? "").trim().toLowerCase()
  if (type === "" || /^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/.test(type)) return undefined
  return `request bodies are JSON: send Content-Type: application/json (got ${JSON.stringify(type.slice(0, 100))})`
}

/** Deepest JSON nesting a request body may have (deeper values would overflow recursive decoders). */
const MAX_DEPTH = 256

/** The deepest nesting of `[`/`{` in a JSON text (outside strings); stops counting past `MAX_DEPTH`. */
const nestingDepth = (text: string): number => {
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
  const cause = typeof error === "object" && error !== null && "cause" in error
    ? (error as { cause: unknown }).cause
    : undefined
  return cause instanceof Error && cause.message === "maxBytes exceeded"
}

const bodyTimeout = (path: string, ms: number) =>
  errorResponse(path, 408, "RequestTimeout", `the request body was not received within ${ms} ms`, {
    connection: "close"
  })

/** Refuses request bodies larger than `maxBytes` with 413, and bodies not received within `readMs` with 408. */
export const bodyLimit = (maxBytes: number, readMs = 10_000): HttpMiddleware.HttpMiddleware =>
  HttpMiddleware.make((app) =>
    Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const length = request.headers["content-length"]
      const path = pathOf(request)
      if (length !== undefined && /^\d+$/.test(length.trim()) && Number(length.trim()) > maxBytes) {
        return tooLarge(path, maxBytes)
      }
      if (!BODY_METHODS.has(request.method)) {
        return yield* app
      }
      // The API reads JSON bodies only; other types (text, forms, multipart, bytes) are refused before any read.
      const refused = mediaTypeRefusal(request.headers["content-type"])
      if (refused !== undefined) return errorResponse(path, 415, "UnsupportedMediaType", refused)
      // JSON bodies are read as text by the API too: this read is cached and shared.
      const timed = yield* HttpIncomingMessage.withMaxBodySize(request.text, Option.some(maxBytes)).pipe(
        Effect.either,
        // Do not wait for the read to notice its interruption: answer at the deadline.
        Effect.disconnect,
        Effect.timeoutTo({ duration: readMs, onTimeout: () => undefined, onSuccess: (r) => r })
      )
      if (timed === undefined) return bodyTimeout(path, readMs)
      const read = timed
      if (Either.isLeft(read) && isSizeError(read.left)) return tooLarge(path, maxBytes)
      if (Either.isRight(read) && nestingDepth(read.right) > MAX_DEPTH) {
        return errorResponse(path, 400, "BadRequest", `the request body is nested deeper than ${MAX_DEPTH} levels`)
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
        Effect.map(HttpServerRequest.HttpServerRequest, (request) =>
          errorResponse(pathOf(request), 500, "InternalError", "internal error"))
      )
    })
  )
)

/** A route of the server: its method and path pattern (`/v1/runs/:id`; `*` matches the rest). */
export interface RouteEntry {
  readonly method: string
  readonly path: string
}

/** Whether `path` matches the pattern. */
const matches = (pattern: string, path: string): boolean => {
  const want = pattern.split("/").filter((s) => s.length > 0)
  const got = path.split("/").filter((s) => s.length > 0)
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!
    if (w === "*") return true
    const g = got[i]
    if (g === undefined || (!w.startsWith(":") && w !== g)) return false
  }
  return got.length === want.length
}

/** The methods the routes answer at `path` (`HEAD` with `GET`), sorted; empty when no route matches it. */
export const allowedMethods = (routes: ReadonlyArray<RouteEntry>, path: string): ReadonlyArray<string> => {
  const methods = new Set<string>()
  for (const r of routes) {
    if (!matches(r.path, path)) continue
    methods.add(r.method.toUpperCase())
    if (r.method.toUpperCase() === "GET") methods.add("HEAD")
  }
  return [...methods].sort()
}

/** The platform error the request failed with (as a failure or a defect), if any. */
const serverErrorOf = (cause: Cause.Cause<unknown>): Option.Option<HttpServerError.HttpServerError> =>
  Cause.find(cause, (c) => {
    const value = Cause.isFailType(c) ? c.error : Cause.isDieType(c) ? c.defect : undefined
    return HttpServerError.isServerError(value) ? Option.some(value) : Option.none()
  })

/**
 * Gives a JSON body to the answers the platform leaves empty: a path no
 * route knows is a 404 `NotFound`; a known path asked with another method is
 * a 405 `MethodNotAllowed` with `Allow`; a body that is not valid JSON is a
 * 400 `BadRequest` (the platform's own answer is an empty 400, or a 500 in
 * the metrics). Other failures pass through.
 */
export const errorBodies = (routes: ReadonlyArray<RouteEntry>): HttpMiddleware.HttpMiddleware =>
  HttpMiddleware.make((app) =>
    Effect.catchAllCause(app, (cause) =>
      Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
        const found = serverErrorOf(cause)
        if (Option.isNone(found)) return Effect.failCause(cause)
        const error = found.value
        const path = pathOf(request)
        if (error._tag === "RouteNotFound") {
          const allow = allowedMethods(routes, path)
          return Effect.succeed(
            allow.length === 0
              ? errorResponse(path, 404, "NotFound", `no route ${request.method} ${path.slice(0, 200)}`)
              : errorResponse(
                path,
                405,
                "MethodNotAllowed",
                `${path.slice(0, 200)} answers ${allow.join(", ")}, not ${request.method}`,
                {
                  allow: allow.join(", ")
                }
              )
          )
        }
        if (error._tag === "RequestError" && error.reason === "Decode") {
          return Effect.succeed(errorResponse(path, 400, "BadRequest", "the request body is not valid JSON"))
        }
        return Effect.failCause(cause)
      }))
  )
