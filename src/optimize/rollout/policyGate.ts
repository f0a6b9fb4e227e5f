/**
 * Off-policy evaluation of the new `choose` policies before they may go
 * live, and the gate that decides it. A context-free target (an MCTS plan's
 * fixed option per key, epsilon-greedy…) is estimated by `eval/ope`'s
 * `evaluatePolicy`; a contextual one (LinUCB: a different distribution per
 * decision, from that run's inputs) by `evaluateContextual` here — the same
 * IPS, SNIPS and doubly robust estimators (DR with the per-option mean
 * reward model), each with a seeded percentile bootstrap CI, but with the
 * target's probability taken per decision. The gate passes a policy when
 * its estimate is trustworthy (enough effective samples) and its DR lower
 * confidence bound is at least the logging policy's mean reward plus a
 * margin. Pure.
 */
import { Either } from "effect"
import { bootstrapEstimates, LogError } from "../../eval/ope/estimators.js"
import type { LoggedDecision, PolicyValue } from "../../eval/ope/estimators.js"

/** A logged decision with the target's probability of every option in that decision's context. */
export interface ContextualDecision extends LoggedDecision {
  readonly target: ReadonlyMap<string, number>
}

interface Point {
  readonly logged: number
  readonly ips: number
  readonly snips: number
  readonly dr: number
}

const estimatesOn = (ds: ReadonlyArray<ContextualDecision>, idx: ArrayLike<number>): Point => {
  const n = idx.length
  const sums = new Map<string, { s: number; c: number }>()
  let total = 0
  for (let j = 0; j < n; j++) {
    const d = ds[idx[j]!]!
    const m = sums.get(d.option) ?? { s: 0, c: 0 }
    m.s += d.reward
    m.c += 1
    sums.set(d.option, m)
    total += d.reward
  }
  const globalMean = total / n
  const q = (o: string) => {
    const m = sums.get(o)
    return m === undefined ? globalMean : m.s / m.c
  }
  let ips = 0
  let weights = 0
  let dr = 0
  for (let j = 0; j < n; j++) {
    const d = ds[idx[j]!]!
    const w = (d.target.get(d.option) ?? 0) / d.propensity
    ips += w * d.reward
    weights += w
    let direct = 0
    for (const [o, p] of d.target) direct += p * q(o)
    dr += direct + w * (d.reward - q(d.option))
  }
  return { logged: globalMean, ips: ips / n, snips: weights > 0 ? ips / weights : 0, dr: dr / n }
}

/** Estimates a contextual target's value from decisions carrying its per-decision probabilities. */
export const evaluateContextual = (
  decisions: ReadonlyArray<ContextualDecision>,
  target: string,
  options: { readonly resamples?: number; readonly seed?: number; readonly confidence?: number } = {}
): Either.Either<PolicyValue, LogError> => {
  if (decisions.length === 0) {
    return Either.left(new LogError({ runId: "", message: "no logged decisions with rewards" }))
  }
  for (const d of decisions) {
    if (!(Number.isFinite(d.propensity) && d.propensity > 0 && d.propensity <= 1)) {
      return Either.left(
        new LogError({ runId: d.runId, message: `run ${d.runId}: propensity ${d.propensity} is not in (0, 1]` })
      )
    }
    if (!Number.isFinite(d.reward)) {
      return Either.left(new LogError({ runId: d.runId, message: `run ${d.runId}: reward ${d.reward} is not finite` }))
    }
  }
  const n = decisions.length
  const { confidence, dr, ips, logged, resamples, seed, snips } = bootstrapEstimates(
    n,
    (idx) => estimatesOn(decisions, idx),
    options
  )
  let sw = 0
  let sw2 = 0
  let maxWeight = 0
  let matched = 0
  const names = new Set<string>()
  const meanProbs = new Map<string, number>()
  for (const d of decisions) {
    const w = (d.target.get(d.option) ?? 0) / d.propensity
    sw += w
    sw2 += w * w
    maxWeight = Math.max(maxWeight, w)
    if (w > 0) matched++
    names.add(d.option)
    for (const [o, p] of d.target) {
      names.add(o)
      meanProbs.set(o, (meanProbs.get(o) ?? 0) + p / n)
    }
  }
  const sorted = [...names].sort()
  return Either.right({
    target,
    n,
    options: sorted,
    targetProbabilities: Object.fromEntries(sorted.map((o) => [o, meanProbs.get(o) ?? 0])),
    logged,
    ips,
    snips,
    dr,
    effectiveSampleSize: sw2 > 0 ? (sw * sw) / sw2 : 0,
    maxWeight,
    matched,
    confidence,
    resamples,
    seed
  })
}

/** Options of the gate. */
export interface GateOptions {
  /** The least effective sample size (Σw)²/Σw² for the estimate to count. @default 30 */
  readonly minEffectiveSampleSize?: number
  /** How much the DR lower bound must exceed the logged mean (negative: how much worse is tolerated). @default 0 */
  readonly margin?: number
}

/** The gate's decision with its reasons. */
export interface GateVerdict {
  readonly pass: boolean
  readonly reasons: ReadonlyArray<string>
  readonly drLower: number
  readonly loggedMean: number
  readonly effectiveSampleSize: number
}

/**
 * Whether a policy may go live: its estimate rests on at least `minEffectiveSampleSize` effective decisions,
 * and the lower end of its doubly robust CI is at least the logging policy's mean reward + `margin`.
 */
export const gatePolicy = (value: PolicyValue, options: GateOptions = {}): GateVerdict => {
  const minEss = options.minEffectiveSampleSize ?? 30
  const margin = options.margin ?? 0
  const reasons: Array<string> = []
  if (value.effectiveSampleSize < minEss) {
    reasons.push(`effective sample size ${value.effectiveSampleSize.toFixed(1)} < ${minEss}`)
  }
  const needed = value.logged.estimate + margin
  if (!(value.dr.ci[0] >= needed)) {
    reasons.push(
      `DR lower bound ${value.dr.ci[0].toFixed(4)} < logged mean ${value.logged.estimate.toFixed(4)} + ${margin}`
    )
  }
  return {
    pass: reasons.length === 0,
    reasons,
    drLower: value.dr.ci[0],
    loggedMean: value.logged.estimate,
    effectiveSampleSize: value.effectiveSampleSize
  }
}
