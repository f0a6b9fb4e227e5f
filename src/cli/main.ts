/** The `trellis` command line. */
import * as Command from "@effect/cli/Command"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Effect } from "effect"
import { helpText, plainOutput, plainWanted, root, VERSION, wantsTopHelp } from "./help.js"
import { normalizeArgv } from "./retrieval.js"

const cli = Command.run(root, { name: "trellis", version: VERSION })

if (plainWanted(process.env, process.stdout.isTTY === true)) plainOutput()

const program = Effect.suspend(() =>
  wantsTopHelp(process.argv.slice(2))
    ? Effect.sync(() => void process.stdout.write(helpText(VERSION)))
    : cli(normalizeArgv(process.argv))
).pipe(
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
