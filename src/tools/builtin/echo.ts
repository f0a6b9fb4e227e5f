/** `std.echo(value)`: returns its argument unchanged. */
import { Effect, Schema } from "effect"
import { make } from "../tool.js"

/** Returns `value` as given; idempotent, useful for wiring and tests. */
export const echo = make({
  name: "std.echo",
  description: "Returns its argument unchanged.",
  input: Schema.Struct({ value: Schema.Unknown }),
  output: Schema.Unknown,
  idempotent: true,
  handler: (args) => Effect.succeed(args.value)
})
