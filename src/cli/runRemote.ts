/**
 * `trellis run` beside a server that holds the store (see `remote.ts`): the
 * checked program is submitted to `POST /v1/runs` (with an Idempotency-Key,
 * so a retried submission is one run), its events are followed over SSE
 * (progress lines and `--events` as in a direct run), and its end is read
 * back from `GET /v1/runs/:id`. What it returns is what `run.ts` reports,
 * the same way for both paths. Ctrl-C cancels the run on the server.
 */
import { Duration, Effect, Either } from "effect"
import type { Json } from "../ir/eval.js"
import { encodeProgram } from "../ir/json.js"
import type { Program } from "../ir/schema.js"
import { bindParams } from "../runtime/inputs.js"
import { plan } from "../runtime/runtime.js"
import type { RunEvent } from "../trace/events.js"
import { followEvents } from "./durableRemote.js"
import { err } from "./io.js"
import type { CliError } from "./io.js"
import { failure, holderOf } from "./remote.js"
import type { Remote } from "./remote.js"
import { formatDiagnostics } from "./report.js"

/** How a run ended, whichever path ran it. */
export type RunOutcome =
  | { readonly _tag: "Completed"; readonly runId: string; readonly output: Json }
  | {
    readonly _tag: "Failed"
    readonly runId: string | undefined
    readonly kind: string
    readonly message: string
    readonly node?: string | undefined
  }
  | { readonly _tag: "Cancelled"; readonly runId: string }
  /** The run could not be started: a program or inputs refused, or no store to record it in. */
  | { readonly _tag: "Refused"; readonly kind: string; readonly message: string }

/** What `trellis run` submits and how it follows the run. */
export interface RunRequest {
  /** The file name diagnostics are reported under. */
  readonly file: string
  readonly program: Program
  readonly inputs: { readonly [name: string]: Json }
  readonly seed: number | undefined
  /** Called with each event as it arrives (the `--events` file, progress lines). */
  readonly onEvent: (e: RunEvent) => Effect.Effect<void>
  /** Called with the run id once the server accepted the run. */
  readonly onAccepted: (runId: string) => void
}

/** How long a full queue (429) is waited out before giving up. */
const QUEUE_PATIENCE = Duration.minutes(1)

/** Checks inputs here, as a direct run does before recording anything: the same `InvalidInput` message. */
const inputProblem = (program: Program, inputs: RunRequest["inputs"]): RunOutcome | undefined => {
  const planned = plan(program)
  if (Either.isLeft(planned)) {
    return { _tag: "Failed", runId: undefined, kind: planned.left.kind, message: planned.left.message }
  }
  const p = planned.right
  const bound = bindParams(p.entry.params, inputs, `program "${p.entry.name}"`)
  return Either.isLeft(bound)
    ? { _tag: "Failed", runId: undefined, kind: "InvalidInput", message: bound.left }
    : undefined
}

/** Submits the run, waiting out a full queue (429, `Retry-After`) for up to a minute. */
const submit = (remote: Remote, request: RunRequest): Effect.Effect<string | RunOutcome, CliError> =>
  Effect.gen(function*() {
    const payload = {
      program: JSON.parse(encodeProgram(request.program)) as unknown,
      inputs: request.inputs,
      ...(request.seed === undefined ? {} : { seed: request.seed })
    }
    const headers = { "idempotency-key": `trellis-cli-${crypto.randomUUID()}` }
    const until = Date.now() + Duration.toMillis(QUEUE_PATIENCE)
    for (;;) {
      const answer = yield* Effect.either(remote.api.runs.create({ payload, headers }))
      if (Either.isRight(answer)) return answer.right.runId
      const e = answer.left
      switch (e._tag) {
        case "TooManyRequests":
          if (Date.now() < until) {
            yield* Effect.sleep(Duration.seconds(Math.max(1, e.retryAfter)))
            continue
          }
          return { _tag: "Refused", kind: "StoreUnavailable", message: `${holderOf(remote)}: ${e.message}` }
        case "BadRequest": {
          const violations = e.violations ?? []
          if (violations.length > 0) yield* err(formatDiagnostics(request.file, violations))
          return {
            _tag: "Refused",
            kind: "InvalidProgram",
            message: violations.length > 0
              ? `${request.file}: ${violations.length} problem${violations.length === 1 ? "" : "s"} with the tools of ${
                holderOf(remote)
              } (trellis serve --tools)`
              : `${holderOf(remote)} refused the run: ${e.message}`
          }
        }
        case "Unavailable":
        case "Conflict":
          return { _tag: "Refused", kind: "StoreUnavailable", message: `${holderOf(remote)}: ${e.message}` }
        default:
          return yield* failure(remote, e)
      }
    }
  })

/** Cancels the run on the server (Ctrl-C), best effort and bounded. */
const cancel = (remote: Remote, runId: string): Effect.Effect<void> =>
  remote.api.runs.cancel({ path: { id: runId } }).pipe(Effect.timeout(Duration.seconds(5)), Effect.ignore)

/** Runs a checked program on the server that holds the store; fails only when the server cannot be reached. */
export const runBeside = (remote: Remote, request: RunRequest): Effect.Effect<RunOutcome, CliError> =>
  Effect.gen(function*() {
    const problem = inputProblem(request.program, request.inputs)
    if (problem !== undefined) return problem
    const submitted = yield* submit(remote, request)
    if (typeof submitted !== "string") return submitted
    const runId = submitted
    request.onAccepted(runId)
    const end = yield* followEvents(remote, runId, request.onEvent).pipe(
      Effect.onInterrupt(() => cancel(remote, runId))
    )
    // The outcome is the terminal event's, as when a direct run ends (the run record follows it).
    switch (end.type) {
      case "RunCompleted":
        return { _tag: "Completed", runId, output: end.data.output as Json }
      case "RunFailed":
        return {
          _tag: "Failed",
          runId,
          kind: end.data.errorKind,
          message: end.data.message,
          node: end.data.failedNode
        }
      default:
        return { _tag: "Cancelled", runId }
    }
  })
