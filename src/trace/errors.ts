/**
 * `StoreError`: a store (events, runs, idempotency records, bandit state)
 * could not do what was asked — the database is unreachable, a query
 * failed, a record could not be decoded. The runtime treats a failed event
 * append as the end of the run in this process: the run stays `running` in
 * the store, to be resumed, and nothing acknowledged is lost.
 */
import { Schema } from "effect"

/** A store operation failed; `operation` names it (`append events`, `get run`…). */
export class StoreError extends Schema.TaggedError<StoreError>()("StoreError", {
  operation: Schema.String,
  message: Schema.String,
  /** Set when retrying cannot help: the database refused the data itself (a data exception, a size limit). */
  permanent: Schema.optionalWith(Schema.Boolean, { exact: true })
}) {}
