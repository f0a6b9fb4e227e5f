/** Holm's step-down adjustment on worked examples. */
import { describe, expect, it } from "vitest"
import { holm } from "../../../src/eval/stats/holm.js"

describe("holm", () => {
  it("adjusts a worked example in the input order", () => {
    // Sorted: 0.01 (×3 = 0.03), 0.02 (×2 = 0.04), 0.04 (×1 = 0.04).
    const adjusted = holm([0.04, 0.01, 0.02])
    expect(adjusted[0]).toBeCloseTo(0.04, 12)
    expect(adjusted[1]).toBeCloseTo(0.03, 12)
    expect(adjusted[2]).toBeCloseTo(0.04, 12)
  })

  it("keeps monotonicity when a later step would be smaller, and caps at 1", () => {
    // Sorted: 0.03 (×3 = 0.09), 0.035 (×2 = 0.07 → 0.09), 0.9 (×1 = 0.9).
    expect(holm([0.03, 0.035, 0.9]).map((p) => Number(p.toFixed(10)))).toEqual([0.09, 0.09, 0.9])
    expect(holm([0.6, 0.7])).toEqual([1, 1])
  })

  it("is empty for no hypotheses and treats a non-finite p-value as 1", () => {
    expect(holm([])).toEqual([])
    expect(holm([Number.NaN, 0.01])).toEqual([1, 0.02])
  })
})
