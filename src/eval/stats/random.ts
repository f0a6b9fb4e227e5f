/**
 * A small seeded pseudo-random generator for the statistics (bootstrap
 * resamples, permutation sign flips): splitmix32, pure and reproducible —
 * the same seed gives the same stream on every machine. Not for secrets.
 */

/** A generator of floats in [0, 1) from a 32-bit seed (splitmix32); the same seed, the same stream. */
export const makeRng = (seed: number): () => number => {
  let state = (Math.floor(seed) >>> 0) ^ 0x9e3779b9
  return () => {
    state = (state + 0x9e3779b9) >>> 0
    let z = state
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    z = (z ^ (z >>> 16)) >>> 0
    return z / 4294967296
  }
}

/** An integer in [0, n) drawn from `rng`. */
export const nextInt = (rng: () => number, n: number): number => Math.floor(rng() * n)

/** A standard normal draw (Box–Muller) from `rng`. */
export const nextNormal = (rng: () => number): number => {
  const u = 1 - rng()
  const v = rng()
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
}
