/**
 * The error taxonomy of tools (SPEC §3). Every failure of a tool call is one
 * of these nine tagged errors; they are Schema classes so they can be
 * recorded in a trace and sent over the wire.
 */
import { Schema } from "effect"
import type { ErrorKind } from "../ir/schema.js"

/** The call did not finish in time. Retried by default. */
export class Timeout extends Schema.TaggedError<Timeout>()("Timeout", {
  message: Schema.String
}) {}

/** The tool (or its upstream) refused for now; `retryAfterMs` is the earliest sensible retry. Retried by default. */
export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {
  message: Schema.String,
  retryAfterMs: Schema.optional(Schema.Number)
}) {}

/** A failure that may go away on its own (network error, 5xx). Retried by default. */
export class Transient extends Schema.TaggedError<Transient>()("Transient", {
  message: Schema.String
}) {}

/** A failure that will recur with the same arguments (bad args, 4xx). Never retried by default. */
export class Permanent extends Schema.TaggedError<Permanent>()("Permanent", {
  message: Schema.String
}) {}

/** The call was cancelled (the run or node was interrupted). */
export class Cancelled extends Schema.TaggedError<Cancelled>()("Cancelled", {
  message: Schema.String
}) {}

/** A cost or token budget was exceeded. */
export class BudgetExceeded extends Schema.TaggedError<BudgetExceeded>()("BudgetExceeded", {
  message: Schema.String
}) {}

/**
 * A per-run resource limit was reached: the run's evaluation work (nodes executed), the size of a value it
 * built, or its wall time (server limits `maxRunNodes`, value size, `maxRunMs`). Never retried by default.
 */
export class ResourceExhausted extends Schema.TaggedError<ResourceExhausted>()("ResourceExhausted", {
  message: Schema.String
}) {}

/**
 * The tool's (or LLM provider's) circuit breaker is open: the call was not made. `retryAfterMs` is when the
 * breaker lets a probe through. Not retried by default (list it in a retry policy's `on` to wait it out).
 */
export class CircuitOpen extends Schema.TaggedError<CircuitOpen>()("CircuitOpen", {
  message: Schema.String,
  retryAfterMs: Schema.optional(Schema.Number)
}) {}

/** A bug: the tool threw, died, or broke its own contract (e.g. returned output its Schema rejects). */
export class Defect extends Schema.TaggedError<Defect>()("Defect", {
  message: Schema.String
}) {}

/** Any error of the taxonomy. */
export type ToolError =
  | Timeout
  | RateLimited
  | Transient
  | Permanent
  | Cancelled
  | BudgetExceeded
  | ResourceExhausted
  | CircuitOpen
  | Defect

/** The Schema of any taxonomy error (a union of the nine classes). */
export const ToolError = Schema.Union(
  Timeout,
  RateLimited,
  Transient,
  Permanent,
  Cancelled,
  BudgetExceeded,
  ResourceExhausted,
  CircuitOpen,
  Defect
)

/** The kind of an error of the taxonomy (its tag). */
export const errorKind = (e: ToolError): ErrorKind => e._tag

/** The kinds retried when a retry policy does not list its own `on`. */
export const DEFAULT_RETRY_ON: ReadonlyArray<ErrorKind> = ["Timeout", "RateLimited", "Transient"]

const TAGS: ReadonlySet<string> = new Set<ErrorKind>([
  "Timeout",
  "RateLimited",
  "Transient",
  "Permanent",
  "Cancelled",
  "BudgetExceeded",
  "ResourceExhausted",
  "CircuitOpen",
  "Defect"
])

/** Whether a value is an error of the taxonomy. */
export const isToolError = (u: unknown): u is ToolError =>
  typeof u === "object" && u !== null && "_tag" in u && typeof u._tag === "string" && TAGS.has(u._tag) &&
  "message" in u && typeof u.message === "string"

/** Builds an error of the given kind (used by `std.fail` and when decoding recorded kinds). */
export const fromKind = (kind: ErrorKind, message: string, retryAfterMs?: number): ToolError => {
  switch (kind) {
    case "Timeout":
      return new Timeout({ message })
    case "RateLimited":
      return retryAfterMs === undefined ? new RateLimited({ message }) : new RateLimited({ message, retryAfterMs })
    case "Transient":
      return new Transient({ message })
    case "Permanent":
      return new Permanent({ message })
    case "Cancelled":
      return new Cancelled({ message })
    case "BudgetExceeded":
      return new BudgetExceeded({ message })
    case "ResourceExhausted":
      return new ResourceExhausted({ message })
    case "CircuitOpen":
      return retryAfterMs === undefined ? new CircuitOpen({ message }) : new CircuitOpen({ message, retryAfterMs })
    case "Defect":
      return new Defect({ message })
  }
}
