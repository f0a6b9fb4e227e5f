/**
 * Sampling for the bandits: a small deterministic generator seeded from
 * Effect's `Random` (one draw per choice, so a seeded `Random` reproduces
 * every choice), with uniform, normal, gamma and beta variates.
 */

/** A uniform generator on [0, 1). */
export type Uniform = () => number

/** mulberry32: a fast 32-bit generator, deterministic in its seed. */
export const makeUniform = (seed: number): Uniform => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A standard normal variate (Box–Muller). */
export const normal = (u: Uniform): number => {
  const u1 = 1 - u()
  const u2 = u()
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2)
}

/** A Gamma(shape, 1) variate (Marsaglia–Tsang; shape < 1 boosted by U^(1/shape)). */
export const gamma = (u: Uniform, shape: number): number => {
  if (shape < 1) return gamma(u, shape + 1) * Math.pow(1 - u(), 1 / shape)
  const d = shape - 1 / 3
  const c = 1 / Math.sqrt(9 * d)
  while (true) {
    const x = normal(u)
    const v0 = 1 + c * x
    if (v0 <= 0) continue
    const v = v0 * v0 * v0
    const w = 1 - u()
    if (w < 1 - 0.0331 * x * x * x * x) return d * v
    if (Math.log(w) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v
  }
}

/** A Beta(alpha, beta) variate. */
export const beta = (u: Uniform, alpha: number, b: number): number => {
  const x = gamma(u, alpha)
  const y = gamma(u, b)
  return x + y === 0 ? 0.5 : x / (x + y)
}
