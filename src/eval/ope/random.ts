/**
 * A seeded generator for the bootstrap of the off-policy estimators and the
 * calibration splits (mulberry32): floats in [0, 1), the same sequence for
 * the same seed. Pure; no `Math.random`.
 */

/** A generator of floats in [0, 1), deterministic in its seed. */
export const seededUniform = (seed: number): () => number => {
  let a = (Number.isFinite(seed) ? Math.trunc(seed) : 0) >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
