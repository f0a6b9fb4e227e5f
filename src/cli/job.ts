/**
 * `trellis job run <job.yaml> [--json]` (docs/optimization.md, "Jobs and artifacts"): runs the eval or the
 * optimization a JobSpec describes, with its seed; a rerun of the same job resumes without redoing finished work.
 * Its inputs and outputs are stored as content-addressed artifacts (`trellis artifacts`).
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Path from "@effect/platform/Path"
import { Effect, Layer, Option } from "effect"
import type { EvalReport } from "../eval/report.js"
import * as Router from "../llm/router.js"
import * as Artifacts from "../optimize/artifacts.js"
import { ArtifactStore } from "../optimize/artifacts.js"
import { readJobSpec, runJob } from "../optimize/job.js"
import type { OptimizeReport } from "../optimize/optimize.js"
import { loadConfig } from "../server/config.js"
import * as EvalStoreSql from "../store/evals.js"
import { EvalStore } from "../store/evals.js"
import { HttpAllowlist } from "../tools/index.js"
import { reportText } from "./eval.js"
import { CliError, out } from "./io.js"
import { optimizeReportText } from "./optimize.js"
import { notWhileServed } from "./remote.js"
import { loadRegistry, servicesLayer, storeLayer } from "./services.js"

/** The artifact store of the environment's store (or in memory). */
export const artifactStoreLayer = (memory: boolean) =>
  memory ? ArtifactStore.layerMemory : Artifacts.layer.pipe(Layer.provide(storeLayer))

const jobRun = Command.make(
  "run",
  {
    spec: Args.text({ name: "job.yaml" }).pipe(Args.withDescription("A JobSpec file (YAML)")),
    config: Options.text("config").pipe(
      Options.optional,
      Options.withDescription("Config file of the LLM providers (else the spec's `config`, else TRELLIS_CONFIG)")
    ),
    tools: Options.text("tools").pipe(Options.optional, Options.withDescription("A module exporting `tools`")),
    memory: Options.boolean("memory").pipe(Options.withDescription("Record nothing in the store")),
    json: Options.boolean("json").pipe(Options.withDescription("Print the result as JSON"))
  },
  (o) =>
    Effect.gen(function*() {
      if (!o.memory) yield* notWhileServed(": stop it, or use PostgreSQL (TRELLIS_DATABASE_URL)")
      const spec = yield* readJobSpec(o.spec)
      const { registry } = yield* loadRegistry(Option.getOrUndefined(o.tools))
      const path = yield* Path.Path
      const configPath = Option.getOrUndefined(o.config) ??
        (spec.config === undefined ? undefined : path.resolve(path.dirname(o.spec), spec.config))
      const cfg = yield* Effect.mapError(loadConfig(configPath), (e) => new CliError({ message: e.message }))
      const router = Router.layer(cfg.file).pipe(Layer.mapError((e) => new CliError({ message: e.message })))
      const evals = o.memory ? EvalStore.layerMemory : EvalStoreSql.layer.pipe(Layer.provide(storeLayer))
      const result = yield* runJob(o.spec, {
        ...(cfg.file.steps === undefined ? {} : { steps: cfg.file.steps }),
        tools: registry.table
      })
        .pipe(
          Effect.provide(
            Layer.mergeAll(
              servicesLayer(registry, { memory: o.memory, config: false }),
              evals,
              router,
              artifactStoreLayer(o.memory)
            )
          ),
          Effect.provide(HttpAllowlist.layerFromEnv)
        )
      if (o.json) return yield* out(JSON.stringify(result))
      yield* out(
        [
          `job ${result.jobId} (${result.kind})`,
          result.kind === "eval"
            ? reportText(result.report as EvalReport)
            : optimizeReportText(result.report as OptimizeReport),
          "artifacts:",
          ...result.artifacts.map((a) => `  ${a.hash.slice(0, 19)}  ${a.kind.padEnd(10)} ${a.name}`)
        ].join("\n")
      )
    }).pipe(Effect.mapError((e) => (e._tag === "JobError" ? new CliError({ message: e.display }) : e)))
).pipe(Command.withDescription("Run the eval or optimization a JobSpec file describes"))

/** `trellis job …`. */
export const jobCommand = Command.make("job").pipe(
  Command.withDescription("Jobs written as YAML specs (run)"),
  Command.withSubcommands([jobRun])
)
