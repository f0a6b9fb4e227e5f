/**
 * The three bandit strategies (SPEC §4 `choose`): epsilon-greedy, UCB1 and
 * Thompson sampling over Beta posteriors; and the learned ones: LinUCB
 * (`linucb.ts`) and `fixed`, an ε-mixed pinned option (an MCTS plan's step). Each choice reports its
 * propensity — the probability the strategy gave the chosen option at that
 * moment — and the state version it was made with, for off-policy evaluation.
 * Randomness comes from Effect's `Random` (one draw per choice).
 */
import { Effect, Random } from "effect"
import { choose as linUcbChoose, combine, DEFAULT_ALPHA, dimensionOf, emptyModel, featuresOf } from "./linucb.js"
import { beta, makeUniform } from "./sample.js"
import type { Uniform } from "./sample.js"
import { armOf, DEFAULT_FIXED_EPSILON, epsilonOf, linearOf, meanOf, policyName } from "./state.js"
import type { BanditState, BanditStrategy } from "./state.js"

/** A choice: the option, its propensity in (0, 1], the policy's name and the state version. */
export interface Choice {
  readonly option: string
  readonly propensity: number
  readonly policy: string
  readonly version: number
  /** The context the choice was made in (LinUCB): recorded with it, so its reward can teach the model. */
  readonly context?: ReadonlyArray<number> | undefined
}

/** Extra posterior draws used to estimate a Thompson choice's propensity. */
const THOMPSON_PROPENSITY_DRAWS = 100

/** The options whose score is highest (in option order); scores may be `Infinity`. */
const argmaxAll = (options: ReadonlyArray<string>, score: (o: string) => number): ReadonlyArray<string> => {
  let best: Array<string> = []
  let top = -Infinity
  for (const o of options) {
    const s = score(o)
    if (s > top || best.length === 0) {
      top = s
      best = [o]
    } else if (s === top) {
      best.push(o)
    }
  }
  return best
}

const pick = <A>(u: Uniform, xs: ReadonlyArray<A>): A => xs[Math.min(xs.length - 1, Math.floor(u() * xs.length))]!

/** The greedy options of epsilon-greedy: the best mean, options without rewards counting as best (tried first). */
const greedyOptions = (state: BanditState, options: ReadonlyArray<string>): ReadonlyArray<string> =>
  argmaxAll(options, (o) => meanOf(armOf(state, o)) ?? Infinity)

/** Epsilon-greedy's probability of each option: ε/k, plus (1 − ε)/|greedy| for the greedy ones; they sum to 1. */
export const epsilonGreedyPropensities = (
  state: BanditState,
  options: ReadonlyArray<string>,
  epsilon: number
): ReadonlyMap<string, number> => {
  const greedy = new Set(greedyOptions(state, options))
  const k = options.length
  return new Map(options.map((o) => [o, epsilon / k + (greedy.has(o) ? (1 - epsilon) / greedy.size : 0)] as const))
}

const epsilonGreedy = (state: BanditState, options: ReadonlyArray<string>, epsilon: number, u: Uniform) => {
  const greedy = greedyOptions(state, options)
  const option = u() < epsilon ? pick(u, options) : pick(u, greedy)
  return { option, propensity: epsilonGreedyPropensities(state, options, epsilon).get(option)! }
}

/** UCB1: every option without rewards first (uniformly), then the best mean + √(2 ln N / n); rewards assumed in [0, 1]. */
const ucb1 = (state: BanditState, options: ReadonlyArray<string>, u: Uniform) => {
  const untried = options.filter((o) => armOf(state, o).pulls === 0)
  if (untried.length > 0) return { option: pick(u, untried), propensity: 1 / untried.length }
  const total = options.reduce((n, o) => n + armOf(state, o).pulls, 0)
  const best = argmaxAll(options, (o) => {
    const arm = armOf(state, o)
    return arm.rewardSum / arm.pulls + Math.sqrt((2 * Math.log(total)) / arm.pulls)
  })
  return { option: pick(u, best), propensity: 1 / best.length }
}

/** One Thompson draw: the option whose Beta(1 + successes, 1 + failures) sample is highest. */
const thompsonDraw = (state: BanditState, options: ReadonlyArray<string>, u: Uniform): string => {
  let best = options[0]!
  let top = -Infinity
  for (const o of options) {
    const arm = armOf(state, o)
    const theta = beta(u, 1 + arm.successes, 1 + Math.max(0, arm.pulls - arm.successes))
    if (theta > top) {
      top = theta
      best = o
    }
  }
  return best
}

/** Thompson sampling; the propensity is estimated as (1 + wins in N more draws) / (N + 1). */
const thompson = (state: BanditState, options: ReadonlyArray<string>, u: Uniform) => {
  const option = thompsonDraw(state, options, u)
  let wins = 0
  for (let i = 0; i < THOMPSON_PROPENSITY_DRAWS; i++) if (thompsonDraw(state, options, u) === option) wins++
  return { option, propensity: (1 + wins) / (1 + THOMPSON_PROPENSITY_DRAWS) }
}

/**
 * LinUCB on the run's context (`linucb.ts`): the model is the strategy's fitted one (if any) with the statistics
 * the key learned online on top (`combine`); ε-mixed for a positive propensity. Reports the context it used.
 */
const linUcb = (
  state: BanditState,
  strategy: BanditStrategy & { readonly kind: "linucb" },
  options: ReadonlyArray<string>,
  u: Uniform
) => {
  const d = strategy.model?.d ?? dimensionOf(strategy.features)
  const model = combine(strategy.model, linearOf(state, d)) ?? emptyModel(d)
  const x = strategy.context !== undefined && strategy.context.length === model.d
    ? strategy.context
    : featuresOf(strategy.features, {})
  const picked = linUcbChoose(model, options, x, u(), strategy.alpha ?? DEFAULT_ALPHA, strategy.epsilon ?? 0.05)
  return { ...picked, context: x }
}

/**
 * `fixed`: the strategy's option with probability 1 − ε + ε/k, every other ε/k; an option the key does not offer
 * leaves the choice uniform.
 */
export const fixedPropensities = (
  options: ReadonlyArray<string>,
  option: string,
  epsilon: number
): ReadonlyMap<string, number> => {
  const k = options.length
  if (!options.includes(option)) return new Map(options.map((o) => [o, 1 / k] as const))
  return new Map(options.map((o) => [o, epsilon / k + (o === option ? 1 - epsilon : 0)] as const))
}

const fixed = (strategy: BanditStrategy & { readonly kind: "fixed" }, options: ReadonlyArray<string>, u: Uniform) => {
  const epsilon = epsilonOf({ epsilon: strategy.epsilon ?? DEFAULT_FIXED_EPSILON })
  const probs = fixedPropensities(options, strategy.option, epsilon)
  const option = options.includes(strategy.option) && u() >= epsilon ? strategy.option : pick(u, options)
  return { option, propensity: probs.get(option)! }
}

/** Chooses one of `options` (non-empty, distinct) by `strategy` given the key's state. */
export const chooseArm = (
  state: BanditState,
  options: ReadonlyArray<string>,
  strategy: BanditStrategy
): Effect.Effect<Choice> => {
  if (options.length === 0) return Effect.dieMessage(`choose "${state.key}": no options to choose from`)
  return Effect.map(Random.nextInt, (seed) => {
    const u = makeUniform(seed)
    const picked = strategy.kind === "epsilon-greedy"
      ? epsilonGreedy(state, options, epsilonOf(strategy), u)
      : strategy.kind === "ucb1"
      ? ucb1(state, options, u)
      : strategy.kind === "linucb"
      ? linUcb(state, strategy, options, u)
      : strategy.kind === "fixed"
      ? fixed(strategy, options, u)
      : thompson(state, options, u)
    return { ...picked, policy: policyName(strategy), version: state.version }
  })
}
