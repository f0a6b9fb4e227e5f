import { describe, expect, it } from "vitest"
import { makeRng, nextInt, nextNormal } from "../../../src/eval/stats/random.js"

describe("makeRng", () => {
  it("is reproducible per seed and differs between seeds", () => {
    const a = makeRng(42)
    const b = makeRng(42)
    const c = makeRng(43)
    const xs = Array.from({ length: 5 }, () => a())
    expect(Array.from({ length: 5 }, () => b())).toEqual(xs)
    expect(Array.from({ length: 5 }, () => c())).not.toEqual(xs)
  })

  it("draws floats in [0, 1) with a mean near 1/2 and uniform buckets", () => {
    const rng = makeRng(7)
    const buckets = new Array<number>(10).fill(0)
    let sum = 0
    const n = 20_000
    for (let i = 0; i < n; i++) {
      const x = rng()
      if (x < 0 || x >= 1) throw new Error(`out of range: ${x}`)
      sum += x
      buckets[Math.floor(x * 10)]! += 1
    }
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.01)
    for (const count of buckets) expect(Math.abs(count - n / 10)).toBeLessThan(200)
  })

  it("nextInt stays in range and nextNormal has mean 0, variance 1", () => {
    const rng = makeRng(1)
    for (let i = 0; i < 1000; i++) {
      const k = nextInt(rng, 3)
      expect([0, 1, 2]).toContain(k)
    }
    let s = 0
    let s2 = 0
    const n = 20_000
    for (let i = 0; i < n; i++) {
      const z = nextNormal(rng)
      s += z
      s2 += z * z
    }
    expect(Math.abs(s / n)).toBeLessThan(0.03)
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.05)
  })
})
