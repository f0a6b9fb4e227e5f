/**
 * The one error type of evaluation: `EvalError` with a literal `reason` and,
 * for bad input, where it came from (`d.jsonl:12`, `--metric`, an eval id).
 */
import { Schema } from "effect"

/** Why an evaluation operation failed. */
export const EvalErrorReason = Schema.Literal("dataset", "metric", "not-found", "store", "run", "compare", "gate")
/** The reason of an `EvalError`. */
export type EvalErrorReason = typeof EvalErrorReason.Type

/** An evaluation failure: a reason, a one-line message, and a location when known. */
export class EvalError extends Schema.TaggedError<EvalError>()("EvalError", {
  reason: EvalErrorReason,
  message: Schema.String,
  location: Schema.optionalWith(Schema.String, { exact: true })
}) {
  /** The message prefixed with its location, as the CLI prints it. */
  get display(): string {
    return this.location === undefined ? this.message : `${this.location}: ${this.message}`
  }
}
