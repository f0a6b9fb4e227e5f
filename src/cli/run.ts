/**
 * `trellis run <file>`: check a program against the built-in (and `--tools`)
 * tools, run it — recorded in the store (`TRELLIS_HOME`, default
 * `./.trellis`, or `TRELLIS_DATABASE_URL`) unless `--memory` — and print its
 * output (or a typed error, exit 1).
 * Live per-node progress goes to stderr when stderr is a TTY; `--events`
 * writes every event as JSONL; `--json` prints exactly one object
 * `{ runId, status, output?, error? }` on stdout.
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as FileSystem from "@effect/platform/FileSystem"
import { Cause, Effect, Either, Exit, Layer, Option, Random } from "effect"
import type { Scope } from "effect"
import { DocumentFileAccess } from "../documents/source.js"
import type { Json } from "../ir/eval.js"
import type { Program } from "../ir/schema.js"
import * as Durable from "../runtime/durable.js"
import { bindParams } from "../runtime/inputs.js"
import * as Runtime from "../runtime/runtime.js"
import { loadConfig } from "../server/config.js"
import { HttpAllowlist } from "../tools/index.js"
import { EventSink } from "../trace/events.js"
import type { RunEvent } from "../trace/events.js"
import { CliError, err, out, readInput } from "./io.js"
import { loadValid } from "./load.js"
import { holderOf, serverOfStore } from "./remote.js"
import { runBeside } from "./runRemote.js"
import type { RunOutcome } from "./runRemote.js"
import { loadRegistry, servicesLayer, usesRetrieval } from "./services.js"

/** The one object `--json` prints. */
interface JsonReport {
  readonly runId: string | null
  readonly status: "completed" | "failed" | "cancelled" | "waiting"
  readonly output?: Json
  /** The waits of a parked run. */
  readonly waits?: ReadonlyArray<
    { readonly node: string; readonly name: string | null; readonly deadline: number | null }
  >
  readonly error?: { readonly kind: string; readonly message: string; readonly node?: string }
}

/** Parses `k=v` inputs: `v` is JSON when it parses, else the string itself. */
export const parseInputPairs = (pairs: ReadonlyArray<string>): Either.Either<Record<string, Json>, string> => {
  const inputs: Record<string, Json> = {}
  for (const pair of pairs) {
    const eq = pair.indexOf("=")
    if (eq <= 0) return Either.left(`--input expects k=v, got "${pair}"`)
    const key = pair.slice(0, eq)
    const text = pair.slice(eq + 1)
    let value: Json
    try {
      value = JSON.parse(text) as Json
    } catch {
      value = text
    }
    inputs[key] = value
  }
  return Either.right(inputs)
}

/** A node path with each canonical id replaced by the user's name when known (`n3/2/n4` → `docs/2/page`). */
const displayPath = (path: string, labels: { readonly [id: string]: string }): string =>
  path
    .split("/")
    .map((seg) => (Object.prototype.hasOwnProperty.call(labels, seg) ? labels[seg]! : seg))
    .join("/")

/** Renders one event as a progress line, or undefined for events not shown. */
const progressLine = (
  e: RunEvent,
  labels: { readonly [id: string]: string },
  started: Map<string, number>
): string | undefined => {
  const name = e.node === undefined ? "" : displayPath(e.node, labels)
  switch (e.type) {
    case "NodeStarted":
      started.set(e.node ?? "", e.at)
      // Tool nodes are shown when their call starts, with the tool's name.
      return e.data.kind === "expr" || e.data.kind === "tool" ? undefined : `  ▸ ${name} (${e.data.kind})`
    case "ToolCalled":
      return e.attempt === undefined || e.attempt === 1
        ? `  ▸ ${name} (${e.data.tool})`
        : `  ▸ ${name} (${e.data.tool}, attempt ${e.attempt})`
    case "NodeCompleted": {
      const t0 = started.get(e.node ?? "")
      return `  ✓ ${name}${t0 === undefined ? "" : ` ${e.at - t0}ms`}`
    }
    case "NodeRetrying":
      return `  ↻ ${name}: ${e.data.errorKind} (${e.data.message}), retry in ${Math.round(e.data.delayMs)}ms`
    case "NodeFailed":
      return `  ✗ ${name}: ${e.data.errorKind}: ${e.data.message}`
    case "ChoiceMade":
      return `  ◆ ${name}: chose ${e.data.option} (p=${e.data.propensity.toFixed(2)})`
    default:
      return undefined
  }
}

const encoder = new TextEncoder()
const jsonLines = (events: ReadonlyArray<RunEvent>): string => events.map((e) => JSON.stringify(e)).join("\n") + "\n"

/** Writes events as they come: JSONL to the `--events` file and/or progress lines to stderr. */
const showEvents = (
  options: {
    readonly events: FileSystem.File | undefined
    readonly progress: boolean
    readonly labels: { readonly [id: string]: string }
  }
) => {
  const started = new Map<string, number>()
  return (events: ReadonlyArray<RunEvent>): Effect.Effect<void> =>
    Effect.zipRight(
      options.events === undefined
        ? Effect.void
        // Written before the append returns, as before; a failed write is a defect, as before.
        : Effect.orDie(options.events.writeAll(encoder.encode(jsonLines(events)))),
      Effect.sync(() => {
        if (!options.progress) return
        const lines: Array<string> = []
        for (const e of events) {
          const line = progressLine(e, options.labels, started)
          if (line !== undefined) lines.push(line)
        }
        if (lines.length > 0) process.stderr.write(lines.join("\n") + "\n")
      })
    )
}

/** An EventSink that keeps events in memory and also shows them (`showEvents`). */
const cliSink = (show: (events: ReadonlyArray<RunEvent>) => Effect.Effect<void>) =>
  Layer.effect(
    EventSink,
    Effect.map(EventSink, (memory) => ({
      append: (events: ReadonlyArray<RunEvent>) => Effect.zipRight(memory.append(events), show(events))
    }))
  )

const report = (json: boolean, r: JsonReport): Effect.Effect<void> =>
  json
    ? out(JSON.stringify(r))
    : r.status === "waiting"
    ? out(
      `run ${r.runId ?? ""} is waiting: ${
        (r.waits ?? []).map((w) => (w.name === null ? `a timer (node ${w.node})` : `signal "${w.name}"`)).join(", ")
      } (trellis signal ${r.runId ?? ""} <name> --payload '<json>')`
    )
    : r.output !== undefined
    ? out(JSON.stringify(r.output, null, 2))
    : Effect.void

/** Fails the command after printing the --json report of an error that happened before the run started. */
const failEarly = (json: boolean, kind: string, message: string): Effect.Effect<never, CliError> =>
  Effect.zipRight(
    json
      ? out(JSON.stringify({ runId: null, status: "failed", error: { kind, message } } satisfies JsonReport))
      : Effect.void,
    Effect.fail(new CliError({ message }))
  )

const readInputFile = (path: string): Effect.Effect<Record<string, Json>, CliError, FileSystem.FileSystem> =>
  Effect.flatMap(readInput(path), (input) => {
    try {
      const value: unknown = JSON.parse(input.text)
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        return Effect.fail(new CliError({ message: `${input.name}: --input-file must hold a JSON object` }))
      }
      return Effect.succeed(value as Record<string, Json>)
    } catch (e) {
      return Effect.fail(
        new CliError({ message: `${input.name}: not JSON (${e instanceof Error ? e.message : String(e)})` })
      )
    }
  })

/** Reports how a run ended (its `--json` object, or its output) and fails the command unless it completed. */
const finish = (
  json: boolean,
  labels: { readonly [id: string]: string },
  outcome: RunOutcome
): Effect.Effect<void, CliError> => {
  switch (outcome._tag) {
    case "Completed":
      return report(json, { runId: outcome.runId, status: "completed", output: outcome.output })
    case "Refused":
      return failEarly(json, outcome.kind, outcome.message)
    case "Cancelled":
      return Effect.zipRight(
        report(json, { runId: outcome.runId, status: "cancelled" }),
        Effect.fail(new CliError({ message: `run ${outcome.runId} was cancelled` }))
      )
    case "Failed": {
      const node = outcome.node
      // A failure without a run id happened before the run started (bad inputs or program).
      const shown = node === undefined ? "" : displayPath(node, labels)
      const where = node === undefined ? "" : ` at node ${shown}${shown === node ? "" : ` (${node})`}`
      const run = outcome.runId === undefined ? "run" : `run ${outcome.runId}`
      return Effect.zipRight(
        report(json, {
          runId: outcome.runId ?? null,
          status: "failed",
          error: { kind: outcome.kind, message: outcome.message, ...(node === undefined ? {} : { node }) }
        }),
        Effect.fail(new CliError({ message: `${run} failed: ${outcome.kind}${where}: ${outcome.message}` }))
      )
    }
  }
}

/** `trellis run <file>`. */
export const runCommand = Command.make(
  "run",
  {
    file: Args.text({ name: "file" }).pipe(Args.withDescription("A .tr (DSL) or .json (IR) file, or - for stdin")),
    input: Options.text("input").pipe(
      Options.repeated,
      Options.withDescription("An input k=v (v is JSON when it parses, else a string); repeatable")
    ),
    inputFile: Options.text("input-file").pipe(Options.optional, Options.withDescription("A JSON object of inputs")),
    tools: Options.text("tools").pipe(
      Options.optional,
      Options.withDescription("A module exporting `tools` (TypeScript or JavaScript)")
    ),
    seed: Options.integer("seed").pipe(
      Options.optional,
      Options.withDescription("Seed of Effect's Random: reproducible run id, jitter and choices")
    ),
    json: Options.boolean("json").pipe(
      Options.withDescription("Print one JSON object { runId, status, output?, error? }")
    ),
    events: Options.text("events").pipe(
      Options.optional,
      Options.withDescription("Write every run event to this file as JSONL")
    ),
    memory: Options.boolean("memory").pipe(Options.withDescription("Run in memory only: record nothing in the store")),
    config: Options.text("config").pipe(
      Options.optional,
      Options.withDescription(
        "Config file of the LLM providers for llm steps (else TRELLIS_CONFIG; default local/echo only)"
      )
    )
  },
  ({ config, events, file, input, inputFile, json, memory, seed, tools }) =>
    Effect.gen(function*() {
      const { registry, userTools } = yield* loadRegistry(Option.getOrUndefined(tools)).pipe(
        Effect.catchAll((e) => failEarly(json, "InvalidProgram", e.message))
      )
      const loaded = yield* loadValid(file, { tools: registry.table }).pipe(
        Effect.catchAll((e) => failEarly(json, "InvalidProgram", e.message))
      )
      const program: Program = loaded.checked.normalized ?? loaded.checked.program
      const fromFile = Option.isSome(inputFile) ? yield* readInputFile(inputFile.value) : {}
      const pairs = parseInputPairs(input)
      if (Either.isLeft(pairs)) return yield* failEarly(json, "InvalidInput", pairs.left)
      const inputs = { ...fromFile, ...pairs.right }

      const eventsFile = Option.isSome(events) ? yield* openEvents(events.value) : undefined
      const labels = program.labels ?? {}
      const progress = process.stderr.isTTY === true
      // Inputs the program refuses fail here, as the run would (no run id, nothing recorded), before the store
      // opens or a server is asked: a mistyped input costs no store start.
      const planned = Runtime.plan(program)
      if (Either.isRight(planned)) {
        const entry = planned.right.entry
        const bound = bindParams(entry.params, inputs, `program "${entry.name}"`)
        if (Either.isLeft(bound)) {
          return yield* finish(json, labels, {
            _tag: "Failed",
            runId: undefined,
            kind: "InvalidInput",
            message: bound.left
          })
        }
      }
      const remote = memory
        ? Option.none()
        : yield* serverOfStore.pipe(Effect.catchAll((e) => failEarly(json, "StoreUnavailable", e.message)))
      if (Option.isSome(remote)) {
        // The store is held by a live server: the run goes through its API, reported the same way.
        if (Option.isSome(tools) || Option.isSome(config)) {
          yield* err(`note: the run executes in ${holderOf(remote.value)} with its own tools and LLM providers`)
        }
        const show = showEvents({ events: eventsFile, progress, labels })
        let accepted: string | undefined
        const outcome = yield* runBeside(remote.value, {
          file: loaded.input.name,
          program,
          inputs,
          seed: Option.getOrUndefined(seed),
          onEvent: (e) => show([e]),
          onAccepted: (id) => void (accepted = id)
        }).pipe(
          Effect.onInterrupt(() =>
            accepted === undefined ? Effect.void : report(json, { runId: accepted, status: "cancelled" })
          )
        )
        return yield* finish(json, labels, outcome)
      }
      const sink = cliSink(showEvents({ events: eventsFile, progress, labels }))
      const retrieval = Either.isRight(planned) && usesRetrieval(planned.right.tools) ? { userTools } : undefined
      const layer = Layer.provideMerge(
        sink,
        servicesLayer(registry, {
          memory,
          config: Option.getOrUndefined(config),
          ...(retrieval === undefined ? {} : { retrieval })
        })
      )
      // The run id a seeded run would draw itself, so even a cancelled run reports it.
      const runId = yield* Option.isSome(seed)
        ? Effect.withRandom(Runtime.makeRunId, Random.make(seed.value))
        : Runtime.makeRunId
      // The config file's `bandit.strategies`, as `trellis serve` applies them: each choose key's strategy.
      const strategies = yield* loadConfig(Option.getOrUndefined(config)).pipe(
        Effect.map((c) => c.file.bandit?.strategies),
        Effect.catchAll((e) => failEarly(json, "InvalidConfig", e.message))
      )
      const options: Runtime.RunOptions = {
        runId,
        ...(Option.isSome(seed) ? { seed: seed.value } : {}),
        ...(strategies === undefined ? {} : { strategies })
      }
      const exit = yield* Durable.start(program, inputs, options).pipe(
        Effect.provide(layer),
        // http.get's allowlist comes from TRELLIS_HTTP_ALLOW (comma-separated hosts).
        Effect.provide(HttpAllowlist.layerFromEnv),
        // doc.pdf may read local files under the CLI (never over HTTP).
        Effect.provideService(DocumentFileAccess, { allowed: true }),
        Effect.exit,
        // The events file is closed with the command's scope.
        Effect.onInterrupt(() => report(json, { runId, status: "cancelled" }))
      )
      if (Exit.isSuccess(exit)) return yield* finish(json, labels, { _tag: "Completed", ...exit.value })
      const error = Option.getOrUndefined(Cause.failureOption(exit.cause))
      if (error === undefined) return yield* new CliError({ message: "the run ended without a result", exitCode: 70 })
      if (error._tag === "CliError") {
        return yield* finish(json, labels, { _tag: "Refused", kind: "StoreUnavailable", message: error.message })
      }
      // A RunError without a run id failed before the run started (bad inputs or program).
      return yield* finish(json, labels, {
        _tag: "Failed",
        runId: error.runId,
        kind: error.kind,
        message: error.message,
        node: error.node
      })
    }).pipe(Effect.scoped)
).pipe(
  Command.withDescription(
    "Run a program with the built-in (and --tools) tools, recorded in the store (or --memory); print its output"
  )
)

const openEvents = (path: string): Effect.Effect<FileSystem.File, CliError, FileSystem.FileSystem | Scope.Scope> =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => fs.open(path, { flag: "w" })).pipe(
    Effect.mapError((e) => new CliError({ message: `${path}: cannot write events (${e.message})` }))
  )
