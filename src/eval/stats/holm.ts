/**
 * Holm–Bonferroni step-down correction for multiple comparisons: adjusted
 * p-values that control the family-wise error rate at any level α (reject
 * hypothesis i when its adjusted p-value ≤ α). Pure.
 */

/**
 * Holm's adjusted p-values, in the order of `pValues`: sort ascending, the
 * i-th smallest (0-based) becomes `max over j ≤ i of min(1, (m − j) · p₍ⱼ₎)`
 * — so they are ≥ the raw ones, monotone in the rank, ≤ 1, and equal to
 * Bonferroni (`min(1, m·p)`) for one hypothesis. A non-finite p-value counts
 * as 1 (never rejected).
 */
export const holm = (pValues: ReadonlyArray<number>): ReadonlyArray<number> => {
  const m = pValues.length
  const clean = pValues.map((p) => (Number.isFinite(p) ? Math.min(1, Math.max(0, p)) : 1))
  const order = clean.map((_, i) => i).sort((a, b) => clean[a]! - clean[b]! || a - b)
  const adjusted = new Array<number>(m).fill(1)
  let running = 0
  order.forEach((index, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * clean[index]!))
    adjusted[index] = running
  })
  return adjusted
}
