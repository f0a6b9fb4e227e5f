/** `trellis gc [--dry-run] [--workspace w] [--json]`: collect the store's garbage (see `store/gc.ts`). */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { Effect, Option } from "effect"
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
    json: Options.boolean("json").pipe(Options.withDescription("Print the report as JSON"))
  },
  ({ dryRun, json, workspace }) =>
    Effect.gen(function*() {
      const report = yield* collect({
        dryRun,
        ...(Option.isSome(workspace) ? { workspace: workspace.value } : {})
      }).pipe(Effect.mapError((e) => new CliError({ message: `gc: ${e.message}` })))
      yield* out(json ? JSON.stringify(report) : describeReport(report))
    }).pipe(Effect.provide(storeLayer))
).pipe(Command.withDescription("Remove expired cache entries (and, by retention, old runs) from the store"))
