/** The errors of deployments and flags: one tagged error with a literal reason and the offending field. */
import { Data } from "effect"

/** Why a deployment operation was refused. */
export class RolloutError extends Data.TaggedError("RolloutError")<{
  readonly reason: "not-found" | "invalid" | "conflict" | "refused" | "store"
  readonly message: string
  /** The field or name the error is about (`percent`, `candidate`, a deployment name). */
  readonly location?: string
}> {}
