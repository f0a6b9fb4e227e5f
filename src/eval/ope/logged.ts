/**
 * The logged decisions of a `choose` key, read through the run services:
 * the rewards posted for the key (`RewardLog`, in the current bandit scope)
 * name the runs; each run's `ChoiceMade` events for the key (`EventLog`)
 * are its decisions, each with the run's reward (the mean when several
 * were posted). Decisions that never got a reward are not in the log.
 */
import { Effect } from "effect"
import { RewardLog } from "../../runtime/bandit/rewards.js"
import type { StoreError } from "../../trace/errors.js"
import { EventLog } from "../../trace/events.js"
import type { LoggedDecision } from "./estimators.js"

/** The decisions of a key, and the rewarded runs that had no choice under it (left out). */
export interface DecisionLog {
  readonly decisions: ReadonlyArray<LoggedDecision>
  readonly runsWithoutChoices: ReadonlyArray<string>
}

/** The rewarded decisions of `key` whose rewards were posted at or after `since` (ms since the epoch). */
export const loggedDecisions = (
  key: string,
  since = 0
): Effect.Effect<DecisionLog, StoreError, RewardLog | EventLog> =>
  Effect.gen(function*() {
    const rewards = yield* (yield* RewardLog).rewards(key, since)
    const perRun = new Map<string, { sum: number; n: number }>()
    for (const r of rewards) {
      const s = perRun.get(r.runId) ?? { sum: 0, n: 0 }
      perRun.set(r.runId, { sum: s.sum + r.reward, n: s.n + 1 })
    }
    const log = yield* EventLog
    const decisions: Array<LoggedDecision> = []
    const runsWithoutChoices: Array<string> = []
    for (const [runId, { n, sum }] of perRun) {
      const events = yield* log.events(runId)
      let found = false
      for (const e of events) {
        if (e.type === "ChoiceMade" && e.data.key === key) {
          found = true
          decisions.push({
            runId,
            option: e.data.option,
            propensity: e.data.propensity,
            policy: e.data.policy,
            reward: sum / n
          })
        }
      }
      if (!found) runsWithoutChoices.push(runId)
    }
    return { decisions, runsWithoutChoices }
  })
