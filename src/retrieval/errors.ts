/**
 * The one error type of retrieval: `RetrievalError` with a literal `reason`
 * and, for bad input, the location it came from (`corpus.jsonl:12`).
 */
import { Schema } from "effect"

/** Why a retrieval operation failed. */
export const RetrievalErrorReason = Schema.Literal(
  "bad-input",
  "bad-config",
  "vector-unavailable",
  "embedder",
  "database",
  "data",
  "missing-package"
)
/** The reason of a `RetrievalError`. */
export type RetrievalErrorReason = typeof RetrievalErrorReason.Type

/** A retrieval failure: a reason, a one-line message, and where (a file and line, a field) when known. */
export class RetrievalError extends Schema.TaggedError<RetrievalError>()("RetrievalError", {
  reason: RetrievalErrorReason,
  message: Schema.String,
  location: Schema.optionalWith(Schema.String, { exact: true })
}) {
  /** The message prefixed with its location, as the CLI prints it. */
  get display(): string {
    return this.location === undefined ? this.message : `${this.location}: ${this.message}`
  }
}

/** The exact message of dense or hybrid work on a PostgreSQL server without pgvector. */
export const VECTOR_UNAVAILABLE_MESSAGE =
  "the PostgreSQL server has no pgvector extension (vector); dense and hybrid search need it — use --sparse-only or a server with pgvector"

/** The error of dense or hybrid work on a server without pgvector. */
export const vectorUnavailable = (): RetrievalError =>
  new RetrievalError({ reason: "vector-unavailable", message: VECTOR_UNAVAILABLE_MESSAGE })

/** A database failure, with what was being done. */
export const databaseError = (what: string) => (cause: unknown): RetrievalError =>
  new RetrievalError({
    reason: "database",
    message: `${what}: ${
      cause instanceof Error
        ? cause.message
        : typeof cause === "object" && cause !== null && "message" in cause
        ? String(cause.message)
        : String(cause)
    }`
  })
