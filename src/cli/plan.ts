/**
 * `trellis plan "<task>" --model <m> [--rounds N] [--json] [-o file]
 * [--config f] [--tools m]`: asks a model for a program (the planner,
 * `src/llm/planner.ts`), checked against the built-in (and `--tools`)
 * tools. Prints the program as DSL text (or writes it to `-o`: DSL, or
 * JSON IR when the file ends in `.json`); `--json` prints one object
 * `{ status: "planned", hash, rounds, source, program }` or
 * `{ status: "invalid", rounds, violations }`. Exit 1 when the model never
 * produced a valid program (the last violations go to stderr) or cannot be
 * asked.
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import type * as FileSystem from "@effect/platform/FileSystem"
import { Effect, Layer, Option } from "effect"
import { pathToPointer } from "../ir/diagnostic.js"
import { encodeProgram } from "../ir/json.js"
import { DEFAULT_PLAN_ROUNDS, plan } from "../llm/planner.js"
import type { PlanViolation } from "../llm/planner.js"
import * as Router from "../llm/router.js"
import { loadConfig } from "../server/config.js"
import { CliError, err, out, writeText } from "./io.js"
import { loadRegistry } from "./services.js"

const violationLine = (v: PlanViolation): string =>
  `${v.code}${v.path === undefined || v.path.length === 0 ? "" : ` at ${pathToPointer(v.path)}`}: ${v.message}`

const writeFile = (path: string, text: string): Effect.Effect<void, CliError, FileSystem.FileSystem> =>
  writeText(path, text.endsWith("\n") ? text : `${text}\n`)

/** `trellis plan`. */
export const planCommand = Command.make(
  "plan",
  {
    task: Args.text({ name: "task" }).pipe(Args.withDescription("What the program should do, in plain words")),
    model: Options.text("model").pipe(
      Options.withDescription("The model to ask (provider/model, e.g. local/echo or vllm/qwen2.5-7b)")
    ),
    rounds: Options.integer("rounds").pipe(
      Options.optional,
      Options.withDescription(`Rounds in all, the first answer included (1-10; default ${DEFAULT_PLAN_ROUNDS})`)
    ),
    json: Options.boolean("json").pipe(
      Options.withDescription("Print one JSON object { status, hash?, rounds, source?, program?, violations? }")
    ),
    output: Options.text("output").pipe(
      Options.withAlias("o"),
      Options.optional,
      Options.withDescription("Write the program to this file (JSON IR when it ends in .json, else DSL)")
    ),
    config: Options.text("config").pipe(
      Options.optional,
      Options.withDescription("Config file of the LLM providers (else TRELLIS_CONFIG; default local/echo only)")
    ),
    tools: Options.text("tools").pipe(
      Options.optional,
      Options.withDescription("A module exporting `tools` the program may call")
    )
  },
  ({ config, json, model, output, rounds, task, tools }) =>
    Effect.gen(function*() {
      const { registry } = yield* loadRegistry(Option.getOrUndefined(tools))
      const cfg = yield* Effect.mapError(loadConfig(Option.getOrUndefined(config)), (e) =>
        new CliError({ message: e.message }))
      const router = Router.layer(cfg.file).pipe(Layer.mapError((e) =>
        new CliError({ message: e.message })
      ))
      const result = yield* plan(task, {
        model,
        tools: registry.table,
        ...(Option.isSome(rounds) ? { rounds: rounds.value } : {})
      }).pipe(
        Effect.mapError((e) => new CliError({ message: `plan: ${e.message}` })),
        Effect.provide(router)
      )
      if (result._tag === "Invalid") {
        if (json) {
          yield* out(JSON.stringify({ status: "invalid", rounds: result.rounds, violations: result.violations }))
        } else yield* err(result.violations.map(violationLine).join("\n"))
        return yield* new CliError({
          message: `plan: no valid program after ${result.rounds} round${
            result.rounds === 1 ? "" : "s"
          } (${result.violations.length} violation${result.violations.length === 1 ? "" : "s"} left)`
        })
      }
      const irJson = encodeProgram(result.program)
      if (Option.isSome(output)) yield* writeFile(output.value, output.value.endsWith(".json") ? irJson : result.source)
      if (json) {
        yield* out(JSON.stringify({
          status: "planned",
          hash: result.hash,
          rounds: result.rounds,
          source: result.source,
          program: JSON.parse(irJson) as unknown
        }))
      } else if (Option.isNone(output)) {
        yield* out(result.source)
      } else {
        yield* err(
          `${output.value}: planned in ${result.rounds} round${result.rounds === 1 ? "" : "s"} (hash ${result.hash})`
        )
      }
    })
).pipe(Command.withDescription("Ask a model for a program that does a task; print it once it passes check"))
