/**
 * Cost and token metering of node calls. The runtime gives each tool or
 * llm call its own meter; a handler reports what it spent with `charge`,
 * and the runtime records it (`ToolReturned.cost`) and charges the
 * budgets of the node and its enclosing scopes.
 */
import { Effect, FiberRef } from "effect"
import { globalValue } from "effect/GlobalValue"

/** What one call spent. */
export interface Usage {
  cost: number
  tokens: number
}

/** The meter of the call being served, if any. */
export const currentMeter: FiberRef.FiberRef<Usage | undefined> = globalValue(
  "trellis/runtime/currentMeter",
  () => FiberRef.unsafeMake<Usage | undefined>(undefined)
)

/** Reports cost and/or tokens spent by the current tool or llm call (a no-op outside one). */
export const charge = (usage: { readonly cost?: number; readonly tokens?: number }): Effect.Effect<void> =>
  FiberRef.getWith(currentMeter, (meter) =>
    meter === undefined
      ? Effect.void
      : Effect.sync(() => {
        const cost = usage.cost ?? 0
        const tokens = usage.tokens ?? 0
        if (Number.isFinite(cost) && cost > 0) meter.cost += cost
        if (Number.isFinite(tokens) && tokens > 0) meter.tokens += tokens
      }))

/** Runs `eff` with `meter` as the current meter. */
export const metered = <A, E, R>(meter: Usage, eff: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.locally(eff, currentMeter, meter)
