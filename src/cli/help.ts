/**
 * `trellis --help` (and `-h`, and `trellis` alone): a short plain-text page
 * listing every command with its usage — the long per-command help stays
 * @effect/cli's (`trellis <command> --help`). `plainOutput` strips ANSI
 * colour codes from everything the CLI prints when stdout is not a terminal
 * or `NO_COLOR` is set (https://no-color.org).
 */
import * as Command from "@effect/cli/Command"
import { HashMap } from "effect"
import { artifactsCommand } from "./artifacts.js"
import { checkCommand, compileCommand, fmtCommand, normalizeCommand, schemaCommand, tokensCommand } from "./commands.js"
import { deployCommand, deploymentsCommand } from "./deploy.js"
import { replayCommand, resumeCommand, runsCommand, traceCommand } from "./durable.js"
import { evalCommand } from "./eval.js"
import { gcCommand } from "./gc.js"
import { jobCommand } from "./job.js"
import { migrateDataCommand } from "./migrateData.js"
import { optimizeCommand } from "./optimize.js"
import { planCommand } from "./plan.js"
import { ingestCommand, searchCommand } from "./retrieval.js"
import { runCommand } from "./run.js"
import { schedulesCommand } from "./schedules.js"
import { serveCommand } from "./serve.js"
import { signalCommand } from "./signal.js"

/** The version `trellis --version` prints (the server reports the same). */
export { VERSION } from "../server/context.js"

/** Every subcommand of `trellis`, in help order. */
export const subcommands = [
  runCommand,
  serveCommand,
  resumeCommand,
  runsCommand,
  schedulesCommand,
  signalCommand,
  replayCommand,
  traceCommand,
  gcCommand,
  migrateDataCommand,
  checkCommand,
  fmtCommand,
  normalizeCommand,
  compileCommand,
  tokensCommand,
  schemaCommand,
  planCommand,
  ingestCommand,
  searchCommand,
  evalCommand,
  deployCommand,
  deploymentsCommand,
  optimizeCommand,
  jobCommand,
  artifactsCommand
] as const

/** The root command: `trellis` with every subcommand. */
export const root = Command.make("trellis").pipe(
  Command.withDescription("Trellis: run agent and tool-orchestration programs written as data"),
  Command.withSubcommands([...subcommands])
)

/** One line of the command list: usage (optional parts in brackets) and what it does. */
export interface CommandHelp {
  readonly name: string
  readonly usage: string
  readonly summary: string
}

/** The command list of `trellis --help`. */
export const COMMANDS: ReadonlyArray<CommandHelp> = [
  {
    name: "run",
    usage:
      "run <file> [--input k=v]... [--input-file f] [--tools m] [--seed n] [--json] [--events f] [--memory] [--config f]",
    summary: "run a program, recorded in the store"
  },
  {
    name: "serve",
    usage: "serve [--port 8080] [--host h] [--config f] [--tools m] [--drain-ms n]",
    summary: "serve the HTTP API, SSE and the trace viewer"
  },
  {
    name: "resume",
    usage: "resume [<run-id> | --all] [--tools m] [--json]",
    summary: "resume runs a stopped process left running"
  },
  {
    name: "runs",
    usage: "runs [--status s] [--program hash] [--limit n] [--cursor c] [--json] | runs show <run-id>",
    summary: "list stored runs, or show one"
  },
  {
    name: "schedules",
    usage:
      "schedules [--json] | schedules create --cron c --program f [--inputs json] [--overlap o] [--missed m] | schedules delete|pause|resume <id>",
    summary: "list, create or delete schedules (fired by trellis serve)"
  },
  {
    name: "signal",
    usage: "signal <run-id> <name> [--payload json] [--signal-id id] [--tools m] [--json]",
    summary: "send a signal to a run's wait; a waiting run continues"
  },
  {
    name: "replay",
    usage: "replay <run-id | trace.jsonl> [--live] [--program f] [--tools m] [--json]",
    summary: "re-execute a recorded run and report the first divergence"
  },
  { name: "trace", usage: "trace export <run-id> [-o file] [--inline]", summary: "export a run's trace as JSONL" },
  {
    name: "gc",
    usage: "gc [--dry-run] [--workspace w] [--config f] [--json]",
    summary: "remove expired cache entries and old runs"
  },
  {
    name: "migrate-data",
    usage: "migrate-data <name> [--dry-run] [--batch n] [--json]",
    summary: "migrate stored runs' data (batched, resumable, verified)"
  },
  { name: "check", usage: "check <file> [--json]", summary: "check a program: syntax and every invariant" },
  { name: "fmt", usage: "fmt <file> [--check | --write]", summary: "print a program as canonical DSL text" },
  {
    name: "normalize",
    usage: "normalize <file> [--json | --hash]",
    summary: "print a program's normal form or its hash"
  },
  { name: "compile", usage: "compile <file>", summary: "compile DSL text to JSON IR" },
  {
    name: "tokens",
    usage: "tokens <file> [--decode]",
    summary: "print a program as structural tokens (or decode them)"
  },
  { name: "schema", usage: "schema", summary: "print the JSON Schema of the IR" },
  {
    name: "plan",
    usage: "plan \"<task>\" --model <provider/model> [--rounds n] [--json] [-o file] [--config f] [--tools m]",
    summary: "ask a model for a program that passes check"
  },
  {
    name: "ingest",
    usage: "ingest <file.jsonl | dir> [--sparse-only] [--chunk-size n] [--chunk-overlap n] [--json]",
    summary: "add documents to a retrieval collection"
  },
  {
    name: "search",
    usage: "search \"<query>\" [--mode sparse|dense|hybrid] [--k n] [--json]",
    summary: "search a retrieval collection"
  },
  {
    name: "eval",
    usage:
      "eval run <file> --data d.jsonl [--metric m]... [--concurrency n] [--config f] [--json] | eval compare <a> <b>... [--require \"delta>0\"] [--alpha 0.05] | eval dataset from-runs [--feedback positive | --min-reward x] -o d.jsonl | eval retrieval --data <dir> | eval documents --data <dir> [--iou 0.5] [--json]",
    summary: "evaluate a program on a dataset, compare evals (a gate), evaluate retrieval"
  },
  {
    name: "deploy",
    usage:
      "deploy set <name> [--program f] [--candidate f|none] [--percent n] [--sticky-header h | --sticky-input f] [--canary json] [--rule json] | deploy promote|rollback|canary <name> | deploy flag <flag> on|off|N%|delete",
    summary: "named deployments: versions, rollouts, canaries, promotion, flags"
  },
  {
    name: "deployments",
    usage: "deployments [<name>] [--history] [--flags] [--json]",
    summary: "list deployments, show one with its decisions, list flags"
  },
  {
    name: "optimize",
    usage:
      "optimize <file> --train t.jsonl --dev d.jsonl [--test x.jsonl] [--metric m]... [--model m] --budget <calls|calls=N,tokens=N,cost=X> [--optimizer bootstrap|random|copro|mipro] [--seed n] [--config f] [-o file] [--json]",
    summary: "optimize a program's instructions and demos under a hard budget"
  },
  {
    name: "job",
    usage: "job run <job.yaml> [--config f] [--memory] [--json]",
    summary: "run the eval or optimization a YAML JobSpec describes (a rerun resumes)"
  },
  {
    name: "artifacts",
    usage: "artifacts [--kind program|report|calibrator|dataset] [--json] | artifacts show <hash> [-o file]",
    summary: "list or show content-addressed artifacts stored by jobs"
  }
]

/** The names of the root command's subcommands, as @effect/cli registered them. */
export const registeredNames = (): ReadonlyArray<string> => [...HashMap.keys(Command.getSubcommands(root))].sort()

/** The text of `trellis --help`. */
export const helpText = (version: string): string => {
  const width = Math.max(...COMMANDS.map((c) => c.name.length))
  const lines = [
    `trellis ${version}: run agent and tool-orchestration programs written as data`,
    "",
    "usage: trellis <command> [options]      (trellis <command> --help for a command's options)",
    "",
    "commands:",
    ...COMMANDS.flatMap((
      c
    ) => [`  ${c.name.padEnd(width)}  ${c.summary}`, `  ${" ".repeat(width)}    trellis ${c.usage}`]),
    "",
    "options: -h, --help   this page      --version   the version",
    "files: <file> is a .tr (DSL) or .json (IR) file, or - for stdin",
    "environment: TRELLIS_HOME, TRELLIS_DATABASE_URL, TRELLIS_CONFIG, TRELLIS_API_KEYS, NO_COLOR"
  ]
  return lines.join("\n") + "\n"
}

/** Whether `argv` (without node and the script) asks for the top-level help. */
export const wantsTopHelp = (args: ReadonlyArray<string>): boolean =>
  args.length === 0 || (args.length === 1 && (args[0] === "--help" || args[0] === "-h"))

/** ANSI escape sequences (colours, styles). */
// eslint-disable-next-line no-control-regex -- matching the escape character is the point
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g

/** `text` without ANSI escape sequences. */
export const stripAnsi = (text: string): string => text.replace(ANSI, "")

/** Whether output should be plain: `NO_COLOR` set (any value but empty), or stdout not a terminal. */
export const plainWanted = (env: NodeJS.ProcessEnv, isTty: boolean): boolean =>
  (env["NO_COLOR"] !== undefined && env["NO_COLOR"] !== "") || !isTty

/** Makes stdout and stderr strip ANSI codes (when `plainWanted`). */
export const plainOutput = (): void => {
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (chunk: unknown, ...rest: Array<unknown>) => boolean
    stream.write = ((chunk: unknown, ...rest: Array<unknown>) =>
      write(typeof chunk === "string" ? stripAnsi(chunk) : chunk, ...rest)) as typeof stream.write
  }
}
