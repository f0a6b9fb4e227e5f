/**
 * The viewer's run model (pure parts, no DOM): matching event node paths
 * to the picture's node keys through map items, branches and calls, and
 * the one state shown for a node that ran many times.
 */
import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { check } from "../../../../src/compile.js"
import { aggregate, indexGraph, keyOf } from "../../../../src/server/web/app/model.js"
import { graphOf } from "../../../../src/server/web/graph.js"
import type { GraphNode, GraphView } from "../../../../src/server/web/graph.js"
import type { NodeState } from "../../../../src/trace/fold.js"

const graph = (source: string): GraphView => {
  const c = check(source)
  if (c.normalized === undefined) throw new Error(JSON.stringify(c.diagnostics))
  const g = graphOf(c.normalized)
  if (Either.isLeft(g)) throw new Error(g.left)
  return g.right
}

const SOURCE = `program helper(v: number) {
  inner = tool std.echo(value: v)
  return inner
}
program main(xs: number[] = [1, 2], flag: boolean = true) {
  each = map x in xs {
    deep = tool std.echo(value: x)
    return deep
  }
  pick = if flag { return tool std.echo(value: "y") } else { return "n" }
  called = run helper(v: 1)
  return { each: each, pick: pick, called: called }
}`

describe("keyOf", () => {
  const g = graph(SOURCE)
  const { byKey } = indexGraph(g)
  const find = (label: string): GraphNode => [...byKey.values()].find((n) => n.label === label)!

  it("maps every node path of a run onto the drawn node", () => {
    const each = find("each")
    const deep = find("deep")
    const pick = find("pick")
    const called = find("called")
    const inner = find("inner")
    expect(keyOf(g, each.id)).toBe(each.key)
    expect(keyOf(g, `${each.id}/0/${deep.id}`)).toBe(deep.key)
    expect(keyOf(g, `${each.id}/17/${deep.id}`)).toBe(deep.key)
    const thenNode = pick.scopes[0]!.nodes[0]!
    expect(keyOf(g, `${pick.id}/then/${thenNode.id}`)).toBe(thenNode.key)
    expect(keyOf(g, `${called.id}/${inner.id}`)).toBe(inner.key)
    expect(inner.key).toBe(`${called.id}/${inner.id}`)
  })

  it("answers undefined for paths the program does not have", () => {
    const each = find("each")
    for (const path of ["zz", `${each.id}/0`, `${each.id}/0/zz`, `${find("pick").id}/maybe/x`, ""]) {
      expect(keyOf(g, path)).toBeUndefined()
    }
  })
})

describe("aggregate", () => {
  const node = (state: NodeState["state"]): NodeState => ({
    path: "p",
    state,
    kind: "tool",
    label: null,
    tool: null,
    readyAt: null,
    startedAt: null,
    endedAt: null,
    attempts: [],
    source: null,
    outputHash: null,
    error: null,
    chunks: 0,
    choice: null,
    cost: 0
  })
  it("shows the most telling state with counts", () => {
    expect(aggregate([]).state).toBe("waiting")
    expect(aggregate([node("done"), node("cached")]).state).toBe("done")
    expect(aggregate([node("cached"), node("cached")]).state).toBe("cached")
    expect(aggregate([node("done"), node("running"), node("failed")]).state).toBe("running")
    expect(aggregate([node("done"), node("failed")]).state).toBe("failed")
    expect(aggregate([node("done"), node("retrying"), node("running")]).state).toBe("retrying")
    expect(aggregate([node("done"), node("ready")]).state).toBe("ready")
    expect(aggregate([node("done"), node("done"), node("failed")]).counts.get("done")).toBe(2)
  })
})
