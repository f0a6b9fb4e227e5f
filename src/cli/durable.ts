/**
 * The CLI of recorded runs: `trellis resume`, `trellis runs` (+ `show`),
 * `trellis replay` and `trellis trace export`. They work on the store of
 * the environment (`TRELLIS_HOME`, default `./.trellis`, or
 * `TRELLIS_DATABASE_URL`); while a live `trellis serve` holds that store,
 * `runs`, `replay` and `trace export` go through its HTTP API
 * (`durableRemote.ts`) with the same output, and `resume` says why it cannot.
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as FileSystem from "@effect/platform/FileSystem"
import { Cause, Effect, Either, Exit, Layer, Option } from "effect"
import { DocumentFileAccess } from "../documents/source.js"
import type { Json } from "../ir/eval.js"
import type { Program } from "../ir/schema.js"
import * as Durable from "../runtime/durable.js"
import type { RunError } from "../runtime/errors.js"
import { RunStore } from "../runtime/runStore.js"
import type { RunRecordStatus } from "../runtime/runStore.js"
import { BlobStore } from "../store/blobs.js"
import { referencesOf, resolve } from "../store/claimCheck.js"
import { storedEvents } from "../store/events.js"
import { HttpAllowlist } from "../tools/index.js"
import type { RunEvent } from "../trace/events.js"
import { fromJsonl, toJsonl } from "../trace/jsonl.js"
import * as Served from "./durableRemote.js"
import { CliError, err, out, writeText } from "./io.js"
import { loadValid } from "./load.js"
import { holderOf, notWhileServed, serverOfStore } from "./remote.js"
import type { Remote } from "./remote.js"
import { loadRegistry, servicesLayer, storeLayer } from "./services.js"
import { renderRun, renderRuns, viewOfRecord } from "./timeline.js"

const toolsOption = Options.text("tools").pipe(
  Options.optional,
  Options.withDescription("A module exporting `tools` (TypeScript or JavaScript)")
)
const jsonOption = Options.boolean("json").pipe(Options.withDescription("Print JSON"))
const allowOption = Options.boolean("allow-version-change").pipe(
  Options.withDescription("Go on although a tool's version changed incompatibly since the run was recorded")
)

/** A RunError as a CLI failure. */
const runFailed = (e: RunError): CliError =>
  new CliError({
    message: `${e.runId === undefined ? "" : `run ${e.runId}: `}${e.kind}${
      e.node === undefined ? "" : ` at node ${e.node}`
    }: ${e.message}`
  })

/** The services of durable runs on the environment's store, with built-ins and `--tools`. */
const withServices = <A, E, R>(tools: Option.Option<string>, body: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const { registry } = yield* loadRegistry(Option.getOrUndefined(tools))
    return yield* body.pipe(
      Effect.provide(Layer.merge(servicesLayer(registry, { memory: false }), HttpAllowlist.layerFromEnv)),
      Effect.provideService(DocumentFileAccess, { allowed: true })
    )
  })

/** `trellis resume [--all | <run-id>]`. */
export const resumeCommand = Command.make(
  "resume",
  {
    runId: Args.text({ name: "run-id" }).pipe(Args.optional, Args.withDescription("The run to resume")),
    all: Options.boolean("all").pipe(Options.withDescription("Resume every run left running")),
    tools: toolsOption,
    json: jsonOption,
    allowVersionChange: allowOption
  },
  ({ all, allowVersionChange, json, runId, tools }) =>
    Effect.zipRight(
      notWhileServed(", which resumes the runs left running when it starts: stop it to resume runs here"),
      withServices(
        tools,
        Effect.gen(function*() {
          if (all === Option.isSome(runId)) {
            return yield* new CliError({ message: "give a run id or --all (not both)" })
          }
          const results = Option.isSome(runId)
            ? [{ runId: runId.value, exit: yield* Effect.exit(Durable.resume(runId.value, { allowVersionChange })) }]
            : yield* Durable.resumeAll().pipe(Effect.mapError(runFailed))
          let failed = 0
          const lines: Array<unknown> = []
          for (const { exit, runId: id } of results) {
            if (Exit.isSuccess(exit)) {
              lines.push({ runId: id, status: exit.value.status, output: exit.value.output })
              if (!json) yield* out(`${id}: ${exit.value.status}`)
              continue
            }
            failed++
            const e = Option.getOrUndefined(Cause.failureOption(exit.cause))
            const error = e === undefined
              ? { kind: "Cancelled", message: "interrupted" }
              : { kind: e.kind, message: e.message, ...(e.node === undefined ? {} : { node: e.node }) }
            lines.push({ runId: id, status: error.kind === "Cancelled" ? "cancelled" : "failed", error })
            if (!json) yield* err(`${id}: ${error.kind}: ${error.message}`)
          }
          if (json) yield* out(JSON.stringify(Option.isSome(runId) ? lines[0] : lines))
          else if (all && results.length === 0) yield* out("no runs left running")
          if (failed > 0) {
            return yield* new CliError({ message: `${failed} of ${results.length} resumed run(s) did not complete` })
          }
        })
      )
    )
).pipe(
  Command.withDescription(
    "Resume runs left running (their process died): completed work is restored, the rest runs again"
  )
)

const STATUSES: ReadonlyArray<RunRecordStatus> = ["running", "waiting", "completed", "failed", "cancelled"]

const runsShow = Command.make(
  "show",
  { runId: Args.text({ name: "run-id" }), json: jsonOption },
  ({ json, runId }) =>
    Effect.gen(function*() {
      const remote = yield* serverOfStore
      if (Option.isSome(remote)) {
        const run = yield* Served.getRun(remote.value, runId)
        return yield* out(renderRun(run, yield* Served.eventsOf(remote.value, run), json))
      }
      return yield* Effect.gen(function*() {
        const record = yield* Durable.getRun(runId).pipe(Effect.mapError(runFailed))
        const events = yield* Durable.eventsOf(runId).pipe(Effect.mapError(runFailed))
        yield* out(renderRun(viewOfRecord(record), events, json))
      }).pipe(Effect.provide(storeLayer))
    })
).pipe(Command.withDescription("Show one run: status, output or error, and its node timeline"))

/** `trellis runs [--status s] [--limit n] [--cursor c] [--json]`, `trellis runs show <id>`. */
export const runsCommand = Command.make(
  "runs",
  {
    status: Options.choice("status", STATUSES).pipe(
      Options.optional,
      Options.withDescription("Only runs with this status")
    ),
    program: Options.text("program").pipe(Options.optional, Options.withDescription("Only runs of this program hash")),
    limit: Options.integer("limit").pipe(Options.withDefault(20), Options.withDescription("Runs per page (1..1000)")),
    cursor: Options.text("cursor").pipe(
      Options.optional,
      Options.withDescription("The cursor printed after a page, for the next one")
    ),
    json: jsonOption
  },
  ({ cursor, json, limit, program, status }) =>
    Effect.gen(function*() {
      if (limit < 1 || limit > 1000) {
        return yield* new CliError({ message: `--limit must be between 1 and 1000, got ${limit}` })
      }
      const query = {
        limit,
        ...(Option.isSome(status) ? { status: status.value } : {}),
        ...(Option.isSome(program) ? { programHash: program.value } : {}),
        ...(Option.isSome(cursor) ? { cursor: cursor.value } : {})
      }
      const remote = yield* serverOfStore
      if (Option.isSome(remote)) {
        const page = yield* Served.listRuns(remote.value, query)
        return yield* out(renderRuns(page.runs, page.next, json))
      }
      return yield* Effect.gen(function*() {
        const store = yield* RunStore
        const page = yield* store.list(query).pipe(
          Effect.mapError((e) => new CliError({ message: `cannot list runs: ${e.message}` }))
        )
        yield* out(renderRuns(page.runs.map(viewOfRecord), page.next, json))
      }).pipe(Effect.provide(storeLayer))
    })
).pipe(
  Command.withDescription("List recorded runs, newest first"),
  Command.withSubcommands([runsShow])
)

/** A replay report as `--json` prints it: its keys always in the same order (from the store or a server). */
const replayJson = (r: Served.ReplayShown): string =>
  JSON.stringify({
    runId: r.runId,
    exact: r.exact,
    ...(r.divergence === undefined ? {} : { divergence: r.divergence }),
    status: r.status,
    ...(r.output === undefined ? {} : { output: r.output }),
    ...(r.error === undefined ? {} : { error: r.error }),
    recordedEvents: r.recordedEvents,
    replayedEvents: r.replayedEvents
  })

/** Prints a replay report; fails (exit 1) unless the replay was exact. */
const reportReplay = (report: Served.ReplayShown, json: boolean) =>
  Effect.gen(function*() {
    if (json) yield* out(replayJson(report))
    else if (report.exact) {
      yield* out(`replay of run ${report.runId}: exact (${report.recordedEvents} events, ${report.status})`)
    } else {
      const d = report.divergence
      yield* out([
        `replay of run ${report.runId}: diverged at ${d?.node === undefined ? "the run" : `node ${d.node}`}${
          d?.seq === undefined ? "" : ` (recorded seq ${d.seq})`
        }`,
        `  expected: ${d?.expected ?? "(no event)"}`,
        `  actual:   ${d?.actual ?? "(no event)"}`
      ].join("\n"))
    }
    if (!report.exact) return yield* new CliError({ message: "the replay diverged from the record" })
  })

/**
 * A trace's events with their blob references (large payloads, exported without `--inline`) replaced by the
 * payloads from the environment's store; a trace without references is returned as it is.
 */
const withBlobs = (file: string, events: ReadonlyArray<RunEvent>) =>
  referencesOf(events).length === 0 ? Effect.succeed(events) : Effect.gen(function*() {
    const hint = "(export the trace with --inline to carry its payloads)"
    if (Option.isSome(yield* serverOfStore)) {
      return yield* new CliError({
        message: `${file}: the trace refers to payloads in the blob store, which a running server holds ${hint}`
      })
    }
    return yield* Effect.flatMap(BlobStore, (blobs) => resolve(events, blobs)).pipe(
      Effect.provide(storeLayer),
      Effect.mapError((e) => new CliError({ message: `${file}: ${e.message} ${hint}` }))
    )
  })

/** The trace of a file, with the program of `--program` when given. */
const traceSource = (file: string, program: Option.Option<string>, tools: Option.Option<string>) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(file, "utf8").pipe(
      Effect.mapError((e) => new CliError({ message: `${file}: cannot read (${e.message})` }))
    )
    const read = fromJsonl(text)
    if (Either.isLeft(read)) return yield* new CliError({ message: `${file}: ${read.left.message}` })
    const events = yield* withBlobs(file, read.right)
    let p: Program | undefined
    if (Option.isSome(program)) {
      const { registry } = yield* loadRegistry(Option.getOrUndefined(tools))
      const loaded = yield* loadValid(program.value, { tools: registry.table })
      p = loaded.checked.normalized ?? loaded.checked.program
    }
    return { _tag: "Trace", events, program: p } satisfies Durable.ReplaySource
  })

/**
 * A trace replayed in memory: with the program of `--program`, else `stored` (the one a server holding the store
 * has for the trace's run). No store is opened: a trace file and its program are all a replay needs.
 */
const replayTraceInMemory = (
  source: Extract<Durable.ReplaySource, { _tag: "Trace" }>,
  stored: { readonly hash: string; readonly json: unknown } | undefined,
  options: { readonly live: boolean; readonly tools: Option.Option<string>; readonly allowVersionChange: boolean }
) =>
  Effect.gen(function*() {
    const { registry } = yield* loadRegistry(Option.getOrUndefined(options.tools))
    return yield* Effect.gen(function*() {
      if (stored !== undefined) {
        yield* (yield* RunStore).putProgram(stored.hash, stored.json as Json).pipe(
          Effect.mapError((e) => new CliError({ message: e.message }))
        )
      }
      return yield* Durable.replay(source, { live: options.live, allowVersionChange: options.allowVersionChange }).pipe(
        Effect.mapError(runFailed)
      )
    }).pipe(
      Effect.provide(Layer.merge(servicesLayer(registry, { memory: true }), HttpAllowlist.layerFromEnv)),
      Effect.provideService(DocumentFileAccess, { allowed: true })
    )
  })

/** A trace replayed while a server holds the store: in memory, with the server's program when `--program` is absent. */
const replayTraceBeside = (
  remote: Remote,
  source: Extract<Durable.ReplaySource, { _tag: "Trace" }>,
  options: { readonly live: boolean; readonly tools: Option.Option<string>; readonly allowVersionChange: boolean }
) =>
  Effect.gen(function*() {
    const stored = source.program === undefined ? yield* Served.programOfTrace(remote, source.events) : undefined
    return yield* replayTraceInMemory(source, stored, options)
  })

/** `trellis replay <run-id | trace.jsonl> [--live] [--program file]`. */
export const replayCommand = Command.make(
  "replay",
  {
    target: Args.text({ name: "run-id | trace.jsonl" }),
    live: Options.boolean("live").pipe(Options.withDescription("Run the real tools again and diff their outputs")),
    program: Options.text("program").pipe(
      Options.optional,
      Options.withDescription("The program of a trace file (.tr or .json), when the store does not have it")
    ),
    tools: toolsOption,
    json: jsonOption,
    allowVersionChange: allowOption
  },
  ({ allowVersionChange, json, live, program, target, tools }) =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const isFile = target.endsWith(".jsonl") || (yield* Effect.orElseSucceed(fs.exists(target), () => false))
      const source: Durable.ReplaySource = isFile
        ? yield* traceSource(target, program, tools)
        : { _tag: "Stored", runId: target }
      const remote = yield* serverOfStore
      if (Option.isSome(remote) && source._tag === "Stored") {
        if (Option.isSome(tools)) {
          yield* err(`note: the replay runs in ${holderOf(remote.value)} with its own tools; --tools is not used`)
        }
        return yield* reportReplay(yield* Served.replayRun(remote.value, target, live, allowVersionChange), json)
      }
      const report = Option.isSome(remote) && source._tag === "Trace"
        ? yield* replayTraceBeside(remote.value, source, { live, tools, allowVersionChange })
        : source._tag === "Trace" && source.program !== undefined
        ? yield* replayTraceInMemory(source, undefined, { live, tools, allowVersionChange })
        : yield* withServices(
          tools,
          Durable.replay(source, { live, allowVersionChange }).pipe(Effect.mapError(runFailed))
        )
      yield* reportReplay(report, json)
    })
).pipe(
  Command.withDescription(
    "Re-execute a recorded run with tools answered from the record (or --live) and report the first divergence"
  )
)

const traceExport = Command.make(
  "export",
  {
    runId: Args.text({ name: "run-id" }),
    output: Options.text("output").pipe(
      Options.withAlias("o"),
      Options.optional,
      Options.withDescription("Write to this file (default: stdout)")
    ),
    inline: Options.boolean("inline").pipe(
      Options.withDescription("Embed large payloads kept in the blob store (default: their references)")
    )
  },
  ({ inline, output, runId }) =>
    Effect.gen(function*() {
      const remote = yield* serverOfStore
      // Through a server the payloads come embedded (its run API follows the references).
      const events = Option.isSome(remote)
        ? yield* Effect.flatMap(Served.getRun(remote.value, runId), (run) => Served.eventsOf(remote.value, run))
        : yield* Effect.gen(function*() {
          yield* Durable.getRun(runId).pipe(Effect.mapError(runFailed))
          return inline
            ? yield* Durable.eventsOf(runId).pipe(Effect.mapError(runFailed))
            : yield* storedEvents(runId).pipe(Effect.mapError((e) => new CliError({ message: e.message })))
        }).pipe(Effect.provide(storeLayer))
      const text = toJsonl(events)
      if (Option.isNone(output)) return yield* Effect.sync(() => void process.stdout.write(text))
      yield* writeText(output.value, text)
      yield* err(`wrote ${events.length} events of run ${runId} to ${output.value}`)
    })
).pipe(Command.withDescription(
  "Write a run's events as JSONL (one event per line); large payloads as blob references unless --inline"
))

/** `trellis trace export <run-id> [-o file]`. */
export const traceCommand = Command.make("trace").pipe(
  Command.withDescription("Traces of recorded runs"),
  Command.withSubcommands([traceExport])
)
