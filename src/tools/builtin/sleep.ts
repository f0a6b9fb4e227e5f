/** `std.sleep(ms)`: waits on Effect's Clock (so TestClock controls it). */
import { Duration, Effect, Schema } from "effect"
import { MAX_DURATION_MS } from "../../ir/duration.js"
import { make } from "../tool.js"

/** Waits `ms` milliseconds on the Clock, then returns `null`; interruptible. */
export const sleep = make({
  name: "std.sleep",
  description: "Waits the given number of milliseconds, then returns null.",
  input: Schema.Struct({
    ms: Schema.Number.pipe(Schema.finite(), Schema.nonNegative(), Schema.lessThanOrEqualTo(MAX_DURATION_MS))
      .annotations({
        description: "milliseconds to wait (at most 7 days)"
      })
  }),
  output: Schema.Null,
  idempotent: true,
  handler: (args) => Effect.as(Effect.sleep(Duration.millis(args.ms)), null)
})
