/** `std.fail(kind, message)`: fails with an error of the given kind (for tests and drills). */
import { Effect, Schema } from "effect"
import { ErrorKind } from "../../ir/schema.js"
import { fromKind } from "../errors.js"
import { make } from "../tool.js"

/** Always fails with `kind` and `message` (a `RateLimited` carries the optional `retryAfterMs`). */
export const fail = make({
  name: "std.fail",
  description: "Always fails with an error of the given kind and message.",
  input: Schema.Struct({
    kind: ErrorKind,
    message: Schema.String,
    retryAfterMs: Schema.optional(Schema.Number.pipe(Schema.finite(), Schema.nonNegative()))
  }),
  output: Schema.Never,
  idempotent: true,
  retryable: true,
  handler: (args) => Effect.fail(fromKind(args.kind, args.message, args.retryAfterMs))
})
