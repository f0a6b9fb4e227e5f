/** The seeded generator of an optimization (the eval statistics' `makeRng`), with the draws the search uses. */
import { makeRng as makeBase, nextInt } from "../eval/stats/random.js"

/** A generator of floats in [0, 1). */
export interface Rng {
  readonly next: () => number
  /** An integer in [0, n). */
  readonly int: (n: number) => number
  /** A shuffled copy (Fisher–Yates). */
  readonly shuffle: <A>(xs: ReadonlyArray<A>) => Array<A>
}

/** A generator seeded with `seed`. */
export const makeRng = (seed: number): Rng => {
  const next = makeBase(seed)
  const int = (n: number): number => nextInt(next, n)
  const shuffle = <A>(xs: ReadonlyArray<A>): Array<A> => {
    const out = [...xs]
    for (let i = out.length - 1; i > 0; i--) {
      const j = int(i + 1)
      const t = out[i]!
      out[i] = out[j]!
      out[j] = t
    }
    return out
  }
  return { next, int, shuffle }
}
