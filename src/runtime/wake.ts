/**
 * Sending a signal to a run (SPEC §11), re-exported by `durable.ts` as
 * `Durable.signal`. The run must exist (in the workspace, when given) and
 * not have ended; the signal's name must be one a `wait` of the run's
 * program waits for, and its payload must fit a declared answer type of
 * such a wait. The signal is stored (deduplicated by `signalId`) and
 * buffered until a wait claims it; waking a `waiting` run is the caller's
 * part (`Durable.resume`, or the server's run manager).
 */
import { Clock, Effect, Either, Option, Random } from "effect"
import type { Json } from "../ir/eval.js"
import { decodeProgram } from "../ir/json.js"
import type { Type } from "../ir/schema.js"
import { forEachNode } from "../ir/visit.js"
import { RunError } from "./errors.js"
import { typeProblem } from "./inputs.js"
import { RunStore } from "./runStore.js"
import type { RunRecordStatus } from "./runStore.js"
import { SignalInbox } from "./signals.js"

/** Options of `signal`. */
export interface SignalOptions {
  /** Deduplicates: a second signal with this id changes nothing. @default a new UUID */
  readonly signalId?: string
  /** Only a run of this workspace (another workspace's run is `NotFound`). */
  readonly workspace?: string
}

/** What `signal` did. */
export interface SignalReceipt {
  readonly runId: string
  readonly name: string
  readonly signalId: string
  /** False when a signal with this id had already been received (nothing changed). */
  readonly accepted: boolean
  /** The run's status when the signal arrived (`waiting`: wake it to continue). */
  readonly status: RunRecordStatus
}

const ENDED: ReadonlySet<RunRecordStatus> = new Set(["completed", "failed", "cancelled"])

const newSignalId = Effect.map(
  Effect.all([Random.nextIntBetween(0, 2 ** 30), Random.nextIntBetween(0, 2 ** 30), Clock.currentTimeMillis]),
  ([a, b, t]) => `sig-${t.toString(36)}-${a.toString(36)}${b.toString(36)}`
)

/**
 * Sends signal `name` with `payload` to run `runId`. Fails with `NotFound`
 * (no such run, or not in the workspace), `InvalidInput` (the run has
 * ended — `message` starts with "ended:" —, no wait of its program waits
 * for `name`, or the payload fits no declared answer type).
 */
export const signal = (
  runId: string,
  name: string,
  payload: Json,
  options: SignalOptions = {}
): Effect.Effect<SignalReceipt, RunError, RunStore> =>
  Effect.gen(function*() {
    const store = yield* RunStore
    const failed = (e: { readonly message: string }) =>
      new RunError({ kind: "StoreUnavailable", message: `the store failed: ${e.message}`, runId })
    const record = yield* store.get(runId, options.workspace).pipe(Effect.mapError(failed))
    if (Option.isNone(record)) return yield* new RunError({ kind: "NotFound", message: `no run ${runId}`, runId })
    const run = record.value
    if (ENDED.has(run.status)) {
      return yield* new RunError({ kind: "InvalidInput", message: `ended: run ${runId} is ${run.status}`, runId })
    }
    const json = yield* store.getProgram(run.programHash).pipe(Effect.mapError(failed))
    const program = Option.isNone(json) ? undefined : Either.getOrUndefined(decodeProgram(json.value))
    if (program !== undefined) {
      const answers: Array<Type | undefined> = []
      forEachNode(program, (node) => {
        if (node.kind === "wait" && node.signal === name) answers.push(node.answer)
      })
      if (answers.length === 0) {
        return yield* new RunError({
          kind: "InvalidInput",
          message: `no wait of run ${runId}'s program waits for signal "${name}"`,
          runId
        })
      }
      const problems = answers.map((t) => (t === undefined ? undefined : typeProblem(payload, t, "payload")))
      if (!problems.some((p) => p === undefined)) {
        return yield* new RunError({ kind: "InvalidInput", message: problems[0]!, runId })
      }
    }
    const inbox = yield* SignalInbox
    const signalId = options.signalId ?? (yield* newSignalId)
    const at = yield* Clock.currentTimeMillis
    const accepted = yield* inbox.send({ runId, name, signalId, payload, at }).pipe(Effect.mapError(failed))
    return { runId, name, signalId, accepted, status: run.status }
  })
