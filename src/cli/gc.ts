/** `trellis gc [--dry-run] [--workspace w] [--json]`: collect the store's garbage (see `store/gc.ts`). */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { Effect, Option } from "effect"
import { loadConfig } from "../server/config.js"
import { retentionOf } from "../server/gcJob.js"
import { collect, describeReport } from "../store/gc.js"
import { CliError, out } from "./io.js"
import { storeLayer } from "./services.js"

/** `trellis gc`. */
export const gcCommand = Command.make(
  "gc",
  {
    dryRun: Options.boolean("dry-run").pipe(Options.withDescription("Report what would be removed; remove nothing")),
    workspace: Options.text("workspace").pipe(
      Options.optional,
      Options.withDescription("Only this workspace's data (default: every workspace)")
    ),
    json: Options.boolean("json").pipe(Options.withDescription("Print the report as JSON")),
    config: Options.text("config").pipe(
      Options.optional,
      Options.withDescription(
        "The config file whose workspaces' `retention` selects runs to compact (else TRELLIS_CONFIG)"
      )
    )
  },
  ({ config, dryRun, json, workspace }) =>
    Effect.gen(function*() {
      const cfg = yield* loadConfig(Option.getOrUndefined(config)).pipe(
        Effect.mapError((e) => new CliError({ message: e.message }))
      )
      const report = yield* collect({
        dryRun,
        retention: retentionOf(cfg.workspaces),
        ...(Option.isSome(workspace) ? { workspace: workspace.value } : {})
      }).pipe(Effect.mapError((e) => new CliError({ message: `gc: ${e.message}` })))
      yield* out(json ? JSON.stringify(report) : describeReport(report))
    }).pipe(Effect.provide(storeLayer))
).pipe(Command.withDescription("Remove expired cache entries (and, by retention, old runs) from the store"))
