/**
 * How SQL failures become `StoreError`s: every operation of the store names
 * itself (`append events`, `create run`…), and the database's own words
 * (PostgreSQL's message and detail) say what went wrong. Also the retry
 * policy of the services whose signatures cannot fail (idempotency records,
 * bandit state): retry briefly, then die with a clear message.
 */
import type { SqlError } from "@effect/sql/SqlError"
import { Duration, Effect, Schedule } from "effect"
import { StoreError } from "../trace/errors.js"

/** The PostgreSQL error fields we read from a driver error. */
interface PgErrorFields {
  readonly code?: unknown
  readonly detail?: unknown
  readonly message?: unknown
}

const pgFields = (cause: unknown): PgErrorFields =>
  typeof cause === "object" && cause !== null ? (cause as PgErrorFields) : {}

/** The SQLSTATE of a failed statement (`23505` unique violation…), if the driver gave one. */
const sqlState = (error: SqlError): string | undefined => {
  const code = pgFields(error.cause).code
  return typeof code === "string" ? code : undefined
}

/** Whether a statement failed on a unique constraint (SQLSTATE 23505). */
export const isUniqueViolation = (error: SqlError): boolean => sqlState(error) === "23505"

/** The database's description of a failure: its message, plus its detail when it has one. */
export const describe = (error: SqlError): string => {
  const { detail, message } = pgFields(error.cause)
  const base = typeof message === "string" && message !== "" ? message : error.message
  return typeof detail === "string" && detail !== "" ? `${base} (${detail})` : base
}

/** A `StoreError` for `operation` from a SQL failure. */
export const toStoreError = (operation: string) => (error: SqlError): StoreError => {
  const state = sqlState(error)
  // Class 22 (data exception: e.g. an unsupported Unicode escape) and 54 (program limit exceeded) never go away.
  const permanent = state !== undefined && (state.startsWith("22") || state.startsWith("54"))
  return new StoreError({ operation, message: describe(error), ...(permanent ? { permanent } : {}) })
}

/** Runs a SQL effect, turning its `SqlError` into a `StoreError` naming `operation`. */
export const storeOp = <A, R>(
  operation: string,
  effect: Effect.Effect<A, SqlError, R>
): Effect.Effect<A, StoreError, R> => Effect.mapError(effect, toStoreError(operation))

/** Retries of an operation whose signature cannot fail: 5 more tries, 20 ms doubling (≈ 0.6 s in all). */
const infallibleRetry = Schedule.exponential(Duration.millis(20), 2).pipe(Schedule.intersect(Schedule.recurs(5)))

/**
 * Runs a store operation whose service signature has no error channel:
 * retried briefly (`infallibleRetry`), then a defect with a clear message
 * (the runtime reports defects as `Defect`).
 */
export const orDieAfterRetries = <A, R>(
  operation: string,
  effect: Effect.Effect<A, StoreError, R>
): Effect.Effect<A, never, R> =>
  effect.pipe(
    Effect.retry(infallibleRetry),
    Effect.orDieWith((e) => new Error(`store: ${operation} failed after retries: ${e.message}`))
  )
