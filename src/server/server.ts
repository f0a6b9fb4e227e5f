/**
 * The Trellis HTTP server as one Layer: the API (`api/`) with its handlers
 * (`handlers/`), OpenAPI at `/openapi.json`, Swagger UI at `/docs`, the
 * body limit, the observability middleware, the `RunManager`, on a Node HTTP
 * server. Its release is the graceful shutdown: stop listening, drain runs
 * up to `limits.drainMs` (the rest stay resumable), close the connections.
 */
import { HttpApi, HttpApiBuilder, HttpApiSwagger, HttpServer } from "@effect/platform"
import type { HttpApp } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Context, Effect, Layer, Schema } from "effect"
import type { Scope } from "effect"
import { createServer } from "node:http"
import type { Server } from "node:http"
import * as LlmRouting from "../llm/router.js"
import type { LlmRouter } from "../llm/service.js"
import * as StepRunner from "../llm/stepRunner.js"
import type { DurableRequirements } from "../runtime/durable.js"
import * as DeploymentStoreSql from "../store/deployments.js"
import { Api } from "./api/index.js"
import { isOpen } from "./config.js"
import type { ServerConfig } from "./config.js"
import { ServerContext } from "./context.js"
import { EvalJobs, layerEvalStore } from "./evalJobs.js"
import { guard, setSecurityHeaders } from "./guard.js"
import { layerAuthorization, layerLlmAuthorization } from "./handlers/auth.js"
import { layerDeployments } from "./handlers/deployments.js"
import { layerEvals } from "./handlers/evals.js"
import { layerLlm } from "./handlers/llm.js"
import { layerPrograms } from "./handlers/programs.js"
import { layerRuns } from "./handlers/runs.js"
import { layerSchedules } from "./handlers/schedules.js"
import { layerSignals } from "./handlers/signals.js"
import { layerHealth, layerSystem } from "./handlers/system.js"
import { bodyLimit, errorBodies, lastResort } from "./http.js"
import type { RouteEntry } from "./http.js"
import { observeHttp, routesOf } from "./observability/middleware.js"
import { registerSecretEnv } from "./observability/redact.js"
import { RunPlacement } from "./placement.js"
import { RunManager } from "./runManager.js"
import * as Scheduling from "./schedules/launcher.js"
import { Scheduler } from "./schedules/scheduler.js"
import { layerViewerApi } from "./web/handlers.js"
import { layerRoutes as layerViewerRoutes } from "./web/routes.js"

/** The server could not start (bad options, port in use). */
export class ServeError extends Schema.TaggedError<ServeError>()("ServeError", { message: Schema.String }) {}

/** Options of the server. */
export interface ServerOptions {
  readonly config: ServerConfig
  /** @default 8080 (0: any free port) */
  readonly port?: number
  /** @default "127.0.0.1"; only loopback is allowed when no workspace is configured */
  readonly host?: string
  /** Resume the runs a previous process left `running`. @default true */
  readonly resumeOnStart?: boolean
  /**
   * Where submitted runs execute: `RunPlacement.layerLocal` (the default: this process) or `layerCluster` (the
   * owner of the run's shard; `--cluster`), with its own requirements already provided.
   */
  readonly placement?: Layer.Layer<RunPlacement, ServeError, RunManager>
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1"])

/** Every route the server answers (the API's endpoints, the docs, the viewer): for 404 vs 405 and `Allow`. */
export const routeTable = (): ReadonlyArray<RouteEntry> => {
  const routes: Array<RouteEntry> = [
    { method: "GET", path: "/" },
    { method: "GET", path: "/assets/:file" },
    { method: "GET", path: "/docs" },
    { method: "GET", path: "/openapi.json" }
  ]
  HttpApi.reflect(Api, {
    onGroup: () => {},
    onEndpoint: ({ endpoint }) => routes.push({ method: endpoint.method, path: endpoint.path })
  })
  return routes
}

/** The HTTP app of the API with its handlers (no server). */
export const layerApi = (config: ServerConfig) =>
  HttpApiBuilder.api(Api).pipe(
    Layer.provide([
      layerHealth,
      layerSystem,
      layerPrograms,
      layerRuns,
      layerSchedules,
      layerSignals,
      layerEvals.pipe(Layer.provide([EvalJobs.layer, layerEvalStore])),
      layerLlm,
      layerViewerApi,
      layerDeployments.pipe(Layer.provide([DeploymentStoreSql.layerAuto, layerEvalStore]))
    ]),
    Layer.provide([layerAuthorization(config), layerLlmAuthorization(config)]),
    // The LLM router of the config's providers (a missing API key variable fails the start, naming it).
    Layer.provide(layerLlmRouter(config))
  )

const llmRouters = new WeakMap<ServerConfig, Layer.Layer<LlmRouting.LlmGateway | LlmRouter, ServeError>>()

/**
 * The LLM router of a config, one layer value per config so that the gateway and the runs' llm steps share
 * one instance (layers are memoized by reference): one cache, one set of per-provider limits and quotas.
 */
export const layerLlmRouter = (config: ServerConfig): Layer.Layer<LlmRouting.LlmGateway | LlmRouter, ServeError> => {
  const known = llmRouters.get(config)
  if (known !== undefined) return known
  // Provider keys never reach a log line or a response, whatever their variable is called.
  registerSecretEnv((config.file.providers ?? []).flatMap((p) => (p.apiKeyEnv === undefined ? [] : [p.apiKeyEnv])))
  const made = LlmRouting.layer(config.file).pipe(Layer.mapError((e) => new ServeError({ message: e.message })))
  llmRouters.set(config, made)
  return made
}

/**
 * The whole server. Provides the `HttpServer` (its address) and the
 * `RunManager`; needs the durable run services (store, tools).
 */
export const layer = (
  options: ServerOptions
): Layer.Layer<HttpServer.HttpServer | RunManager | RunPlacement | ServerContext, ServeError, DurableRequirements> => {
  const host = options.host ?? "127.0.0.1"
  if (isOpen(options.config) && !LOOPBACK.has(host)) {
    return Layer.fail(
      new ServeError({
        message:
          `--host ${host}: with no workspace configured the server is open and binds to loopback only; configure API keys (--config or TRELLIS_API_KEYS) to listen on ${host}`
      })
    )
  }
  const ref: { server: Server | undefined } = { server: undefined }
  const node = NodeHttpServer.layer(() => {
    // requestTimeout: Node's own bound on receiving a request (408), behind the body read bound of `bodyLimit`.
    ref.server = createServer({
      keepAliveTimeout: 5000,
      requestTimeout: options.config.limits.bodyReadMs + 5000,
      connectionsCheckingInterval: 1000
    })
    ref.server.on("request", setSecurityHeaders)
    return ref.server
  }, { port: options.port ?? 8080, host }).pipe(
    Layer.mapError((e) =>
      new ServeError({
        message: `cannot listen on ${host}:${options.port ?? 8080}: ${
          String((e.cause as { code?: string } | undefined)?.code ?? e.message)
        }`
      })
    )
  )
  const observe = observeHttp({ routes: routesOf(Api) })
  const limit = bodyLimit(options.config.limits.maxBodyBytes, options.config.limits.bodyReadMs)
  const guarded = guard(options.config, () => ref.server?.address())
  // The middlewares keep the app's own error channel (respondable errors such as RouteNotFound), which the server renders.
  // The server's middlewares wrap an app whose failures were already answered: the body limit answers first, and
  // the error bodies (404/405/400, the last-resort 500) wrap the API's router, where failures are still failures.
  const bodies = errorBodies(routeTable())
  const serve = HttpApiBuilder.serve((app) => observe(guarded(limit(app))) as HttpApp.Default<never, never>).pipe(
    Layer.provide(HttpApiBuilder.middleware((app) => bodies(lastResort(app)) as HttpApp.Default<never, never>)),
    Layer.provide(HttpApiSwagger.layer({ path: "/docs" })),
    Layer.provide(layerViewerRoutes),
    Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" })),
    Layer.provide(layerApi(options.config)),
    Layer.provideMerge(node)
  )
  const lifecycle = Layer.scopedDiscard(
    Effect.gen(function*() {
      const manager = yield* RunManager
      const scheduler = yield* Scheduler
      yield* Effect.addFinalizer(() =>
        Effect.gen(function*() {
          const server = ref.server
          if (server?.listening === true) server.close()
          server?.closeIdleConnections()
          // No fire starts a run while the runs drain.
          yield* scheduler.stop
          yield* manager.drain
          server?.closeAllConnections()
        })
      )
    })
  )
  // llm steps of the server's runs: the step runner over a router of the config's providers, with its `steps` settings.
  const steps = StepRunner.layer(options.config.file.steps ?? {}).pipe(
    Layer.provide(layerLlmRouter(options.config))
  )
  const core = Layer.mergeAll(
    RunManager.layer(
      // Open mode has one workspace: nobody to share the slots with.
      isOpen(options.config)
        ? { ...options.config.limits, workspaceRuns: options.config.limits.concurrentRuns }
        : options.config.limits,
      {
        resumeOnStart: options.resumeOnStart ?? true,
        sharedPolicy: options.config.file.bandit?.shared === true,
        ...(options.config.file.bandit?.strategies === undefined
          ? {}
          : { strategies: options.config.file.bandit.strategies })
      }
    ).pipe(Layer.provide(steps)),
    Layer.succeed(ServerContext, { config: options.config, sse: { clients: 0 } })
  )
  // Schedules (issue 18): their store (on the store's SQL client) and the one scheduler fiber of this server.
  const scheduling = Scheduling.layer(options.config).pipe(Layer.provideMerge(Scheduling.layerStore))
  // Released after the drain (the lifecycle's finalizer): a cluster runner keeps its shards while runs finish.
  const placed = Layer.provideMerge(options.placement ?? RunPlacement.layerLocal, core)
  return lifecycle.pipe(Layer.provideMerge(serve), Layer.provideMerge(scheduling), Layer.provideMerge(placed))
}

/** The base URL (`http://host:port`) of a built server. */
export const urlOf = (context: Context.Context<HttpServer.HttpServer>): Effect.Effect<string> =>
  Effect.sync(() => {
    const address = Context.get(context, HttpServer.HttpServer).address
    if (address._tag !== "TcpAddress") return "http://localhost"
    const host = address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname
    return `http://${host}:${address.port}`
  })

/** Starts the server in the current scope; its base URL and services. */
export const start = (
  options: ServerOptions
): Effect.Effect<
  {
    readonly url: string
    readonly context: Context.Context<HttpServer.HttpServer | RunManager | RunPlacement | ServerContext>
  },
  ServeError,
  DurableRequirements | Scope.Scope
> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const context = yield* Layer.buildWithScope(layer(options), scope)
    return { url: yield* urlOf(context), context }
  })
