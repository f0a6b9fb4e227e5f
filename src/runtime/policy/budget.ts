/**
 * Budgeters (SPEC §4): a run or node spends cost and tokens; once the
 * spending passes a limit every further charge fails with `BudgetExceeded`,
 * which stops the run.
 */
import { Effect, Ref } from "effect"
import { BudgetExceeded } from "../../tools/errors.js"

/** Limits of a budget; an absent limit is unbounded. */
export interface BudgetLimits {
  /** Maximum total cost. @default unbounded */
  readonly cost?: number | undefined
  /** Maximum total tokens. @default unbounded */
  readonly tokens?: number | undefined
}

/** What has been spent so far. */
export interface Spent {
  readonly cost: number
  readonly tokens: number
}

/** A running budget. */
export interface Budgeter {
  /** Adds a charge; fails with `BudgetExceeded` when the total passes a limit (the charge is still counted). */
  readonly charge: (cost: number, tokens: number) => Effect.Effect<void, BudgetExceeded>
  /** The totals charged so far. */
  readonly spent: Effect.Effect<Spent>
}

/** The message when `what` is over its limit. */
const overMessage = (what: "cost" | "tokens", spent: number, limit: number): string =>
  `budget exceeded: ${what} ${spent} > limit ${limit}`

/** Makes a budgeter with the given limits; spending exactly the limit is allowed, more is not. */
export const makeBudgeter = (limits: BudgetLimits): Effect.Effect<Budgeter> =>
  Effect.map(Ref.make<Spent>({ cost: 0, tokens: 0 }), (ref) => ({
    spent: Ref.get(ref),
    charge: (cost, tokens) =>
      Effect.flatMap(
        Ref.updateAndGet(ref, (s) => ({ cost: s.cost + Math.max(0, cost), tokens: s.tokens + Math.max(0, tokens) })),
        (s) => {
          if (limits.cost !== undefined && s.cost > limits.cost) {
            return Effect.fail(new BudgetExceeded({ message: overMessage("cost", s.cost, limits.cost) }))
          }
          if (limits.tokens !== undefined && s.tokens > limits.tokens) {
            return Effect.fail(new BudgetExceeded({ message: overMessage("tokens", s.tokens, limits.tokens) }))
          }
          return Effect.void
        }
      )
  }))
