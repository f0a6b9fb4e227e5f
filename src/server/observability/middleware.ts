/**
 * The HTTP middleware of observability, for the whole server app. Per
 * request it takes the `x-request-id` header (or makes an id), echoes it
 * on every response (error responses included), annotates the logs with
 * `requestId` and the server span (opened by @effect/platform's own
 * tracer middleware around every app, with a parent from an incoming
 * `traceparent`) with `http.request_id` and `http.route`, and records the
 * request latency histogram with the matched route pattern (never the raw
 * path), the status and the workspace. Handlers tell it the workspace with
 * `setWorkspace` once the caller is authenticated.
 */
import { HttpApi, HttpApp, HttpServerError, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import type { HttpApiGroup } from "@effect/platform"
import { Clock, Effect, FiberRef, Option } from "effect"
import { globalValue } from "effect/GlobalValue"
import { randomUUID } from "node:crypto"
import { recordRequest } from "./metrics.js"

/** What the middleware knows about the request being served (shared with child fibers). */
export interface RequestInfo {
  readonly requestId: string
  workspace: string | undefined
  route: string | undefined
}

/** The request the current fiber serves, when it runs under `observeHttp`. */
export const currentRequest: FiberRef.FiberRef<RequestInfo | undefined> = globalValue(
  "trellis/observability/currentRequest",
  () => FiberRef.unsafeMake<RequestInfo | undefined>(undefined)
)

/** Options of `observeHttp`. */
export interface ObserveHttpOptions {
  /**
   * Route patterns of the app (`/v1/runs/:id`, `*` matches the rest): the
   * request's route label is the most specific pattern that matches its
   * path, `unmatched` when none does. Use `routesOf(api)` for an HttpApi.
   * @default [] (every route is "unmatched" unless a handler calls `setRoute`)
   */
  readonly routes?: ReadonlyArray<string>
  /** The request id header (read, and echoed on the response). @default "x-request-id" */
  readonly requestIdHeader?: string
}

/** The label of requests whose path matches no route. */
export const UNMATCHED = "unmatched"

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])

/** A request id taken from a client: 1–128 characters of `[A-Za-z0-9._:-]`, else refused. */
const validRequestId = (value: string | undefined): string | undefined =>
  value !== undefined && /^[A-Za-z0-9._:-]{1,128}$/.test(value) ? value : undefined

/** Compiles route patterns into a matcher from a path to its most specific pattern. */
export const routeMatcher = (patterns: ReadonlyArray<string>): (path: string) => string | undefined => {
  const compiled = patterns.map((pattern) => {
    const segments = pattern.split("/").filter((s) => s.length > 0)
    const literals = segments.filter((s) => !s.startsWith(":") && s !== "*").length
    return { pattern, segments, literals }
  })
  // Most literal segments first, then longest: "/v1/runs/export" wins over "/v1/runs/:id".
  compiled.sort((a, b) => b.literals - a.literals || b.segments.length - a.segments.length)
  return (path) => {
    const parts = path.split("?")[0]!.split("/").filter((s) => s.length > 0)
    for (const { pattern, segments } of compiled) {
      let ok = true
      let i = 0
      for (; i < segments.length; i++) {
        const seg = segments[i]!
        if (seg === "*") break
        const part = parts[i]
        if (part === undefined || (!seg.startsWith(":") && seg !== part)) {
          ok = false
          break
        }
      }
      if (ok && (i < segments.length || parts.length === segments.length)) return pattern
    }
    return undefined
  }
}

/** The path pattern of every endpoint of an HttpApi (for `observeHttp`'s `routes`). */
export const routesOf = <Id extends string, Groups extends HttpApiGroup.HttpApiGroup.Any, E, R>(
  api: HttpApi.HttpApi<Id, Groups, E, R>
): ReadonlyArray<string> => {
  const routes = new Set<string>()
  HttpApi.reflect(api, { onGroup: () => {}, onEndpoint: ({ endpoint }) => routes.add(endpoint.path) })
  return [...routes]
}

/** Tells the observability middleware (and the server span) which workspace the request belongs to. */
export const setWorkspace = (workspace: string): Effect.Effect<void> =>
  Effect.flatMap(FiberRef.get(currentRequest), (info) => {
    if (info !== undefined) info.workspace = workspace
    return Effect.annotateCurrentSpan("trellis.workspace", workspace)
  })

/** Sets the route label of the current request explicitly (when the pattern list cannot tell). */
export const setRoute = (route: string): Effect.Effect<void> =>
  Effect.flatMap(FiberRef.get(currentRequest), (info) =>
    Effect.sync(() => {
      if (info !== undefined) info.route = route
    }))

/** The id of the request the current fiber serves. */
export const currentRequestId: Effect.Effect<Option.Option<string>> = Effect.map(
  FiberRef.get(currentRequest),
  (info) => Option.fromNullable(info?.requestId)
)

/**
 * The observability middleware; apply it to the whole app, e.g.
 * `HttpApiBuilder.serve(observeHttp({ routes: routesOf(Api) }))`.
 */
export const observeHttp = (options: ObserveHttpOptions = {}) => {
  const match = routeMatcher(options.routes ?? [])
  const header = (options.requestIdHeader ?? "x-request-id").toLowerCase()
  return <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R | HttpServerRequest.HttpServerRequest> =>
    Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const requestId = validRequestId(request.headers[header]) ?? randomUUID()
      const path = Option.match(HttpServerRequest.toURL(request), {
        onNone: () => request.url,
        onSome: (u) => u.pathname
      })
      const info: RequestInfo = { requestId, workspace: undefined, route: match(path) }
      const started = yield* Clock.currentTimeNanos
      yield* HttpApp.appendPreResponseHandler((_req, response) =>
        Effect.succeed(HttpServerResponse.setHeader(response, header, requestId))
      )
      yield* Effect.annotateCurrentSpan({
        "http.request_id": requestId,
        ...(info.route === undefined ? {} : { "http.route": info.route })
      })
      const exit = yield* app.pipe(
        Effect.annotateLogs("requestId", requestId),
        Effect.locally(currentRequest, info),
        Effect.exit
      )
      const ended = yield* Clock.currentTimeNanos
      // A failure is counted with the status the server answers it with (a respondable error's own, not 500).
      const status = exit._tag === "Success"
        ? exit.value.status
        : (yield* HttpServerError.causeResponse(exit.cause))[0].status
      recordRequest({
        method: METHODS.has(request.method) ? request.method : "OTHER",
        route: info.route ?? UNMATCHED,
        status,
        workspace: info.workspace,
        seconds: Number(ended - started) / 1e9
      })
      return yield* exit
    })
}
