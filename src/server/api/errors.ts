/**
 * The typed errors of the HTTP API, each with its status (SPEC §8). Every
 * error body is `{ _tag, message, … }`; none carries a stack trace or a
 * secret. `BadRequest` lists the program's violations when a program was
 * refused. (404 for an unknown path and 405 for another method are answered
 * by `../http.ts` in the same shape.) Request bodies are decoded strictly:
 * a field the schema does not name is a 400.
 */
import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"

/** A request body schema that refuses fields it does not name (as its JSON Schema's `additionalProperties: false` says). */
export const strict = <S extends Schema.Schema.Any>(schema: S): S =>
  schema.annotations({ parseOptions: { onExcessProperty: "error" } }) as S

/** A position in a program's text. */
const Position = Schema.Struct({ line: Schema.Number, column: Schema.Number, offset: Schema.Number })

/** One problem of a program (a `Diagnostic` of `compile.ts`). */
export const Violation = Schema.Struct({
  code: Schema.String,
  message: Schema.String,
  path: Schema.optionalWith(Schema.Array(Schema.Union(Schema.String, Schema.Number)), { exact: true }),
  span: Schema.optionalWith(Schema.Struct({ start: Position, end: Position }), { exact: true }),
  excerpt: Schema.optionalWith(Schema.String, { exact: true })
})
export type Violation = typeof Violation.Type

/** 400: the request is malformed, or its program has violations. */
export class BadRequest extends Schema.TaggedError<BadRequest>()("BadRequest", {
  message: Schema.String,
  violations: Schema.optionalWith(Schema.Array(Violation), { exact: true })
}, HttpApiSchema.annotations({ status: 400 })) {}

/** 401: no valid API key. */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", {
  message: Schema.String
}, HttpApiSchema.annotations({ status: 401 })) {}

/** 404: no such run in this workspace (also for another workspace's runs). */
export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", {
  message: Schema.String
}, HttpApiSchema.annotations({ status: 404 })) {}

/** 409: the Idempotency-Key was used with another body, or the run is in the wrong state. */
export class Conflict extends Schema.TaggedError<Conflict>()("Conflict", {
  message: Schema.String
}, HttpApiSchema.annotations({ status: 409 })) {}

/** 413: the request body is larger than `limits.maxBodyBytes`. */
export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()("PayloadTooLarge", {
  message: Schema.String
}, HttpApiSchema.annotations({ status: 413 })) {}

/** 415: the request body is not JSON (`Content-Type: application/json`). */
export class UnsupportedMediaType extends Schema.TaggedError<UnsupportedMediaType>()("UnsupportedMediaType", {
  message: Schema.String
}, HttpApiSchema.annotations({ status: 415 })) {}

/** 429: the run queue is full or a workspace quota is spent; `retryAfter` seconds (also the `Retry-After` header). */
export class TooManyRequests extends Schema.TaggedError<TooManyRequests>()("TooManyRequests", {
  message: Schema.String,
  retryAfter: Schema.Int
}, HttpApiSchema.annotations({ status: 429 })) {}

/** 503: the store failed or the server is shutting down. */
export class Unavailable extends Schema.TaggedError<Unavailable>()("Unavailable", {
  message: Schema.String
}, HttpApiSchema.annotations({ status: 503 })) {}
