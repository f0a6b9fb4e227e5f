/**
 * Target policies for off-policy evaluation of `choose`, and their parsing
 * from the CLI's `--target` text. A target gives every option a probability;
 * none looks at a context (`choose` records none), so it is the same for
 * every logged decision.
 */
import { Data, Either } from "effect"

/** The policy whose value is estimated. */
export type TargetPolicy =
  /** Always the option `option`. */
  | { readonly kind: "fixed"; readonly option: string }
  /** Every option with probability 1/k. */
  | { readonly kind: "uniform" }
  /** ε/k for every option, plus 1 − ε for the option with the best mean reward in the log (ε = 0: greedy). */
  | { readonly kind: "epsilon-greedy"; readonly epsilon: number }

/** A target or option set that cannot be used, with what was given. */
export class TargetError extends Data.TaggedError("TargetError")<{ readonly message: string }> {}

const FIXED = /^fixed:(.+)$/
const EPSILON = /^epsilon-greedy:(.+)$/

/**
 * Parses `fixed:<option>`, `uniform`, `greedy` or `epsilon-greedy:<ε>` (ε a number in [0, 1]).
 */
export const parseTarget = (text: string): Either.Either<TargetPolicy, TargetError> => {
  const t = text.trim()
  if (t === "uniform") return Either.right({ kind: "uniform" })
  if (t === "greedy") return Either.right({ kind: "epsilon-greedy", epsilon: 0 })
  const fixed = FIXED.exec(t)
  if (fixed !== null) return Either.right({ kind: "fixed", option: fixed[1]! })
  const eps = EPSILON.exec(t)
  if (eps !== null) {
    const epsilon = Number(eps[1])
    if (eps[1]!.trim() !== "" && Number.isFinite(epsilon) && epsilon >= 0 && epsilon <= 1) {
      return Either.right({ kind: "epsilon-greedy", epsilon })
    }
    return Either.left(new TargetError({ message: `--target "${text}": epsilon must be a number in [0, 1]` }))
  }
  return Either.left(
    new TargetError({
      message: `--target "${text}" is not a target policy: use fixed:<option>, uniform, greedy or epsilon-greedy:<ε>`
    })
  )
}

/** The target's name as reports show it (`fixed:b`, `uniform`, `epsilon-greedy:0.1`). */
export const targetName = (target: TargetPolicy): string =>
  target.kind === "fixed"
    ? `fixed:${target.option}`
    : target.kind === "uniform"
    ? "uniform"
    : `epsilon-greedy:${target.epsilon}`

/**
 * The probability the target gives each of `options` (non-empty, distinct), given the per-option mean rewards of
 * the log (for the greedy part of epsilon-greedy: the best mean, the first in option order on ties; an option
 * without rewards is never greedy unless none has any). The probabilities sum to 1.
 */
export const targetProbabilities = (
  target: TargetPolicy,
  options: ReadonlyArray<string>,
  meanOf: (option: string) => number | undefined
): ReadonlyMap<string, number> => {
  const k = options.length
  switch (target.kind) {
    case "fixed":
      return new Map(options.map((o) => [o, o === target.option ? 1 : 0] as const))
    case "uniform":
      return new Map(options.map((o) => [o, 1 / k] as const))
    case "epsilon-greedy": {
      let greedy = options[0]!
      let top = -Infinity
      for (const o of options) {
        const m = meanOf(o)
        if (m !== undefined && m > top) {
          top = m
          greedy = o
        }
      }
      return new Map(options.map((o) => [o, target.epsilon / k + (o === greedy ? 1 - target.epsilon : 0)] as const))
    }
  }
}
