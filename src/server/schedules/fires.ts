/**
 * Which occurrences of a schedule to fire now (pure). Everything due between
 * the stored next time and `now` is considered: the latest occurrence is
 * on time when it is at most `graceMs` old (the scheduler woke for it), and
 * every other one was missed (the server was down or stalled). Then the
 * missed-run policy decides:
 * - `skip`: only an on-time occurrence fires;
 * - `run-once`: one fire, the latest occurrence, for everything due;
 * - `catch-up` (`max`): the latest `max` missed occurrences fire, oldest
 *   first, then the on-time one.
 */
import type { MissedPolicy } from "../../store/schedules.js"
import type { CronSpec } from "./cron.js"
import { latestBetween } from "./cron.js"

/** How late an occurrence may be handled and still count as on time. */
export const GRACE_MS = 60_000

/** The largest `max` of `catch-up`. */
export const MAX_CATCH_UP = 100

/** The occurrences to fire, oldest first, and how many due ones are dropped (at least; counted up to the bound). */
export interface FirePlan {
  readonly fire: ReadonlyArray<number>
  readonly dropped: number
}

/** The plan for a schedule due since `from` (its stored next time), at `now`. */
export const planFires = (
  spec: CronSpec,
  from: number,
  now: number,
  missed: MissedPolicy,
  graceMs: number = GRACE_MS
): FirePlan => {
  if (from > now) return { fire: [], dropped: 0 }
  const keep = missed.policy === "catch-up" ? Math.min(Math.max(missed.max ?? 1, 1), MAX_CATCH_UP) : 0
  // One more than kept, to see whether anything is dropped.
  const due = latestBetween(spec, from, now, keep + 2)
  const latest = due[due.length - 1]
  if (latest === undefined) return { fire: [], dropped: 0 }
  const onTime = now - latest <= graceMs
  const missedOnes = onTime ? due.slice(0, -1) : due
  switch (missed.policy) {
    case "skip":
      return { fire: onTime ? [latest] : [], dropped: missedOnes.length }
    case "run-once":
      return { fire: [latest], dropped: due.length - 1 }
    case "catch-up": {
      const kept = missedOnes.slice(-keep)
      return { fire: onTime ? [...kept, latest] : kept, dropped: missedOnes.length - kept.length }
    }
  }
}
