/** `std.echo(value)`: returns its argument unchanged. */
import { Schema } from "effect"
import { make } from "../tool.js"

/** Returns `value` as given; idempotent, useful for wiring and tests. */
export const echo = make({
  name: "std.echo",
  description: "Returns its argument unchanged.",
  input: Schema.Struct({ value: Schema.Unknown }),
  output: Schema.Unknown,
  idempotent: true,
  run: (args) => args.value
})
