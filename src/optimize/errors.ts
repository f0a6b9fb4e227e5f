/** The one error of optimizations and jobs. */
import { Schema } from "effect"

/** Why an optimization failed. */
export const OptimizeErrorReason = Schema.Literal("options", "program", "dataset", "store", "eval", "budget")
export type OptimizeErrorReason = typeof OptimizeErrorReason.Type

/** An optimization failed: why, and where (a file, an option) when known. */
export class OptimizeError extends Schema.TaggedError<OptimizeError>()("OptimizeError", {
  reason: OptimizeErrorReason,
  message: Schema.String,
  location: Schema.optional(Schema.String)
}) {
  /** `message (at location)`. */
  get display(): string {
    return this.location === undefined ? this.message : `${this.message} (at ${this.location})`
  }
}
