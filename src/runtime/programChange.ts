/**
 * The program a recorded run goes on with (resume, replay): its own, read from the store by the hash its
 * record names, or one given in its place — accepted when it is the same program or specializes to the
 * program the run executed (`changeRefusal`, specialize.ts), or when the caller allows any change.
 */
import { Effect, Either, Option } from "effect"
import { decodeProgram } from "../ir/json.js"
import type { Program } from "../ir/schema.js"
import type { StoreError } from "../trace/errors.js"
import type { RunEvent } from "../trace/events.js"
import { RunError } from "./errors.js"
import { RunStore } from "./runStore.js"
import { changeRefusal } from "./specialize.js"

const failed = (runId: string) => (e: StoreError) =>
  new RunError({ kind: "StoreUnavailable", message: `the store failed (${e.operation}: ${e.message})`, runId })

/** The program the store keeps under `hash`, decoded; none when the store does not have it. */
export const storedProgram = (
  runId: string,
  hash: string
): Effect.Effect<Option.Option<Program>, RunError, RunStore> =>
  Effect.gen(function*() {
    const store = yield* RunStore
    const json = yield* store.getProgram(hash).pipe(Effect.mapError(failed(runId)))
    if (Option.isNone(json)) return Option.none()
    const decoded = decodeProgram(json.value)
    if (Either.isLeft(decoded)) {
      return yield* Effect.fail(
        new RunError({ kind: "InvalidProgram", message: `stored program ${hash}: ${decoded.left.message}`, runId })
      )
    }
    return Option.some(decoded.right)
  })

/** The program the store keeps under `hash`, or `InvalidProgram` saying it has none (`missing`). */
export const requireProgram = (runId: string, hash: string, missing: string) =>
  Effect.flatMap(
    storedProgram(runId, hash),
    Option.match({
      onNone: () => Effect.fail(new RunError({ kind: "InvalidProgram", message: missing, runId })),
      onSome: Effect.succeed
    })
  )

/** The patch ids a record's first `RunStarted` holds. */
export const recordedPatches = (events: ReadonlyArray<RunEvent>): ReadonlySet<string> => {
  const first = events[0]
  return new Set(first !== undefined && first.type === "RunStarted" ? first.data.patches ?? [] : [])
}

/**
 * Checks `given`, a program to go on with run `runId` recorded with program `recordedHash` and patch ids
 * `patches`: fails with `InvalidProgram` (the message says why, see `changeRefusal`) unless it may, or
 * `allow` says to go on anyway.
 */
export const checkProgramChange = (
  runId: string,
  given: Program,
  recordedHash: string,
  patches: ReadonlySet<string>,
  allow: boolean
): Effect.Effect<void, RunError, RunStore> =>
  Effect.gen(function*() {
    if (allow) return
    const recorded = yield* storedProgram(runId, recordedHash)
    const refusal = changeRefusal(runId, given, recordedHash, Option.getOrUndefined(recorded), patches)
    if (refusal !== undefined) {
      return yield* Effect.fail(new RunError({ kind: "InvalidProgram", message: refusal, runId }))
    }
  })
