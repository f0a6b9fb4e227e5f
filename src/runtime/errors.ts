/**
 * Errors of runs: `RunError`, what `Runtime.run` fails with, and the
 * mapping of anything a node can end with (a taxonomy error, a defect, an
 * interruption, an evaluation error) onto the taxonomy.
 */
import { Cause, Schema } from "effect"
import { ErrorKind } from "../ir/schema.js"
import { Cancelled, Defect, isToolError, Permanent } from "../tools/errors.js"
import type { ToolError } from "../tools/errors.js"

/**
 * Why a run did not complete: an error kind of the taxonomy; `InvalidInput` /
 * `InvalidProgram` for runs that never started; `StoreUnavailable` when its
 * events could not be recorded (the run stays resumable); `NotFound` for an
 * unknown run id (resume, replay).
 */
export const RunErrorKind = Schema.Union(
  ErrorKind,
  Schema.Literal("InvalidInput", "InvalidProgram", "StoreUnavailable", "NotFound")
)
/** The kind of a `RunError`. */
export type RunErrorKind = typeof RunErrorKind.Type

/** A run that did not complete: the error kind, a message, and the path of the node that failed (when one did). */
export class RunError extends Schema.TaggedError<RunError>()("RunError", {
  kind: RunErrorKind,
  message: Schema.String,
  node: Schema.optionalWith(Schema.String, { exact: true }),
  runId: Schema.optionalWith(Schema.String, { exact: true })
}) {}

/** The message of an unknown thrown value. */
export const describe = (u: unknown): string =>
  u instanceof Error ? u.message : typeof u === "string" ? u : (() => {
    try {
      return JSON.stringify(u) ?? String(u)
    } catch {
      return String(u)
    }
  })()

/** Maps the cause of a failed node effect onto the taxonomy: its ToolError, a defect → `Defect`, interruption → `Cancelled`. */
export const toToolError = (cause: Cause.Cause<unknown>, what: string): ToolError => {
  const failure = Cause.failureOption(cause)
  if (failure._tag === "Some") {
    const e = failure.value
    if (isToolError(e)) return e
    return new Permanent({ message: `${what} failed: ${describe(e)}` })
  }
  if (Cause.isInterruptedOnly(cause)) return new Cancelled({ message: `${what} was interrupted` })
  const defect = Cause.squash(cause)
  if (isToolError(defect)) return defect
  return new Defect({ message: `${what} died: ${describe(defect)}` })
}
