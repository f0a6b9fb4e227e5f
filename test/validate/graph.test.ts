import { describe, expect, it } from "vitest"
import { findCycles } from "../../src/validate/graph.js"

const cyclesOf = (edges: ReadonlyArray<ReadonlyArray<number>>) => {
  const out: Array<ReadonlyArray<number>> = []
  findCycles(edges.length, (v) => edges[v] ?? [], (c) => out.push(c))
  return out
}

describe("findCycles", () => {
  it("finds nothing in a DAG", () => {
    expect(cyclesOf([[1, 2], [2], []])).toEqual([])
  })

  it("reports a self loop and a two-cycle, rotated to start at the smallest vertex", () => {
    expect(cyclesOf([[0]])).toEqual([[0]])
    expect(cyclesOf([[], [2], [1]])).toEqual([[1, 2]])
    expect(cyclesOf([[2], [0], [1]])).toEqual([[0, 2, 1]])
  })

  it("reports one cycle per back edge", () => {
    // 0 -> 1 -> 2 -> 0 and 1 -> 0
    expect(cyclesOf([[1], [2, 0], [0]])).toEqual([[0, 1, 2], [0, 1]])
  })

  it("ignores out-of-range successors and stops when asked", () => {
    expect(cyclesOf([[5, -1, 0]])).toEqual([[0]])
    const out: Array<ReadonlyArray<number>> = []
    findCycles(3, (v) => [v], (c) => out.push(c), () => out.length >= 2)
    expect(out).toEqual([[0], [1]])
  })

  it("handles a long chain without recursion", () => {
    const n = 200_000
    const edges = Array.from({ length: n }, (_, i) => (i + 1 < n ? [i + 1] : [0]))
    const out = cyclesOf(edges)
    expect(out).toHaveLength(1)
    expect(out[0]).toHaveLength(n)
  })
})
