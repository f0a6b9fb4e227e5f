/** A small seeded random number generator (mulberry32), so an optimization's choices depend only on its seed. */

/** A generator of floats in [0, 1). */
export interface Rng {
  readonly next: () => number
  /** An integer in [0, n). */
  readonly int: (n: number) => number
  /** A shuffled copy. */
  readonly shuffle: <A>(xs: ReadonlyArray<A>) => Array<A>
}

/** A generator seeded with `seed` (any integer). */
export const makeRng = (seed: number): Rng => {
  let a = (seed >>> 0) ^ 0x9e3779b9
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number): number => Math.floor(next() * n)
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
