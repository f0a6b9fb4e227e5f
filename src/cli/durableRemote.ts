/**
 * `trellis runs`, `runs show`, `trace export` and `replay <run-id>` through
 * the HTTP API of the server that holds the store (see `remote.ts`), with
 * the output and exit codes of the direct commands (`durable.ts`).
 */
import { Chunk, Duration, Effect, Either, Stream } from "effect"
import type { Divergence } from "../runtime/divergence.js"
import type { RunView } from "../server/api/runs.js"
import type { RunEvent } from "../trace/events.js"
import { CliError } from "./io.js"
import { failure, isTerminal, runEvents } from "./remote.js"
import type { Remote } from "./remote.js"

/** What `trellis runs` asks for. */
export interface ListQuery {
  readonly limit: number
  readonly status?: "running" | "waiting" | "completed" | "failed" | "cancelled"
  readonly programHash?: string
  readonly cursor?: string
}

/** The program hashes the API filters on; no recorded hash has another shape. */
const PROGRAM_HASH = /^[A-Za-z0-9:_-]{1,128}$/

/** A page of runs, newest first (queued runs included, as the server lists them). */
export const listRuns = (
  remote: Remote,
  query: ListQuery
): Effect.Effect<{ readonly runs: ReadonlyArray<RunView>; readonly next: string | undefined }, CliError> => {
  if (query.programHash !== undefined && !PROGRAM_HASH.test(query.programHash)) {
    return Effect.succeed({ runs: [], next: undefined })
  }
  return remote.api.runs.list({
    urlParams: {
      limit: query.limit,
      ...(query.status === undefined ? {} : { status: query.status }),
      ...(query.programHash === undefined ? {} : { programHash: query.programHash }),
      ...(query.cursor === undefined ? {} : { cursor: query.cursor })
    }
  }).pipe(
    Effect.map((page) => ({ runs: page.runs, next: page.next })),
    Effect.catchAll((e) =>
      Effect.fail(
        e._tag === "BadRequest" || e._tag === "Unavailable"
          ? new CliError({ message: `cannot list runs: ${e.message}` })
          : failure(remote, e)
      )
    )
  )
}

/** A run's view, or `run <id>: NotFound: no run <id>` as on the store. */
export const getRun = (remote: Remote, runId: string): Effect.Effect<RunView, CliError> =>
  remote.api.runs.get({ path: { id: runId } }).pipe(
    Effect.catchAll((e) =>
      Effect.fail(
        e._tag === "NotFound"
          ? new CliError({ message: `run ${runId}: NotFound: ${e.message}` })
          : e._tag === "Unavailable"
          ? new CliError({ message: `run ${runId}: StoreUnavailable: ${e.message}` })
          : failure(remote, e)
      )
    )
  )

/** The statuses after which a run's log is complete. */
const ENDED = new Set<RunView["status"]>(["completed", "failed", "cancelled"])

/** How long a still-running run's stream may stay silent before what came is taken as its events so far. */
const QUIET = "400 millis"
/** How long the events of a still-running run are read at most. */
const AT_MOST = "3 seconds"

/**
 * The recorded events of a run: all of them for an ended run (its stream
 * ends after the terminal event); for a queued or running one, what the
 * server sends until its stream pauses (the events so far, as on the store).
 */
export const eventsOf = (remote: Remote, run: RunView): Effect.Effect<ReadonlyArray<RunEvent>, CliError> => {
  const stream = runEvents(remote, run.runId, -1)
  const bounded = ENDED.has(run.status) ? stream : stream.pipe(Stream.timeout(QUIET), Stream.haltAfter(AT_MOST))
  return Effect.map(Stream.runCollect(bounded), Chunk.toReadonlyArray)
}

/**
 * Follows a run's events live, from its first event to its terminal one
 * (which it returns), calling `onEvent` for each. A stream that ends or
 * breaks before the terminal event (a busy or restarting server) is resumed
 * after the last event seen (`Last-Event-ID`), up to five times.
 */
export const followEvents = <R>(
  remote: Remote,
  runId: string,
  onEvent: (e: RunEvent) => Effect.Effect<void, never, R>
): Effect.Effect<RunEvent, CliError, R> =>
  Effect.gen(function*() {
    let last: RunEvent | undefined
    const each = (e: RunEvent) => Effect.zipRight(onEvent(e), Effect.sync(() => void (last = e)))
    for (let attempt = 1;; attempt++) {
      const result = yield* Effect.either(Stream.runForEach(runEvents(remote, runId, last?.seq ?? -1), each))
      if (last !== undefined && isTerminal(last)) return last
      if (Either.isLeft(result) && result.left.message.startsWith(`run ${runId}: NotFound:`)) {
        return yield* result.left
      }
      if (attempt >= 5) {
        return yield* Either.isLeft(result) ? result.left : new CliError({
          message: `the event stream of run ${runId} keeps ending before the run does (${remote.address.url})`
        })
      }
      yield* Effect.sleep(Duration.millis(200 * attempt))
    }
  })

/** A replay report as `trellis replay` prints it, from the store or from the server. */
export interface ReplayShown {
  readonly runId: string
  readonly exact: boolean
  readonly divergence?: Divergence | undefined
  readonly status: "completed" | "failed" | "cancelled"
  readonly output?: unknown
  readonly error?: { readonly kind: string; readonly message: string; readonly node?: string } | undefined
  readonly recordedEvents: number
  readonly replayedEvents: number
}

/** A divergence as the API sends it (its absent parts omitted). */
const divergenceOf = (d: unknown): Divergence | undefined => {
  if (typeof d !== "object" || d === null) return undefined
  const r = d as Record<string, unknown>
  const text = (v: unknown) => (typeof v === "string" ? v : undefined)
  return {
    node: text(r["node"]),
    seq: typeof r["seq"] === "number" ? r["seq"] : undefined,
    expected: text(r["expected"]),
    actual: text(r["actual"])
  }
}

/** `POST /v1/runs/:id/replay`: the server replays one of its runs (with its tools), as `trellis replay <id>` does. */
export const replayRun = (
  remote: Remote,
  runId: string,
  live: boolean,
  allowVersionChange = false
): Effect.Effect<ReplayShown, CliError> =>
  remote.api.runs.replay({
    path: { id: runId },
    payload: { ...(live ? { live } : {}), ...(allowVersionChange ? { allowVersionChange } : {}) }
  }).pipe(
    Effect.map((r): ReplayShown => ({ ...r, divergence: divergenceOf(r.divergence) })),
    Effect.catchAll((e) =>
      Effect.fail(
        e._tag === "NotFound"
          ? new CliError({ message: `run ${runId}: NotFound: ${e.message}` })
          : e._tag === "Unavailable"
          ? new CliError({ message: `run ${runId}: StoreUnavailable: ${e.message}` })
          : e._tag === "BadRequest" || e._tag === "Conflict"
          ? new CliError({ message: `run ${runId}: ${e.message}` })
          : failure(remote, e)
      )
    )
  )

/**
 * The program a trace ran, from the server (by the trace's run id), as
 * `{ hash, json }` when the server has that run with that program hash.
 */
export const programOfTrace = (
  remote: Remote,
  events: ReadonlyArray<RunEvent>
): Effect.Effect<{ readonly hash: string; readonly json: unknown } | undefined, CliError> => {
  const first = events[0]
  if (first === undefined || first.type !== "RunStarted") return Effect.succeed(undefined)
  const hash = first.data.programHash
  return remote.api.viewer.runProgram({ path: { id: first.runId } }).pipe(
    Effect.map((p) => (p.programHash === hash ? { hash, json: p.program } : undefined)),
    Effect.catchAll((e) => (e._tag === "NotFound" ? Effect.succeed(undefined) : Effect.fail(failure(remote, e))))
  )
}
