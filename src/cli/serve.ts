/**
 * `trellis serve [--port 8080] [--host h] [--config f] [--tools m] [--drain-ms n] [--cluster]`:
 * the HTTP server (`src/server/`) on the store of the environment (PGlite
 * under `TRELLIS_HOME`, or PostgreSQL at `TRELLIS_DATABASE_URL`) with the
 * built-in tools plus `--tools`. Prints its URL and first steps, and (on
 * PGlite) advertises its address next to the store's lock, so the CLI's store
 * commands in the same home go through its API (`serverAddress.ts`); on
 * SIGTERM or SIGINT it removes the address, stops listening, drains runs up
 * to the deadline, leaves the rest resumable, and exits 0. With `--cluster` (or `cluster.enabled` in the
 * config file) the replica is also an `@effect/cluster` runner on the
 * PostgreSQL store (docs/cluster.md); PGlite refuses cluster mode. The command's work is in `serveRun.ts`, loaded
 * only when `serve` runs: the server, its OpenAPI/Swagger pages and
 * OpenTelemetry are a large part of the CLI, which the other commands do not
 * load.
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import type { ConfigError } from "effect"
import { Config, Effect, Option } from "effect"
import * as StoreSettings from "../store/settings.js"

/** Where the store is, as the banner says it (from the store's settings). */
export const storeName: Effect.Effect<string, ConfigError.ConfigError> = Effect.map(
  Config.all([StoreSettings.databaseUrl, StoreSettings.homeAsGiven]),
  ([url, home]) =>
    Option.isSome(url)
      ? "PostgreSQL (TRELLIS_DATABASE_URL)"
      : `PGlite in ${Option.getOrElse(home, () => "./.trellis")}`
)

/** `trellis serve`. */
export const serveCommand = Command.make(
  "serve",
  {
    port: Options.integer("port").pipe(
      Options.withDefault(8080),
      Options.withDescription("Port to listen on (0: any free port)")
    ),
    host: Options.text("host").pipe(
      Options.optional,
      Options.withDescription("Address to bind (default 127.0.0.1; other addresses need workspaces)")
    ),
    config: Options.text("config").pipe(
      Options.optional,
      Options.withDescription("The config file (else TRELLIS_CONFIG)")
    ),
    tools: Options.text("tools").pipe(
      Options.optional,
      Options.withDescription("A module exporting `tools` (TypeScript or JavaScript)")
    ),
    drainMs: Options.integer("drain-ms").pipe(
      Options.optional,
      Options.withDescription("How long a shutdown waits for runs (default: limits.drainMs, 10000)")
    ),
    cluster: Options.boolean("cluster").pipe(
      Options.withDescription(
        "Run as one replica of a cluster on TRELLIS_DATABASE_URL (PostgreSQL); runner port: --port + 10000"
      )
    )
  },
  (args) => Effect.flatMap(Effect.promise(() => import("./serveRun.js")), (m) => m.serve(args))
).pipe(
  Command.withDescription("Serve the HTTP API (runs, live events over SSE, replay) on the store of the environment")
)
