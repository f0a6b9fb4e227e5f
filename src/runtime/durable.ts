/**
 * Durable runs (SPEC §5): runs recorded in a `RunStore` with their events,
 * resumed after a crash, and replayed.
 *
 * - `start` keeps the program under its hash, records the run (`running`),
 *   runs it, and records how it ended. Its events go to the `EventSink`
 *   (durable when the store's layer provides it).
 * - `resume(runId)` runs a run left `running` again with its own program,
 *   inputs, seed and options: completed calls and choices are restored from
 *   its events, calls that were in flight run again with the same
 *   idempotency keys, and new events continue its seq (`recorded.ts`).
 *   `resumeAll` resumes every run left `running`.
 * - `start` and `resume` run inside a `run` span (attributes
 *   `trellis.run_id`, `trellis.program`, `trellis.workspace`,
 *   `trellis.mode`) with the log annotations `runId` and `workspace`.
 * - `replay` re-executes a recorded run with every tool call answered from
 *   the record (or, `live`, with the real tools) into a separate in-memory
 *   log, and reports the first divergence (`divergence.ts`).
 */
import { Cause, Clock, Effect, Either, Exit, FiberId, Layer, Option, Random } from "effect"
import type { Json } from "../ir/eval.js"
import { encodeProgram } from "../ir/json.js"
import type { Program } from "../ir/schema.js"
import { ToolRegistry } from "../tools/registry.js"
import type { StoreError } from "../trace/errors.js"
import { EventLog, EventSink, isTerminal } from "../trace/events.js"
import type { RunEvent } from "../trace/events.js"
import { combine as combineSummaries, summarize } from "../trace/summary.js"
import { PolicyStore } from "./bandit/store.js"
import { firstDivergence, recordIntegrity } from "./divergence.js"
import type { Divergence } from "./divergence.js"
import { RunError } from "./errors.js"
import { bindParams } from "./inputs.js"
import { leaveRunningOnInterrupt } from "./interpret.js"
import type { StopControl } from "./interpret.js"
import type { RunRequirements, RunResult } from "./interpret.js"
import { makeRunId, plan, runWith } from "./launch.js"
import type { RunOptions } from "./launch.js"
import { currentWorkspace } from "./llm.js"
import { ResultCache } from "./policy/cache.js"
import { IdempotencyStore } from "./policy/idempotency.js"
import { ToolLimiter } from "./policy/limiter.js"
import { checkProgramChange, recordedPatches, requireProgram } from "./programChange.js"
import { makeRecorded } from "./recorded.js"
import { endingOf, recordEnding } from "./runEnding.js"
import { RunStore } from "./runStore.js"
import type { RunRecord, RunRecordError } from "./runStore.js"
import { versionChanges, versionRefusal } from "./toolVersions.js"

/** Options of `start`: `RunOptions` plus the workspace the run belongs to. */
export interface StartOptions extends RunOptions {
  /** @default "default" */
  readonly workspace?: string
  /**
   * The run's program and record are already in the store (`record`, when it was accepted): start it without
   * writing them again. Needs `runId`.
   */
  readonly recorded?: boolean
}

/**
 * Runs `effect` (a `start` or `resume`) so that interrupting it leaves the
 * run `running` and resumable instead of cancelling it — for a server that
 * shuts down before its runs finish. Pass your own `control` and set
 * `control.leave = false` before interrupting to cancel the run instead
 * (an explicit cancel).
 */
export const leaveRunning = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  control: StopControl = { leave: true }
): Effect.Effect<A, E, R> => Effect.locally(effect, leaveRunningOnInterrupt, control)

export type { StopControl } from "./interpret.js"
export { signal } from "./wake.js"
export type { SignalOptions, SignalReceipt } from "./wake.js"

/** What durable runs need besides the run services. */
export type DurableRequirements = RunRequirements | RunStore | EventLog

const storeFailed = (runId: string | undefined) => (e: StoreError) =>
  new RunError({
    kind: "StoreUnavailable",
    message: `the store failed (${e.operation}: ${e.message})`,
    ...(runId === undefined ? {} : { runId })
  })

/** The options of a run as JSON (what a resume reuses). */
const optionsJson = (options: RunOptions): Json => {
  const { runId: _r, ...rest } = options
  return JSON.parse(JSON.stringify(rest)) as Json
}

/** The options a record was started with. */
const optionsOf = (record: RunRecord): RunOptions => {
  const o = record.options
  const base = typeof o === "object" && o !== null && !Array.isArray(o) ? (o as RunOptions) : {}
  return { ...base, runId: record.runId, ...(record.seed === null ? {} : { seed: record.seed }) }
}

/** The error of a run whose last events the store refused for good (it is recorded `failed`). */
const refusedError = (runId: string, e: StoreError) =>
  new RunError({
    kind: "StoreUnavailable",
    message:
      `the run's events could not be recorded (${e.operation}: ${e.message}); the run was stopped and can be resumed`,
    runId
  })

/**
 * Runs `body` and records its ending, whatever it is (also when
 * interrupted), with the summary of the run's events — those of `before`
 * (a resumed run's record) and every batch `body` appends, summarized as
 * they pass, so nothing is read back at the end. When the sink offers
 * `appendClosing`, the run's last batch (its terminal event) is held back
 * and committed with the run's ending, in one write; the run's result is
 * returned only after that commit.
 */
const recorded = (
  runId: string,
  body: Effect.Effect<RunResult, RunError, RunRequirements | EventLog | RunStore>,
  before: ReadonlyArray<RunEvent> = []
) =>
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function*() {
      const sink = yield* EventSink
      const closing = sink.appendClosing
      let summary = summarize(before)
      let refused: StoreError | undefined
      let held: ReadonlyArray<RunEvent> | undefined
      const counting = EventSink.of({
        append: (events) =>
          closing !== undefined && held === undefined && events.length > 0 && isTerminal(events[events.length - 1]!)
            ? Effect.sync(() => {
              held = events
            })
            : sink.append(events).pipe(
              Effect.tap(() => {
                summary = combineSummaries(summary, summarize(events))
              }),
              Effect.tapError((e) =>
                Effect.sync(() => {
                  if (e.permanent === true) refused ??= e
                })
              )
            )
      })
      const exit = yield* Effect.exit(restore(Effect.provideService(body, EventSink, counting)))
      if (held === undefined || closing === undefined) {
        yield* recordEnding(runId, exit, summary, refused).pipe(Effect.mapError(storeFailed(runId)))
        return yield* exit
      }
      const last = held
      const endedAt = yield* Clock.currentTimeMillis
      const ending = yield* endingOf(exit, combineSummaries(summary, summarize(last)), endedAt, undefined)
      if (ending?._tag !== "Finish") {
        // Not a finished run after all: its last events go as any batch, then its ending.
        yield* sink.append(last).pipe(Effect.mapError(storeFailed(runId)))
        yield* recordEnding(runId, exit, combineSummaries(summary, summarize(last))).pipe(
          Effect.mapError(storeFailed(runId))
        )
        return yield* exit
      }
      const written = yield* Effect.either(closing(last, { runId, ...ending.ending }))
      if (Either.isRight(written)) return yield* exit
      const e = written.left
      if (e.permanent !== true) return yield* Effect.fail(storeFailed(runId)(e))
      // Refused for good: the run fails visibly, without its last batch (as when any batch is refused).
      yield* recordEnding(runId, exit, summary, e).pipe(Effect.mapError(storeFailed(runId)))
      return yield* Effect.fail(refusedError(runId, e))
    })
  )

/**
 * Runs a program durably: keeps the program, records the run, runs it,
 * records how it ended. Inputs are checked before anything is recorded.
 */
/** The JSON of each program a run started with (programs are immutable values: encoded once, not per run). */
const programJsons = new WeakMap<Program, Json>()
const programJson = (program: Program): Json => {
  let json = programJsons.get(program)
  if (json === undefined) {
    json = JSON.parse(encodeProgram(program)) as Json
    programJsons.set(program, json)
  }
  return json
}

/** The plan of `program` with `inputs` bound to its parameters, or the run's error. */
const planRun = (program: Program, inputs: { readonly [name: string]: Json }) =>
  Effect.gen(function*() {
    const planned = plan(program)
    if (Either.isLeft(planned)) return yield* Effect.fail(planned.left)
    const p = planned.right
    const bound = bindParams(p.entry.params, inputs, `program "${p.entry.name}"`)
    if (Either.isLeft(bound)) return yield* Effect.fail(new RunError({ kind: "InvalidInput", message: bound.left }))
    return p
  })

/**
 * Writes a run's program and its record (status `running`, no events yet) without starting it: a run accepted now
 * and started later (`start` with `recorded: true`) is in the store from the moment it was accepted, so a crash in
 * between leaves it `running` and the next start resumes it (from its first step) instead of losing it.
 */
export const record = (
  program: Program,
  inputs: { readonly [name: string]: Json },
  options: StartOptions & { readonly runId: string }
): Effect.Effect<void, RunError, RunStore> =>
  Effect.gen(function*() {
    const p = yield* planRun(program, inputs)
    const store = yield* RunStore
    const now = yield* Clock.currentTimeMillis
    const { recorded: _recorded, workspace, ...runOptions } = options
    // The program, then the run record: a store skips a program it already holds (no round trip), so running
    // the two in parallel would cost two fibers per run to save one round trip on a program's first run.
    yield* store.putProgram(p.hash, programJson(p.program)).pipe(
      Effect.zipRight(store.create({
        runId: options.runId,
        workspace: workspace ?? "default",
        programHash: p.hash,
        programName: p.entry.name,
        status: "running",
        inputs: inputs as Json,
        seed: options.seed ?? null,
        options: optionsJson(runOptions),
        createdAt: now,
        updatedAt: now,
        endedAt: null,
        state: {}
      })),
      Effect.mapError(storeFailed(options.runId))
    )
  })

export const start = (
  program: Program,
  inputs: { readonly [name: string]: Json } = {},
  options: StartOptions = {}
): Effect.Effect<RunResult, RunError, DurableRequirements> =>
  Effect.gen(function*() {
    const p = yield* planRun(program, inputs)
    const runId = options.runId ??
      (options.seed === undefined ? yield* makeRunId : yield* Effect.withRandom(makeRunId, Random.make(options.seed)))
    const { recorded: alreadyRecorded, workspace, ...runOptions } = options
    const ws = workspace ?? "default"
    yield* Effect.annotateCurrentSpan({
      "trellis.run_id": runId,
      "trellis.program": p.entry.name,
      "trellis.program_hash": p.hash,
      "trellis.workspace": ws
    })
    if (alreadyRecorded !== true) yield* record(program, inputs, { ...options, runId })
    return yield* recorded(runId, runWith(p, inputs, { ...runOptions, runId }, undefined)).pipe(
      Effect.annotateLogs({ runId, workspace: ws }),
      Effect.locally(currentWorkspace, ws)
    )
  }).pipe(Effect.withSpan("run", { attributes: { "trellis.mode": "live" }, captureStackTrace: false }))

/** The program a run ran, from the store. */
const programOf = (record: RunRecord) =>
  requireProgram(record.runId, record.programHash, `the store has no program ${record.programHash}`)

/** Fails (`InvalidProgram`, naming tool and versions) when a tool the run was recorded with changed incompatibly. */
const pinnedTools = (runId: string, events: ReadonlyArray<RunEvent>) =>
  Effect.flatMap(ToolRegistry, (registry) => {
    const refusal = versionRefusal(runId, versionChanges(events, registry))
    return refusal === undefined
      ? Effect.void
      : Effect.fail(new RunError({ kind: "InvalidProgram", message: refusal, runId }))
  })

/** A run's record, or `NotFound`. */
export const getRun = (runId: string, workspace?: string) =>
  Effect.flatMap(RunStore, (store) => store.get(runId, workspace)).pipe(
    Effect.mapError(storeFailed(runId)),
    Effect.flatMap(Option.match({
      onNone: () => Effect.fail(new RunError({ kind: "NotFound", message: `no run ${runId}`, runId })),
      onSome: Effect.succeed
    }))
  )

/** A run's recorded events. */
export const eventsOf = (runId: string) =>
  Effect.flatMap(EventLog, (log) => log.events(runId)).pipe(Effect.mapError(storeFailed(runId)))

/**
 * Resumes a run left `running` (its process died): same program, inputs,
 * seed and options; completed work restored from its events, in-flight
 * calls run again with the same idempotency keys. A run whose terminal
 * event was recorded but whose record was not updated is just closed.
 */
export const resume = (
  runId: string,
  options: {
    readonly allowVersionChange?: boolean
    /**
     * Goes on with this program instead of the run's own: it must specialize to the program the run
     * executed (a change guarded by `patched` markers, docs/history.md) unless `allowProgramChange`.
     */
    readonly program?: Program
    readonly allowProgramChange?: boolean
  } = {}
): Effect.Effect<RunResult, RunError, DurableRequirements> =>
  Effect.gen(function*() {
    const record = yield* getRun(runId)
    if (record.status !== "running" && record.status !== "waiting") {
      return yield* Effect.fail(
        new RunError({
          kind: "InvalidInput",
          message: `run ${runId} is ${record.status}; only running and waiting runs resume`,
          runId
        })
      )
    }
    const program = options.program ?? (yield* programOf(record))
    const events = yield* eventsOf(runId)
    const last = events[events.length - 1]
    if (
      last !== undefined && (last.type === "RunCompleted" || last.type === "RunFailed" || last.type === "RunCancelled")
    ) {
      const exit: Exit.Exit<RunResult, RunError> = last.type === "RunCompleted"
        ? Exit.succeed({ runId, status: "completed", output: last.data.output as Json })
        : last.type === "RunFailed"
        ? Exit.fail(
          new RunError({
            kind: last.data.errorKind,
            message: last.data.message,
            runId,
            ...(last.data.failedNode === undefined ? {} : { node: last.data.failedNode })
          })
        )
        : Exit.interrupt(FiberId.none)
      yield* recordEnding(runId, exit, summarize(events)).pipe(Effect.mapError(storeFailed(runId)))
      return yield* exit
    }
    if (options.allowVersionChange !== true) yield* pinnedTools(runId, events)
    const allow = options.allowProgramChange === true
    if (options.program !== undefined) {
      yield* checkProgramChange(runId, program, record.programHash, recordedPatches(events), allow)
    }
    const store = yield* RunStore
    yield* store.reopen(runId, yield* Clock.currentTimeMillis).pipe(Effect.mapError(storeFailed(runId)))
    const inputs = (record.inputs ?? {}) as { readonly [name: string]: Json }
    yield* Effect.annotateCurrentSpan({
      "trellis.run_id": runId,
      "trellis.program": record.programName,
      "trellis.program_hash": record.programHash,
      "trellis.workspace": record.workspace
    })
    return yield* recorded(
      runId,
      runWith(program, inputs, optionsOf(record), { record: makeRecorded("resume", events), events }),
      events
    )
      .pipe(
        Effect.annotateLogs({ runId, workspace: record.workspace }),
        Effect.locally(currentWorkspace, record.workspace)
      )
  }).pipe(Effect.withSpan("run", { attributes: { "trellis.mode": "resume" }, captureStackTrace: false }))

/** What `resumeAll` did for one run. */
export interface Resumed {
  readonly runId: string
  readonly exit: Exit.Exit<RunResult, RunError>
}

/** Resumes every run left `running` (oldest first, `concurrency` at a time). */
export const resumeAll = (
  options: { readonly workspace?: string; readonly concurrency?: number } = {}
): Effect.Effect<ReadonlyArray<Resumed>, RunError, DurableRequirements> =>
  Effect.gen(function*() {
    const store = yield* RunStore
    const ids: Array<string> = []
    let cursor: string | undefined
    do {
      const page = yield* store.list({
        status: "running",
        limit: 1000,
        ...(options.workspace === undefined ? {} : { workspace: options.workspace }),
        ...(cursor === undefined ? {} : { cursor })
      }).pipe(Effect.mapError(storeFailed(undefined)))
      for (const r of page.runs) ids.push(r.runId)
      cursor = page.next
    } while (cursor !== undefined)
    ids.reverse()
    return yield* Effect.forEach(ids, (runId) => Effect.map(Effect.exit(resume(runId)), (exit) => ({ runId, exit })), {
      concurrency: options.concurrency ?? 4
    })
  })

/** The report of a replay. */
export interface ReplayReport {
  readonly runId: string
  /** True when the replay produced exactly the recorded events (canonically). */
  readonly exact: boolean
  readonly divergence: Divergence | undefined
  /** How the replay ended. */
  readonly status: "completed" | "failed" | "cancelled"
  readonly output?: Json
  readonly error?: RunRecordError
  /** Events recorded and replayed. */
  readonly recordedEvents: number
  readonly replayedEvents: number
}

/** What to replay: a stored run, or a trace (its events and the program it ran). */
export type ReplaySource =
  | { readonly _tag: "Stored"; readonly runId: string }
  | { readonly _tag: "Trace"; readonly events: ReadonlyArray<RunEvent>; readonly program: Program | undefined }

/**
 * Replays a recorded run: the program re-executes with every tool call
 * answered from the record (`live`: the real tools run again) and every
 * choice as recorded, into a separate in-memory log (the store is not
 * touched); the replayed events are compared with the record. Fails only
 * when the replay cannot start (unknown run, no program, a record without
 * its inputs).
 */
export const replay = (
  source: ReplaySource,
  options: {
    readonly live?: boolean
    readonly allowVersionChange?: boolean
    /** Replays a stored run with this program instead of its own (a trace: give the program beside it). */
    readonly program?: Program
    /**
     * Replays with a program given in place of the recorded one even when it does not specialize to the
     * program the run executed (`patched` markers, docs/history.md): the events are compared all the same.
     */
    readonly allowProgramChange?: boolean
  } = {}
): Effect.Effect<ReplayReport, RunError, ToolRegistry | RunStore | EventLog> =>
  Effect.gen(function*() {
    const events = source._tag === "Stored" ? yield* eventsOf(source.runId) : source.events
    const first = events[0]
    const runId = source._tag === "Stored" ? source.runId : first?.runId ?? "(empty trace)"
    if (first !== undefined && first.seq > 0) {
      return yield* Effect.fail(
        new RunError({
          kind: "InvalidInput",
          message: `run ${runId} was compacted: its events before seq ${first.seq} were dropped by retention ` +
            `(its summary, output and last events are kept), so it cannot be replayed`,
          runId
        })
      )
    }
    if (first === undefined || first.type !== "RunStarted") {
      return yield* Effect.fail(
        new RunError({
          kind: "InvalidInput",
          message: `the record of run ${runId} does not start with RunStarted`,
          runId
        })
      )
    }
    const started = first.data
    if (options.allowVersionChange !== true) yield* pinnedTools(runId, events)
    const integrity = recordIntegrity(events)
    const base = { runId, recordedEvents: events.length }
    if (integrity !== undefined) {
      return {
        ...base,
        exact: false,
        divergence: integrity,
        status: "failed",
        replayedEvents: 0
      } satisfies ReplayReport
    }
    const given = source._tag === "Trace" ? source.program : options.program
    const program = given ??
      (yield* requireProgram(
        runId,
        started.programHash,
        `no program ${started.programHash} in the store; give the program file`
      ))
    const planned = plan(program)
    if (Either.isLeft(planned)) return yield* Effect.fail(planned.left)
    const changed = planned.right.hash !== started.programHash
    if (changed) {
      const patches = new Set(started.patches ?? [])
      yield* checkProgramChange(runId, program, started.programHash, patches, options.allowProgramChange === true)
    }
    if (started.inputs === undefined) {
      return yield* Effect.fail(
        new RunError({ kind: "InvalidInput", message: `the record of run ${runId} lacks its inputs`, runId })
      )
    }
    const record = makeRecorded(options.live === true ? "live" : "replay", events)
    const runOptions: RunOptions = {
      runId,
      ...(started.seed === null ? {} : { seed: started.seed }),
      ...(source._tag === "Stored" ? optionsOf(yield* getRun(runId)) : {})
    }
    // Replays run on fresh in-memory services: the store's records are neither read nor written.
    const fresh = Layer.mergeAll(
      EventSink.layerMemory,
      IdempotencyStore.layerMemory,
      ResultCache.layerMemory,
      PolicyStore.layerMemory,
      ToolLimiter.layer
    )
    const outcome = yield* Effect.gen(function*() {
      const exit = yield* Effect.exit(
        runWith(planned.right, started.inputs as { readonly [name: string]: Json }, runOptions, { record, events: [] })
      )
      const replayed = yield* Effect.orDie(Effect.flatMap(EventLog, (log) => log.events(runId)))
      return { exit, replayed }
    }).pipe(Effect.provide(fresh))
    const replayed = outcome.replayed
    const divergence = firstDivergence(events, replayed, { delays: started.seed !== null, programHash: !changed })
    const exit = outcome.exit
    const ending = Exit.isSuccess(exit)
      ? { status: "completed" as const, output: exit.value.output }
      : Cause.isInterruptedOnly(exit.cause)
      ? { status: "cancelled" as const }
      : (() => {
        const f = Cause.failureOption(exit.cause)
        const e = Option.getOrUndefined(f)
        return {
          status: "failed" as const,
          error: e === undefined
            ? { kind: "Defect", message: "the replay died" }
            : { kind: e.kind, message: e.message, ...(e.node === undefined ? {} : { node: e.node }) }
        }
      })()
    return {
      ...base,
      ...ending,
      exact: divergence === undefined,
      divergence,
      replayedEvents: replayed.length
    } satisfies ReplayReport
  })
