/**
 * Off-policy estimators of a `choose` key's value under a target policy,
 * from logged decisions (the option the logging policy chose, the
 * propensity it gave that option, the reward posted later): inverse
 * propensity scoring (IPS), self-normalized IPS (SNIPS) and doubly robust
 * (DR, with a per-option mean reward model), each with a seeded percentile
 * bootstrap CI. Pure.
 */
import { Data, Either } from "effect"
import { makeRng } from "../stats/random.js"
import { targetName, targetProbabilities } from "./target.js"
import type { TargetPolicy } from "./target.js"

/** One logged decision of a `choose` key with its reward. */
export interface LoggedDecision {
  /** The run that made it (named in errors). */
  readonly runId: string
  /** The option chosen. */
  readonly option: string
  /** The probability the logging policy gave that option, in (0, 1]. */
  readonly propensity: number
  /** The logging policy's name (`epsilon-greedy(0.1)`, `thompson`, …). */
  readonly policy: string
  /** The reward posted for it (a finite number). */
  readonly reward: number
}

/** A logged decision that cannot be used: which run, and why. */
export class LogError extends Data.TaggedError("LogError")<{ readonly runId: string; readonly message: string }> {}

/** A point estimate with its bootstrap confidence interval. */
export interface Estimate {
  readonly estimate: number
  readonly ci: readonly [number, number]
}

/** The estimated value of a target policy. */
export interface PolicyValue {
  readonly target: string
  /** Decisions used. */
  readonly n: number
  /** The options considered (logged ones, plus the target's and any given). */
  readonly options: ReadonlyArray<string>
  /** The target's probability of each option. */
  readonly targetProbabilities: Readonly<Record<string, number>>
  /** The mean reward the logging policy obtained. */
  readonly logged: Estimate
  readonly ips: Estimate
  readonly snips: Estimate
  readonly dr: Estimate
  /** (Σw)² / Σw²: how many decisions the weighted estimate is worth. */
  readonly effectiveSampleSize: number
  /** The largest importance weight π(a)/μ(a). */
  readonly maxWeight: number
  /** Decisions whose option the target may choose (weight > 0). */
  readonly matched: number
  readonly confidence: number
  readonly resamples: number
  readonly seed: number
}

/** Options of `evaluatePolicy`. */
export interface EvaluateOptions {
  /** Options the key has beyond those in the log (the target's fixed option is always added). @default [] */
  readonly options?: ReadonlyArray<string>
  /** Bootstrap resamples. @default 1000 */
  readonly resamples?: number
  /** Seed of the bootstrap. @default 0 */
  readonly seed?: number
  /** Confidence level of the intervals. @default 0.95 */
  readonly confidence?: number
}

/** The three estimates on one sample (indices into the arrays), with a per-option mean reward model fitted on it. */
interface Sample {
  readonly arm: Int32Array
  readonly weight: Float64Array
  readonly reward: Float64Array
  readonly pi: Float64Array
}

const estimatesOn = (s: Sample, idx: ArrayLike<number>) => {
  const k = s.pi.length
  const sum = new Float64Array(k)
  const count = new Float64Array(k)
  let total = 0
  for (let j = 0; j < idx.length; j++) {
    const i = idx[j]!
    sum[s.arm[i]!]! += s.reward[i]!
    count[s.arm[i]!]! += 1
    total += s.reward[i]!
  }
  const n = idx.length
  const globalMean = total / n
  // The reward model: an option's mean in this sample, the sample's mean for an option it never chose.
  const q = Array.from(sum, (x, a) => (count[a]! > 0 ? x / count[a]! : globalMean))
  let direct = 0
  for (let a = 0; a < k; a++) direct += s.pi[a]! * q[a]!
  let ips = 0
  let weights = 0
  let correction = 0
  for (let j = 0; j < n; j++) {
    const i = idx[j]!
    const w = s.weight[i]!
    ips += w * s.reward[i]!
    weights += w
    correction += w * (s.reward[i]! - q[s.arm[i]!]!)
  }
  return {
    logged: globalMean,
    ips: ips / n,
    snips: weights > 0 ? ips / weights : 0,
    dr: direct + correction / n
  }
}

/** The `q` quantile of sorted values (linear interpolation between order statistics). */
const quantile = (sorted: ReadonlyArray<number>, q: number): number => {
  const pos = (sorted.length - 1) * q
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo)
}

/** The four estimates on one (re)sample of the decisions. */
interface Estimates {
  readonly logged: number
  readonly ips: number
  readonly snips: number
  readonly dr: number
}

/**
 * The estimates on all `n` decisions with percentile bootstrap CIs: `estimatesAt` computes them on the decisions
 * at the given indices (all of them, then each resample drawn with replacement from the seeded generator).
 */
export const bootstrapEstimates = (
  n: number,
  estimatesAt: (idx: ArrayLike<number>) => Estimates,
  options: { readonly resamples?: number; readonly seed?: number; readonly confidence?: number }
) => {
  const point = estimatesAt(Int32Array.from({ length: n }, (_, i) => i))
  const resamples = Math.max(1, Math.floor(options.resamples ?? 1000))
  const seed = options.seed ?? 0
  const confidence = options.confidence ?? 0.95
  const u = makeRng(seed)
  const boot = {
    logged: [] as Array<number>,
    ips: [] as Array<number>,
    snips: [] as Array<number>,
    dr: [] as Array<number>
  }
  const idx = new Int32Array(n)
  for (let b = 0; b < resamples; b++) {
    for (let j = 0; j < n; j++) idx[j] = Math.floor(u() * n)
    const e = estimatesAt(idx)
    boot.logged.push(e.logged)
    boot.ips.push(e.ips)
    boot.snips.push(e.snips)
    boot.dr.push(e.dr)
  }
  const alpha = (1 - confidence) / 2
  const estimate = (value: number, draws: Array<number>): Estimate => {
    draws.sort((a, b) => a - b)
    return { estimate: value, ci: [quantile(draws, alpha), quantile(draws, 1 - alpha)] }
  }
  return {
    logged: estimate(point.logged, boot.logged),
    ips: estimate(point.ips, boot.ips),
    snips: estimate(point.snips, boot.snips),
    dr: estimate(point.dr, boot.dr),
    resamples,
    seed,
    confidence
  }
}

/** Checks one decision: a finite reward and a propensity in (0, 1]. */
export const checkDecision = (d: LoggedDecision): LogError | undefined =>
  !(Number.isFinite(d.propensity) && d.propensity > 0 && d.propensity <= 1)
    ? new LogError({ runId: d.runId, message: `run ${d.runId}: propensity ${d.propensity} is not in (0, 1]` })
    : !Number.isFinite(d.reward)
    ? new LogError({ runId: d.runId, message: `run ${d.runId}: reward ${d.reward} is not a finite number` })
    : undefined

/**
 * Estimates the value of `target` from `decisions` (IPS, SNIPS, DR) with percentile bootstrap CIs (the reward
 * model refitted in each resample). Fails with a `LogError` on an empty log or a decision with a propensity
 * outside (0, 1] or a non-finite reward.
 */
export const evaluatePolicy = (
  decisions: ReadonlyArray<LoggedDecision>,
  target: TargetPolicy,
  options: EvaluateOptions = {}
): Either.Either<PolicyValue, LogError> => {
  if (decisions.length === 0) {
    return Either.left(new LogError({ runId: "", message: "no logged decisions with rewards" }))
  }
  for (const d of decisions) {
    const bad = checkDecision(d)
    if (bad !== undefined) return Either.left(bad)
  }
  const names = [...new Set([...decisions.map((d) => d.option), ...(options.options ?? [])])]
  if (target.kind === "fixed" && !names.includes(target.option)) names.push(target.option)
  names.sort()
  const armOf = new Map(names.map((o, i) => [o, i] as const))
  const sums = new Map<string, { sum: number; n: number }>()
  for (const d of decisions) {
    const s = sums.get(d.option) ?? { sum: 0, n: 0 }
    sums.set(d.option, { sum: s.sum + d.reward, n: s.n + 1 })
  }
  const probs = targetProbabilities(target, names, (o) => {
    const s = sums.get(o)
    return s === undefined ? undefined : s.sum / s.n
  })
  const n = decisions.length
  const sample: Sample = {
    arm: Int32Array.from(decisions, (d) => armOf.get(d.option)!),
    weight: Float64Array.from(decisions, (d) => probs.get(d.option)! / d.propensity),
    reward: Float64Array.from(decisions, (d) => d.reward),
    pi: Float64Array.from(names, (o) => probs.get(o)!)
  }
  const { confidence, dr, ips, logged, resamples, seed, snips } = bootstrapEstimates(
    n,
    (idx) => estimatesOn(sample, idx),
    options
  )
  let sw = 0
  let sw2 = 0
  let maxWeight = 0
  let matched = 0
  for (const w of sample.weight) {
    sw += w
    sw2 += w * w
    maxWeight = Math.max(maxWeight, w)
    if (w > 0) matched++
  }
  return Either.right({
    target: targetName(target),
    n,
    options: names,
    targetProbabilities: Object.fromEntries(probs),
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
