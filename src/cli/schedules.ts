/**
 * `trellis schedules` (issue 18): list, create, delete, pause and resume the
 * schedules of the environment's store (`TRELLIS_HOME`, default
 * `./.trellis`, or `TRELLIS_DATABASE_URL`), in one workspace (`--workspace`,
 * default `default`: the open server's). The schedules fire while a
 * `trellis serve` runs on that store; one that was down applies each
 * schedule's missed-run policy when it starts.
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { Clock, Effect, Either, Layer, Option } from "effect"
import { randomUUID } from "node:crypto"
import type { Json } from "../ir/eval.js"
import { makeSchedule } from "../server/schedules/create.js"
import { nextAfter, parse } from "../server/schedules/cron.js"
import { ScheduleStore } from "../store/schedules.js"
import type { MissedPolicy, ScheduleRecord } from "../store/schedules.js"
import { CliError, out } from "./io.js"
import { loadValid } from "./load.js"
import { loadRegistry, storeLayer } from "./services.js"

const jsonOption = Options.boolean("json").pipe(Options.withDescription("Print JSON"))
const workspaceOption = Options.text("workspace").pipe(
  Options.withDefault("default"),
  Options.withDescription("The workspace of the schedules (the open server's is `default`)")
)

/** The schedule store on the environment's store. */
const schedulesLayer = ScheduleStore.layer.pipe(Layer.provide(storeLayer))

const storeFailed = (e: { readonly message: string }) => new CliError({ message: `the store failed: ${e.message}` })

const iso = (ms: number | null): string => (ms === null ? "-" : new Date(ms).toISOString())

/** A schedule as the API shows it (the JSON output). */
const viewOf = (s: ScheduleRecord) => ({
  scheduleId: s.scheduleId,
  cron: s.cron,
  timezone: s.timezone,
  programHash: s.programHash,
  programName: s.programName,
  inputs: s.inputs,
  seed: s.seed,
  overlap: s.overlap,
  missed: s.missed,
  paused: s.paused,
  nextFireAt: s.nextFireAt,
  pending: s.pending.length,
  lastFireAt: s.lastFireAt,
  lastRunId: s.lastRunId,
  createdAt: s.createdAt,
  updatedAt: s.updatedAt
})

/** One line of the listing. */
const lineOf = (s: ScheduleRecord): string =>
  `${s.scheduleId}  ${JSON.stringify(s.cron)} ${s.timezone}  ${s.programName}  ${
    s.paused ? "paused" : `next ${iso(s.nextFireAt)}`
  }  last ${s.lastRunId ?? "-"}`

const idArg = Args.text({ name: "schedule-id" })

/** Finds a schedule of the workspace or fails naming it. */
const find = (id: string, workspace: string) =>
  Effect.gen(function*() {
    const found = yield* (yield* ScheduleStore).get(id, workspace).pipe(Effect.mapError(storeFailed))
    if (Option.isNone(found)) return yield* new CliError({ message: `no schedule ${id} in workspace ${workspace}` })
    return found.value
  })

const createCommand = Command.make(
  "create",
  {
    cron: Options.text("cron").pipe(
      Options.withDescription("Cron expression: 5 fields (6 with seconds first) or a nickname such as @daily")
    ),
    timezone: Options.text("timezone").pipe(Options.withDefault("UTC"), Options.withDescription("IANA time zone")),
    program: Options.text("program").pipe(Options.withDescription("The program each fire runs (.tr or .json)")),
    inputs: Options.text("inputs").pipe(Options.withDefault("{}"), Options.withDescription("Inputs as a JSON object")),
    seed: Options.integer("seed").pipe(Options.optional, Options.withDescription("Seed of every fire's run")),
    overlap: Options.choice("overlap", ["skip", "queue", "allow"] as const).pipe(
      Options.withDefault("skip" as const),
      Options.withDescription("When the previous fire's run is still going: skip, queue or allow")
    ),
    missed: Options.choice("missed", ["skip", "run-once", "catch-up"] as const).pipe(
      Options.withDefault("skip" as const),
      Options.withDescription("Fires missed while no server ran: skip, run-once or catch-up")
    ),
    max: Options.integer("max").pipe(Options.optional, Options.withDescription("catch-up: at most this many (1-100)")),
    paused: Options.boolean("paused").pipe(Options.withDescription("Create it paused")),
    tools: Options.text("tools").pipe(
      Options.optional,
      Options.withDescription("A module exporting `tools` the program uses (the server must serve them too)")
    ),
    workspace: workspaceOption,
    json: jsonOption
  },
  (o) =>
    Effect.gen(function*() {
      const { registry } = yield* loadRegistry(Option.getOrUndefined(o.tools))
      const loaded = yield* loadValid(o.program, { tools: registry.table })
      const inputs = yield* Effect.try({
        try: () => JSON.parse(o.inputs) as unknown,
        catch: () => new CliError({ message: `--inputs: not JSON: ${o.inputs.slice(0, 100)}` })
      })
      if (typeof inputs !== "object" || inputs === null || Array.isArray(inputs)) {
        return yield* new CliError({ message: "--inputs: a JSON object of the program's inputs" })
      }
      const missed: MissedPolicy = Option.isSome(o.max)
        ? { policy: o.missed, max: o.max.value }
        : { policy: o.missed }
      const made = makeSchedule({
        scheduleId: randomUUID(),
        workspace: o.workspace,
        cron: o.cron,
        timezone: o.timezone,
        program: loaded.checked.normalized ?? loaded.checked.program,
        inputs: inputs as { readonly [name: string]: Json },
        ...(Option.isSome(o.seed) ? { seed: o.seed.value } : {}),
        overlap: o.overlap,
        missed,
        paused: o.paused,
        now: yield* Clock.currentTimeMillis
      })
      if (Either.isLeft(made)) {
        const flag = made.left.path[0] === "missed"
          ? "max"
          : made.left.path[0] === "program"
          ? "program"
          : made.left.path[0]
        return yield* new CliError({ message: `--${flag}: ${made.left.message}`, exitCode: 2 })
      }
      // The store opens only for a schedule that passed every check above: a refused flag costs no store start.
      yield* Effect.flatMap(ScheduleStore, (store) => store.create(made.right)).pipe(
        Effect.mapError(storeFailed),
        Effect.provide(schedulesLayer)
      )
      yield* out(o.json ? JSON.stringify(viewOf(made.right)) : `created ${lineOf(made.right)}`)
    })
).pipe(Command.withDescription("Create a schedule: each fire runs the program with the inputs"))

const deleteCommand = Command.make(
  "delete",
  { scheduleId: idArg, workspace: workspaceOption },
  ({ scheduleId, workspace }) =>
    Effect.gen(function*() {
      const removed = yield* (yield* ScheduleStore).remove(scheduleId, workspace).pipe(Effect.mapError(storeFailed))
      if (!removed) return yield* new CliError({ message: `no schedule ${scheduleId} in workspace ${workspace}` })
      yield* out(`deleted ${scheduleId}`)
    }).pipe(Effect.provide(schedulesLayer))
).pipe(Command.withDescription("Delete a schedule (its runs stay)"))

const pauseCommand = Command.make(
  "pause",
  { scheduleId: idArg, workspace: workspaceOption },
  ({ scheduleId, workspace }) =>
    Effect.gen(function*() {
      yield* find(scheduleId, workspace)
      const now = yield* Clock.currentTimeMillis
      yield* (yield* ScheduleStore).setPaused(scheduleId, workspace, true, null, now).pipe(Effect.mapError(storeFailed))
      yield* out(`paused ${scheduleId}`)
    }).pipe(Effect.provide(schedulesLayer))
).pipe(Command.withDescription("Pause a schedule"))

const resumeCommand = Command.make(
  "resume",
  { scheduleId: idArg, workspace: workspaceOption },
  ({ scheduleId, workspace }) =>
    Effect.gen(function*() {
      const s = yield* find(scheduleId, workspace)
      const spec = parse(s.cron, s.timezone)
      const now = yield* Clock.currentTimeMillis
      const next = Either.isRight(spec) ? nextAfter(spec.right, now) : null
      yield* (yield* ScheduleStore).setPaused(scheduleId, workspace, false, next, now).pipe(
        Effect.mapError(storeFailed)
      )
      yield* out(`resumed ${scheduleId}: next ${iso(next)}`)
    }).pipe(Effect.provide(schedulesLayer))
).pipe(Command.withDescription("Resume a paused schedule from the next occurrence after now"))

/** `trellis schedules [--workspace w] [--json]` and its subcommands. */
export const schedulesCommand = Command.make(
  "schedules",
  {
    workspace: workspaceOption,
    limit: Options.integer("limit").pipe(Options.withDefault(50), Options.withDescription("Schedules per page")),
    cursor: Options.text("cursor").pipe(Options.optional, Options.withDescription("The cursor printed after a page")),
    json: jsonOption
  },
  ({ cursor, json, limit, workspace }) =>
    Effect.gen(function*() {
      if (limit < 1 || limit > 1000) return yield* new CliError({ message: "--limit: 1 to 1000", exitCode: 2 })
      const page = yield* (yield* ScheduleStore).list({
        workspace,
        limit,
        ...(Option.isSome(cursor) ? { cursor: cursor.value } : {})
      }).pipe(Effect.mapError(storeFailed))
      if (json) {
        yield* out(
          JSON.stringify({ schedules: page.items.map(viewOf), ...(page.next === undefined ? {} : { next: page.next }) })
        )
        return
      }
      if (page.items.length === 0) yield* out(`no schedules in workspace ${workspace}`)
      for (const s of page.items) yield* out(lineOf(s))
      if (page.next !== undefined) yield* out(`next page: --cursor ${page.next}`)
    }).pipe(Effect.provide(schedulesLayer))
).pipe(
  Command.withDescription("List schedules; create, delete, pause or resume one"),
  Command.withSubcommands([createCommand, deleteCommand, pauseCommand, resumeCommand])
)
