import { describe, expect, it } from "vitest"
import { bootstrapMeanCi, mean, quantileSorted, stddev, summarize } from "../../../src/eval/stats/bootstrap.js"

describe("descriptive statistics", () => {
  it("mean, sample stddev and interpolated quantiles", () => {
    expect(mean([1, 2, 3, 4])).toBe(2.5)
    expect(Number.isNaN(mean([]))).toBe(true)
    expect(stddev([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(2.138, 3)
    expect(stddev([5])).toBe(0)
    expect(quantileSorted([0, 10], 0.25)).toBe(2.5)
    expect(quantileSorted([1, 2, 3], 1)).toBe(3)
  })
})

describe("bootstrapMeanCi", () => {
  it("is reproducible for a seed and brackets the mean", () => {
    const xs = [0, 1, 1, 0, 1, 1, 1, 0, 1, 1]
    const a = bootstrapMeanCi(xs, { seed: 3 })
    expect(bootstrapMeanCi(xs, { seed: 3 })).toEqual(a)
    expect(a[0]).toBeLessThanOrEqual(0.7)
    expect(a[1]).toBeGreaterThanOrEqual(0.7)
    expect(a[0]).toBeGreaterThanOrEqual(0)
    expect(a[1]).toBeLessThanOrEqual(1)
  })

  it("is a point for constant data and a single value, NaN for none", () => {
    expect(bootstrapMeanCi([2, 2, 2])).toEqual([2, 2])
    expect(bootstrapMeanCi([5])).toEqual([5, 5])
    expect(bootstrapMeanCi([]).every(Number.isNaN)).toBe(true)
  })

  it("narrows as n grows", () => {
    const small = Array.from({ length: 10 }, (_, i) => i % 2)
    const large = Array.from({ length: 400 }, (_, i) => i % 2)
    const w = (ci: readonly [number, number]) => ci[1] - ci[0]
    expect(w(bootstrapMeanCi(large))).toBeLessThan(w(bootstrapMeanCi(small)) / 3)
  })

  it("summarize reports n, mean, stddev and the CI", () => {
    const s = summarize([1, 0, 1, 1])
    expect(s.n).toBe(4)
    expect(s.mean).toBe(0.75)
    expect(s.stddev).toBeCloseTo(0.5, 10)
    expect(s.ci[0]).toBeLessThanOrEqual(0.75)
  })
})
