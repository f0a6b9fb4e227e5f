/** Generates DSL programs of a given size for benchmarks (and for the linearity check). */

/**
 * A program of about `nodes` nodes: groups of tool calls, slices, a map with
 * a nested tool call, a branch, and an audit step, each group reading the
 * previous one's output so the graph is one connected DAG.
 */
export const generateProgram = (nodes: number): string => {
  const lines: Array<string> = ["program main(q: string, k: number = 5) {"]
  // One group = 7 nodes: a, b, c (map) + its return step, e (branch), f, and one bare audit step.
  const groups = Math.max(1, Math.round(nodes / 7))
  for (let i = 0; i < groups; i++) {
    const prev = i === 0 ? "k" : `len(b${i - 1}) + k`
    lines.push(
      `  a${i} = tool search(query: q + "${i}", k: ${prev}) with { timeout: "2s", retry: { times: 2, backoff: "exponential", base: "50ms" } }`,
      `  b${i} = a${i}[0:k]`,
      `  c${i} = map d in b${i} with { concurrency: 4 } {`,
      `    return tool summarize(text: d.text)`,
      `  }`,
      `  e${i} = if len(c${i}) > 0 { return c${i}[0] } else { return "none" }`,
      `  f${i} = tool audit.log(event: "step", detail: e${i}) with { after: [c${i}] }`,
      `  tool audit.log(event: "done", detail: str(${i} * 2 + 1))`
    )
  }
  lines.push(`  return { last: f${groups - 1}, count: ${groups} }`, "}", "")
  return lines.join("\n")
}
