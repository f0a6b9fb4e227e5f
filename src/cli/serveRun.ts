/** What `trellis serve` does (see `serve.ts`, which loads this module only when the command runs). */
import type { ConfigError } from "effect"
import { Effect, Either, Layer, Option } from "effect"
import * as Cluster from "../cluster/index.js"
import * as Runtime from "../runtime/runtime.js"
import { isOpen, loadConfig } from "../server/config.js"
import type { ServerConfig } from "../server/config.js"
import { VERSION } from "../server/context.js"
import * as GcJob from "../server/gcJob.js"
import { layerJson } from "../server/observability/logging.js"
import { observeEvents } from "../server/observability/metrics.js"
import { layerTracing } from "../server/observability/tracing.js"
import * as Placement from "../server/placement.js"
import * as Server from "../server/server.js"
import { backendFromEnv } from "../store/index.js"
import * as StoreSettings from "../store/settings.js"
import { HttpAllowlist } from "../tools/index.js"
import type { AnyTool } from "../tools/index.js"
import { CliError } from "./io.js"
import { storeName } from "./serve.js"
import { advertise } from "./serverAddress.js"
import { loadRegistry, servicesLayer, storeLayer } from "./services.js"

/** The options of `trellis serve`, parsed. */
export interface ServeArgs {
  readonly port: number
  readonly host: Option.Option<string>
  readonly config: Option.Option<string>
  readonly tools: Option.Option<string>
  readonly drainMs: Option.Option<number>
  readonly cluster: boolean
}

const settingError = (e: ConfigError.ConfigError) => new CliError({ message: `invalid setting: ${String(e)}` })

/** The lines printed at start: where it listens, how it is secured, what to try (`store`: see `storeName`). */
const banner = (url: string, config: ServerConfig, store: string): string => {
  const auth = isOpen(config) ? "" : ` -H "Authorization: Bearer $TRELLIS_KEY"`
  const lines = [
    `trellis serve: listening on ${url} (store: ${store})`,
    isOpen(config)
      ? `no workspace configured: one open "default" workspace, no API key needed, loopback only`
      : `workspaces: ${config.workspaces.map((w) => w.name).join(", ")} (Authorization: Bearer <key>)`,
    `first steps:`,
    `  curl -s${auth} -X POST ${url}/v1/runs -H 'content-type: application/json' \\`,
    `    -d '{"source": "program main(name: string) { g = tool std.echo(value: name) return g }", "inputs": {"name": "Ada"}}'`,
    `  curl -N${auth} ${url}/v1/runs/<runId>/events     # live events (SSE)`,
    `  curl -s${auth} ${url}/v1/runs/<runId>            # status and output`,
    `  API docs: ${url}/docs   OpenAPI: ${url}/openapi.json`,
    `  trace viewer: ${url}/${isOpen(config) ? "" : "   (enter an API key in its key field)"}`
  ]
  return lines.join("\n") + "\n"
}

/**
 * The cluster placement of runs when cluster mode is on (undefined when off): PostgreSQL only, runner settings from
 * the config's `cluster` block and the HTTP port. In cluster mode runs left `running` come back through the
 * cluster's stored messages, not through a scan at start.
 */
const clusterPlacement = (enabled: boolean, cfg: ServerConfig, port: number) =>
  Effect.gen(function*() {
    if (!enabled) return undefined
    const url = yield* Effect.mapError(StoreSettings.databaseUrl, settingError)
    if (Option.isNone(url)) {
      return yield* new CliError({
        message:
          "--cluster needs PostgreSQL: set TRELLIS_DATABASE_URL (PGlite admits one process, so replicas cannot share it)"
      })
    }
    const settings = Cluster.resolve(cfg.file.cluster ?? {}, port)
    if (Either.isLeft(settings)) return yield* new CliError({ message: settings.left })
    return Placement.layerCluster(settings.right).pipe(
      Layer.provide(storeLayer),
      Layer.mapError((e) => new Server.ServeError({ message: e.message }))
    )
  })

/** Starts the server and serves until SIGTERM or SIGINT (`extraTools`: tools given as values, as the tests do). */
export const serve = (
  { cluster, config, drainMs, host, port, tools }: ServeArgs,
  extraTools: ReadonlyArray<AnyTool> = []
) =>
  Effect.gen(function*() {
    const cfg = yield* loadConfig(
      Option.getOrUndefined(config),
      Option.isSome(drainMs) ? { drainMs: Math.max(0, drainMs.value) } : {}
    ).pipe(Effect.mapError((e) => new CliError({ message: e.message })))
    const { registry } = yield* loadRegistry(Option.getOrUndefined(tools), extraTools, { localFiles: false })
    const clustered = cluster || cfg.file.cluster?.enabled === true
    const placement = yield* clusterPlacement(clustered, cfg, port)
    // Cluster mode: tool rates and workspace quotas on the shared store (Redis) every replica takes from.
    const shared = clustered
      ? yield* Effect.mapError(Cluster.sharedLimits(cfg.file.cluster ?? {}), (e) =>
        typeof e === "string" ? new CliError({ message: e }) : settingError(e))
      : undefined
    const server = Server.layer({
      config: cfg,
      port,
      host: Option.getOrElse(host, () =>
        "127.0.0.1"),
      ...(placement === undefined ? {} : { placement, resumeOnStart: false })
    }).pipe(
      Layer.mapError((e) => new CliError({ message: e.message }))
    )
    yield* Effect.scoped(
      Effect.gen(function*() {
        // Run events feed the run/node/error metrics on their way to the store; spans go out over OTLP when configured.
        // http.get's allowlist comes from TRELLIS_HTTP_ALLOW (comma-separated hosts), as for `trellis run`.
        const services = Layer.provideMerge(
          observeEvents,
          Layer.mergeAll(
            servicesLayer(registry, { memory: false, config: false }),
            HttpAllowlist.layerFromEnv,
            shared === undefined ? Layer.empty : Layer.provideMerge(Runtime.ToolLimiter.layerShared, shared)
          )
        )
        const tracing = Layer.mapError(layerTracing(), settingError)
        // The store's collector (expired cache entries, retention) runs beside the server, on the same store.
        const collector = Layer.provide(GcJob.layer(cfg.workspaces), storeLayer)
        const ctx = yield* Layer.build(
          Layer.merge(Layer.provide(server, services), collector).pipe(Layer.provide(tracing))
        )
        const started = yield* Server.urlOf(ctx)
        const store = yield* Effect.mapError(storeName, settingError)
        // The CLI beside the server: its store commands in this home go through the API (removed at shutdown).
        const backend = yield* Effect.mapError(backendFromEnv, settingError)
        if (backend.kind === "pglite") {
          yield* advertise(backend.dataDir, {
            pid: process.pid,
            url: started,
            auth: isOpen(cfg) ? "none" : "key",
            workspaces: cfg.workspaces.map((w) => w.name),
            version: VERSION
          })
        }
        process.stdout.write(banner(started, cfg, store))
        return yield* Effect.never
      })
    )
  }).pipe(Effect.provide(layerJson()))
