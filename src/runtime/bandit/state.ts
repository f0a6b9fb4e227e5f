/**
 * Bandit state as data (persisted by the store): per choose key, each
 * option's reward statistics, LinUCB's statistics learned online (per
 * context dimension) and a version that grows with every feedback.
 * Strategies read it; only feedback changes it.
 */
import { Schema } from "effect"
import { armOfModel, emptyModel, isFiniteArm, update } from "./linucb.js"
import type { LinUcbModel } from "./linucb.js"

/** LinUCB's per-option ridge regressions (`linucb.ts`): A (d×d, row-major) = I + Σ x xᵀ, b = Σ r x. */
export const LinearModel = Schema.Struct({
  d: Schema.Int,
  arms: Schema.Record({
    key: Schema.String,
    value: Schema.Struct({ a: Schema.Array(Schema.Number), b: Schema.Array(Schema.Number) })
  })
}).annotations({ identifier: "LinearModel" })

/** How a choose key picks among its options. */
export const BanditStrategy = Schema.Union(
  Schema.Struct({
    kind: Schema.Literal("epsilon-greedy"),
    /** Probability of exploring uniformly. @default 0.1 */
    epsilon: Schema.optional(Schema.Number)
  }),
  Schema.Struct({ kind: Schema.Literal("ucb1") }),
  Schema.Struct({
    kind: Schema.Literal("fixed"),
    /** The option to take (a plan's step, e.g. from `eval policy --target mcts --save`). */
    option: Schema.String,
    /** The uniform share mixed in (keeps every propensity positive for off-policy evaluation). @default 0.05 */
    epsilon: Schema.optional(Schema.Number.pipe(Schema.between(0, 1)))
  }),
  Schema.Struct({ kind: Schema.Literal("thompson") }),
  Schema.Struct({
    kind: Schema.Literal("linucb"),
    /** Which run inputs become the context (`linucb.ts`). */
    features: Schema.Struct({
      numeric: Schema.Array(Schema.String),
      categorical: Schema.Array(Schema.String),
      buckets: Schema.optional(Schema.Int.pipe(Schema.between(1, 4096)))
    }),
    /** The exploration width α. @default 1 */
    alpha: Schema.optional(Schema.Number.pipe(Schema.nonNegative())),
    /** The uniform share mixed in (keeps every propensity positive for off-policy evaluation). @default 0.05 */
    epsilon: Schema.optional(Schema.Number.pipe(Schema.between(0, 1))),
    /**
     * The per-option ridge regressions fitted offline from logged decisions (`eval policy --target linucb
     * --save`); the key's statistics learned online add to them. None: only the online ones (at first, every
     * option unseen).
     */
    model: Schema.optional(LinearModel),
    /** The context vector of this run (set by the runtime from the run's inputs; not written by users). */
    context: Schema.optional(Schema.Array(Schema.Number))
  })
).annotations({ identifier: "BanditStrategy" })
export type BanditStrategy = typeof BanditStrategy.Type

/** The default epsilon of epsilon-greedy. */
const DEFAULT_EPSILON = 0.1

/** The default uniform share of a `fixed` strategy. */
export const DEFAULT_FIXED_EPSILON = 0.05

/**
 * The strategy's name as recorded with each choice (`"epsilon-greedy(0.1)"`, `"ucb1"`, `"thompson"`, `"linucb(1)"`,
 * `"fixed(b,0.05)"`).
 */
export const policyName = (strategy: BanditStrategy): string =>
  strategy.kind === "epsilon-greedy"
    ? `epsilon-greedy(${epsilonOf(strategy)})`
    : strategy.kind === "fixed"
    ? `fixed(${strategy.option},${strategy.epsilon ?? DEFAULT_FIXED_EPSILON})`
    : strategy.kind === "linucb"
    ? `linucb(${strategy.alpha ?? 1})`
    : strategy.kind

/** The epsilon of an epsilon-greedy strategy, clamped to [0, 1]. */
export const epsilonOf = (strategy: { readonly epsilon?: number | undefined }): number => {
  const e = strategy.epsilon ?? DEFAULT_EPSILON
  return Number.isFinite(e) ? Math.min(1, Math.max(0, e)) : DEFAULT_EPSILON
}

/** Reward statistics of one option. */
export const ArmStats = Schema.Struct({
  /** Rewards received. */
  pulls: Schema.Number,
  /** Sum of the rewards. */
  rewardSum: Schema.Number,
  /** Sum of the rewards clamped to [0, 1] (Thompson's Beta posterior: α = 1 + successes, β = 1 + pulls − successes). */
  successes: Schema.Number
}).annotations({ identifier: "ArmStats" })
export type ArmStats = typeof ArmStats.Type

/** The state of one choose key. */
export const BanditState = Schema.Struct({
  key: Schema.String,
  /** Number of feedbacks applied; recorded with each choice as the policy version. */
  version: Schema.Number,
  arms: Schema.Record({ key: Schema.String, value: ArmStats }),
  /**
   * LinUCB's statistics learned online: per context dimension (as text), the model of the feedbacks whose choice
   * recorded a context of that dimension (from empty: A = I + Σ x xᵀ, b = Σ r x). Absent: none yet.
   */
  linear: Schema.optionalWith(Schema.Record({ key: Schema.String, value: LinearModel }), { exact: true })
}).annotations({ identifier: "BanditState" })
export type BanditState = typeof BanditState.Type

/** The state of a key nobody has given feedback for. */
export const emptyState = (key: string): BanditState => ({ key, version: 0, arms: {} })

const NO_PULLS: ArmStats = { pulls: 0, rewardSum: 0, successes: 0 }

/** The statistics of `option` (zero when it has none). */
export const armOf = (state: BanditState, option: string): ArmStats =>
  Object.prototype.hasOwnProperty.call(state.arms, option) ? state.arms[option]! : NO_PULLS

/** The mean reward of an arm, or undefined when it has none. */
export const meanOf = (arm: ArmStats): number | undefined => (arm.pulls === 0 ? undefined : arm.rewardSum / arm.pulls)

/** The online LinUCB statistics of `state` for contexts of dimension `d` (undefined: none yet). */
export const linearOf = (state: BanditState, d: number): LinUcbModel | undefined =>
  state.linear !== undefined && Object.prototype.hasOwnProperty.call(state.linear, String(d))
    ? state.linear[String(d)]
    : undefined

/**
 * The state after `option` received `reward` (non-finite rewards are ignored). With the `context` the choice was
 * made in (a LinUCB choice records it), the online LinUCB statistics of that dimension learn it too (A += x xᵀ,
 * b += r x); a context with a non-finite number, or one whose statistics would overflow, teaches them nothing.
 */
export const applyFeedback = (
  state: BanditState,
  option: string,
  reward: number,
  context?: ReadonlyArray<number>
): BanditState => {
  if (!Number.isFinite(reward)) return state
  const arm = armOf(state, option)
  const linear = context === undefined ? undefined : learnLinear(state, option, reward, context)
  return {
    key: state.key,
    version: state.version + 1,
    arms: {
      ...state.arms,
      [option]: {
        pulls: arm.pulls + 1,
        rewardSum: arm.rewardSum + reward,
        successes: arm.successes + Math.min(1, Math.max(0, reward))
      }
    },
    ...(linear ?? state.linear) === undefined ? {} : { linear: linear ?? state.linear! }
  }
}

/** The online LinUCB statistics after `option` earned `reward` in `context`; undefined when they do not change. */
const learnLinear = (
  state: BanditState,
  option: string,
  reward: number,
  context: ReadonlyArray<number>
): BanditState["linear"] => {
  const d = context.length
  if (d === 0 || !context.every(Number.isFinite)) return undefined
  const next = update(linearOf(state, d) ?? emptyModel(d), option, context, reward)
  const arm = armOfModel(next, option)
  if (arm === undefined || !isFiniteArm(arm)) return undefined
  return { ...state.linear, [String(d)]: next }
}
