/**
 * LinUCB from the log, for `trellis eval policy --target linucb`: the
 * rewarded decisions of a `choose` key (`eval/ope/logged.ts`) joined with
 * the inputs of their runs (their `RunStarted` events), turned into feature vectors; a
 * model fitted on the earlier part of the log is evaluated off-policy on the
 * later part (never on its own training data), and the strategy that may go
 * live is fitted on the whole log.
 */
import { Effect } from "effect"
import type { LoggedDecision } from "../../eval/ope/estimators.js"
import { loggedDecisions } from "../../eval/ope/logged.js"
import { featuresOf, fit, probabilities } from "../../runtime/bandit/linucb.js"
import type { FeatureSpec, LinUcbModel } from "../../runtime/bandit/linucb.js"
import type { BanditStrategy } from "../../runtime/bandit/state.js"
import { EventLog } from "../../trace/events.js"
import { evaluateContextual } from "./policyGate.js"

/** A logged decision with the feature vector of its run's inputs. */
export interface ContextualRow extends LoggedDecision {
  readonly x: ReadonlyArray<number>
}

/** The rewarded decisions of `key` since `since`, with their runs' features; runs without a record are left out. */
export const contextualLog = (key: string, spec: FeatureSpec, since = 0) =>
  Effect.gen(function*() {
    const log = yield* loggedDecisions(key, since)
    const events = yield* EventLog
    const rows: Array<ContextualRow> = []
    for (const d of log.decisions) {
      // The run's inputs as it recorded them (`RunStarted`), for durable and library runs alike.
      const started = (yield* events.events(d.runId)).find((e) => e.type === "RunStarted")
      if (started === undefined || started.type !== "RunStarted") continue
      const inputs: unknown = started.data.inputs
      const x = featuresOf(spec, typeof inputs === "object" && inputs !== null ? inputs as Record<string, unknown> : {})
      rows.push({ ...d, x })
    }
    return { rows, runsWithoutChoices: log.runsWithoutChoices }
  })

/** Options of `evaluateLinUcb`. */
export interface LinUcbEvaluation {
  readonly alpha: number
  readonly epsilon: number
  /** The share of the log (its beginning) the evaluated model is fitted on. @default 0.5 */
  readonly trainFraction?: number
  readonly resamples?: number
  readonly seed?: number
}

/**
 * Fits LinUCB on the first `trainFraction` of the rows and estimates its value on the rest (IPS, SNIPS, DR with
 * the per-decision LinUCB probabilities); also the strategy fitted on all rows, ready for `Runtime.run`'s
 * `strategies`.
 */
export const evaluateLinUcb = (
  rows: ReadonlyArray<ContextualRow>,
  options: ReadonlyArray<string>,
  spec: FeatureSpec,
  settings: LinUcbEvaluation
) => {
  const d = featuresOf(spec, {}).length
  const cut = Math.max(1, Math.min(rows.length - 1, Math.floor(rows.length * (settings.trainFraction ?? 0.5))))
  const train: LinUcbModel = fit(d, rows.slice(0, cut))
  const held = rows.slice(cut)
  const value = evaluateContextual(
    held.map((r) => ({ ...r, target: probabilities(train, options, r.x, settings.alpha, settings.epsilon) })),
    `linucb:${settings.alpha}`,
    {
      ...(settings.resamples === undefined ? {} : { resamples: settings.resamples }),
      ...(settings.seed === undefined ? {} : { seed: settings.seed })
    }
  )
  const strategy: BanditStrategy = {
    kind: "linucb",
    features: spec,
    alpha: settings.alpha,
    epsilon: settings.epsilon,
    model: fit(d, rows)
  }
  return { value, strategy, trained: cut, evaluated: held.length }
}
