/**
 * How a durable run's ending is recorded: completed, failed, cancelled, parked on a wait, or left `running` (a
 * shutdown, or a store that failed), with the summary of its events as its state. Used by `durable.ts`.
 */
import { Cause, Clock, Effect, Exit, Option } from "effect"
import type { Json } from "../ir/eval.js"
import type { StoreError } from "../trace/errors.js"
import type { Summary } from "../trace/summary.js"
import type { RunError } from "./errors.js"
import { leavesRunning } from "./interpret.js"
import type { RunResult } from "./interpret.js"
import { RunStore } from "./runStore.js"
import type { RunEnding, RunParking, RunRecordError } from "./runStore.js"

/** A run's ending as `finish` records it, or `undefined` when its record stays as it is. */
export type Ending =
  | { readonly _tag: "Finish"; readonly ending: RunEnding }
  | { readonly _tag: "Park"; readonly parking: RunParking }
  | undefined

/** How a run ended, with the summary of its events as its state. */
export const endingOf = (
  exit: Exit.Exit<RunResult, RunError>,
  summary: Summary,
  endedAt: number,
  refused: StoreError | undefined
): Effect.Effect<Ending> =>
  Effect.gen(function*() {
    const state = summary as unknown as Json
    const finish = (ending: RunEnding): Ending => ({ _tag: "Finish", ending })
    if (refused !== undefined) {
      // The store refused an event for good (issue 14): resuming would fail the same way, so the run fails, visibly.
      return finish({
        status: "failed",
        endedAt,
        error: { kind: "StoreUnavailable", message: `an event of the run could not be recorded: ${refused.message}` },
        state
      })
    }
    if (Exit.isSuccess(exit)) {
      const result = exit.value
      if (result.status === "waiting") {
        // Parked: the earliest deadline of its waits is its timer.
        const deadlines = result.waits.flatMap((w) => (w.deadline === null ? [] : [w.deadline]))
        return {
          _tag: "Park",
          parking: { at: endedAt, wakeAt: deadlines.length === 0 ? null : Math.min(...deadlines), state }
        }
      }
      return finish({ status: "completed", endedAt, output: result.output, state })
    }
    if (Cause.isInterruptedOnly(exit.cause)) {
      // Stopped by a shutdown (see `leaveRunning`): the run stays `running`, to be resumed.
      if (yield* leavesRunning) return undefined
      return finish({
        status: "cancelled",
        endedAt,
        error: { kind: "Cancelled", message: "the run was cancelled" },
        state
      })
    }
    const failure = Cause.failureOption(exit.cause)
    if (Option.isSome(failure) && failure.value.kind === "StoreUnavailable") return undefined
    const error: RunRecordError = Option.isSome(failure)
      ? {
        kind: failure.value.kind,
        message: failure.value.message,
        ...(failure.value.node === undefined ? {} : { node: failure.value.node })
      }
      : { kind: "Defect", message: Cause.pretty(exit.cause).split("\n")[0] ?? "the run died" }
    return finish({ status: "failed", endedAt, error, state })
  })

/** Records how a run ended, with the summary of its events as its state; a run whose events could not be recorded stays `running`. */
export const recordEnding = (
  runId: string,
  exit: Exit.Exit<RunResult, RunError>,
  summary: Summary,
  refused: StoreError | undefined = undefined
) =>
  Effect.gen(function*() {
    const store = yield* RunStore
    const ending = yield* endingOf(exit, summary, yield* Clock.currentTimeMillis, refused)
    if (ending === undefined) return
    if (ending._tag === "Park") return yield* store.park(runId, ending.parking)
    return yield* store.finish(runId, ending.ending)
  })
