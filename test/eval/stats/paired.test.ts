import { describe, expect, it } from "vitest"
import {
  cohensDz,
  comparePaired,
  differences,
  permutationPValue,
  signTestPValue,
  winsLossesTies
} from "../../../src/eval/stats/paired.js"

describe("paired statistics", () => {
  it("differences and wins/losses/ties", () => {
    const d = differences([1, 0, 1, 0.5], [1, 1, 0, 0.75])
    expect(d).toEqual([0, 1, -1, 0.25])
    expect(winsLossesTies(d)).toEqual({ wins: 2, losses: 1, ties: 1 })
    expect(() => differences([1], [1, 2])).toThrow(RangeError)
  })

  it("the exact permutation test: all-positive differences of n=5 give p = 2/32", () => {
    expect(permutationPValue([1, 1, 1, 1, 1])).toBeCloseTo(2 / 32, 12)
    expect(permutationPValue([1, -1, 1, -1])).toBe(1)
    expect(permutationPValue([])).toBe(1)
  })

  it("the Monte Carlo permutation test is small for a clear shift and large for none", () => {
    const shifted = Array.from({ length: 40 }, (_, i) => 1 + (i % 3) - 1)
    expect(permutationPValue(shifted.map((x) => x + 0.5))).toBeLessThan(0.01)
    const balanced = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? 1 : -1))
    expect(permutationPValue(balanced)).toBeGreaterThan(0.5)
  })

  it("the sign test is the binomial tail", () => {
    // 8 wins, 0 losses: 2 × (1/2)^8.
    expect(signTestPValue({ wins: 8, losses: 0, ties: 3 })).toBeCloseTo(2 / 256, 12)
    // 6 of 10: 2 × P(W ≤ 4) = 2 × 386/1024.
    expect(signTestPValue({ wins: 6, losses: 4, ties: 0 })).toBeCloseTo((2 * 386) / 1024, 12)
    expect(signTestPValue({ wins: 0, losses: 0, ties: 5 })).toBe(1)
  })

  it("Cohen's d_z is mean over sd of the differences", () => {
    expect(cohensDz([1, 2, 3])).toBeCloseTo(2, 12)
    expect(cohensDz([0, 0])).toBe(0)
    expect(cohensDz([1, 1])).toBe(Number.POSITIVE_INFINITY)
  })

  it("comparePaired puts it together, B better than A", () => {
    const a = Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? 1 : 0))
    const b = Array.from({ length: 30 }, (_, i) => (i % 10 === 0 ? 0 : 1))
    const c = comparePaired(a, b, { seed: 5 })
    expect(c.n).toBe(30)
    expect(c.delta).toBeCloseTo(c.meanB - c.meanA, 12)
    expect(c.wins).toBe(15)
    expect(c.losses).toBe(3)
    expect(c.ties).toBe(12)
    expect(c.ci[0]).toBeGreaterThan(0)
    expect(c.pValue).toBeLessThan(0.01)
    expect(c.effectSize).toBeGreaterThan(0)
  })
})
