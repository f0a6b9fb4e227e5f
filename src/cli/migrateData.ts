/**
 * `trellis migrate-data <name> [--dry-run] [--batch n] [--json]`: runs a data migration of stored runs
 * (`store/dataMigrations.ts`) on the environment's store — online, in batches, resumable (run it again after
 * it was stopped), verified at the end. `--dry-run` reports the runs, events and bytes it would change.
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { Effect } from "effect"
import { find, migrateData } from "../store/dataMigrations.js"
import type { DataMigration, MigrationReport } from "../store/dataMigrations.js"
import { offloadPayloads } from "../store/offloadPayloads.js"
import { packHistory } from "../store/packHistory.js"
import { blobThresholdBytes } from "../store/settings.js"
import { CliError, err, out } from "./io.js"
import { notWhileServed } from "./remote.js"
import { storeLayer } from "./services.js"

/** The data migrations this build knows. */
export const knownMigrations: Effect.Effect<ReadonlyArray<DataMigration>, CliError> = Effect.map(
  Effect.mapError(blobThresholdBytes, (e) => new CliError({ message: `TRELLIS_BLOB_THRESHOLD_BYTES: ${e.message}` })),
  (threshold) => [offloadPayloads(threshold), packHistory]
)

/** A report in one line. */
export const describeMigration = (r: MigrationReport): string =>
  r.dryRun
    ? `${r.name} (dry run): would change ${r.events} event(s) of ${r.runs} of ${r.runsVisited} run(s), ` +
      `${r.bytesBefore} bytes → ${r.bytesAfter} bytes`
    : `${r.name}: ${r.resumed ? "resumed, " : ""}changed ${r.events} event(s) of ${r.runs} run(s), ` +
      `${r.bytesBefore} bytes → ${r.bytesAfter} bytes; verified ${r.verified} run(s)`

/** `trellis migrate-data`. */
export const migrateDataCommand = Command.make(
  "migrate-data",
  {
    name: Args.text({ name: "name" }).pipe(Args.withDescription("The migration (offload-payloads, pack-history)")),
    dryRun: Options.boolean("dry-run").pipe(
      Options.withDescription("Report the runs, events and bytes it would change; change nothing")
    ),
    batch: Options.integer("batch").pipe(
      Options.withDefault(100),
      Options.withDescription("Runs per batch (each batch commits on its own)")
    ),
    json: Options.boolean("json").pipe(Options.withDescription("Print the report as JSON"))
  },
  ({ batch, dryRun, json, name }) =>
    Effect.gen(function*() {
      // A PGlite directory is held by a running server: migrate there after stopping it (PostgreSQL: online).
      yield* notWhileServed(": stop it to migrate the store's data, or use PostgreSQL to migrate online")
      if (batch < 1) return yield* new CliError({ message: `--batch must be at least 1, got ${batch}` })
      const migration = yield* Effect.flatMap(knownMigrations, (known) => find(known, name)).pipe(
        Effect.mapError((e) => new CliError({ message: e.message }))
      )
      const report = yield* migrateData(migration, {
        batch,
        dryRun,
        onBatch: ({ runs }) => json ? Effect.void : err(`${name}: ${runs} run(s) visited`)
      }).pipe(
        Effect.mapError((e) => new CliError({ message: `migrate-data ${name}: ${e.message}` })),
        Effect.provide(storeLayer)
      )
      yield* out(json ? JSON.stringify(report) : describeMigration(report))
    })
).pipe(Command.withDescription("Run a data migration of stored runs (batched, resumable, verified)"))
