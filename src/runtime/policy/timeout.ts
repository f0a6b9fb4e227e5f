/**
 * Timeouts as Effect values: a per-attempt or per-node deadline on the
 * Clock that fails with the taxonomy's `Timeout` and interrupts the
 * timed-out effect (its finalizers run before the failure is reported).
 */
import { Duration, Effect } from "effect"
import { Timeout } from "../../tools/errors.js"

/** The message of a timeout: names what timed out and after how long. */
export const timeoutMessage = (what: string, ms: number): string => `${what} timed out after ${formatMs(ms)}`

/** `1500` → `"1.5s"`, `250` → `"250ms"`. */
const formatMs = (ms: number): string => (ms >= 1000 && ms % 100 === 0 ? `${ms / 1000}s` : `${ms}ms`)

/**
 * Fails with `Timeout` when `eff` has not finished after `ms` milliseconds
 * of Clock time, interrupting it first; `what` names it in the message
 * (e.g. `tool "search" (node fetch, attempt 2)`).
 */
export const withTimeout =
  (ms: number, what: string) => <A, E, R>(eff: Effect.Effect<A, E, R>): Effect.Effect<A, E | Timeout, R> =>
    Effect.timeoutFail(eff, {
      duration: Duration.millis(Math.max(0, ms)),
      onTimeout: () => new Timeout({ message: timeoutMessage(what, ms) })
    })
