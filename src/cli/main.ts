/** The `trellis` command line. */
import * as Command from "@effect/cli/Command"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Effect } from "effect"
import {
  checkCommand,
  compileCommand,
  fmtCommand,
  normalizeCommand,
  schemaCommand,
  tokensCommand
} from "./commands.js"
import { replayCommand, resumeCommand, runsCommand, traceCommand } from "./durable.js"
import { planCommand } from "./plan.js"
import { runCommand } from "./run.js"
import { serveCommand } from "./serve.js"
import { evalCommand, ingestCommand, normalizeArgv, searchCommand } from "./retrieval.js"

const root = Command.make("trellis").pipe(
  Command.withDescription("Trellis: check, format, normalize and compile agent programs written as data"),
  Command.withSubcommands([runCommand, serveCommand, resumeCommand, runsCommand, replayCommand, traceCommand, checkCommand, fmtCommand, normalizeCommand, compileCommand, tokensCommand, schemaCommand, ingestCommand, searchCommand, evalCommand, planCommand])
)

const cli = Command.run(root, { name: "trellis", version: "0.1.0" })

const program = Effect.suspend(() => cli(normalizeArgv(process.argv))).pipe(
  Effect.catchAll((error) =>
    Effect.sync(() => {
      // @effect/cli has already printed its own help/usage for ValidationErrors.
      if (typeof error === "object" && error !== null && "_tag" in error && error._tag === "CliError") {
        const e = error as { message: string; exitCode?: number }
        process.stderr.write(`error: ${e.message}\n`)
        process.exitCode = e.exitCode ?? 1
      } else {
        process.exitCode = 2
      }
    })
  ),
  Effect.catchAllDefect((defect) =>
    Effect.sync(() => {
      process.stderr.write(`internal error: ${Cause.pretty(Cause.die(defect)).split("\n")[0]}\n`)
      process.exitCode = 70
    })
  ),
  Effect.provide(NodeContext.layer)
)

NodeRuntime.runMain(program, { disableErrorReporting: true, disablePrettyLogger: true })
