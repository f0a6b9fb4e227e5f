/**
 * The run page's find bar (browser code): find nodes by id, path or name,
 * and filter by state and by tool. The graph dims what does not match (and
 * pans to the first match), the timeline keeps only the matching runs.
 */
import type { NodeState, NodeStatus } from "../../../trace/fold.js"
import type { GraphNode } from "../graph.js"
import { h } from "./dom.js"
import { aggregate, STATES } from "./model.js"
import type { RunModel } from "./model.js"

/** Applies a filter: what nodes (by key) and runs match, and the first matching key; answers the node count. */
export type ApplyFilter = (
  nodeMatch: ((key: string) => boolean) | undefined,
  runMatch: ((n: NodeState) => boolean) | undefined,
  first: string | undefined
) => number

const toolOf = (n: GraphNode | undefined): string | undefined =>
  n === undefined ? undefined : n.kind === "tool" ? n.detail : n.kind === "llm" ? `llm ${n.detail}` : undefined

/** The find bar of a run page. */
export const findBar = (
  byKey: ReadonlyMap<string, GraphNode>,
  model: RunModel,
  apply: ApplyFilter
): { readonly root: HTMLElement } => {
  const text = h("input", {
    type: "search",
    id: "find-node",
    placeholder: "node id, path or name",
    autocomplete: "off"
  })
  const status = h(
    "select",
    { id: "find-status" },
    h("option", { value: "" }, "any state"),
    STATES.map((st) => h("option", { value: st }, st))
  )
  const tools = [...new Set([...byKey.values()].flatMap((n) => toolOf(n) ?? []))].sort()
  const tool = h(
    "select",
    { id: "find-tool" },
    h("option", { value: "" }, "any tool"),
    tools.map((t) => h("option", { value: t }, t))
  )
  const result = h("span", { class: "note", role: "status" })
  const run = () => {
    const q = text.value.trim().toLowerCase()
    const st = status.value as NodeStatus | ""
    const tl = tool.value
    if (q === "" && st === "" && tl === "") {
      apply(undefined, undefined, undefined)
      result.textContent = ""
      return
    }
    const nodeText = (key: string, n: GraphNode | undefined) =>
      key.toLowerCase().includes(q) || (n?.label.toLowerCase().includes(q) ?? false) ||
      (n?.id.toLowerCase() === q)
    const nodeMatch = (key: string): boolean => {
      const n = byKey.get(key)
      if (q !== "" && !nodeText(key, n)) return false
      if (tl !== "" && toolOf(n) !== tl) return false
      if (
        st !== "" && aggregate(model.nodesOf(key)).state !== st &&
        !(st === "waiting" && model.nodesOf(key).length === 0)
      ) {
        return false
      }
      return true
    }
    const runMatch = (r: NodeState): boolean => {
      const key = model.keyOfPath(r.path)
      const n = key === undefined ? undefined : byKey.get(key)
      if (q !== "" && !r.path.toLowerCase().includes(q) && !nodeText(key ?? r.path, n)) return false
      if (tl !== "" && toolOf(n) !== tl && r.tool !== tl) return false
      if (st !== "" && r.state !== st) return false
      return true
    }
    const first = [...byKey.keys()].find(nodeMatch)
    const hits = apply(nodeMatch, runMatch, first)
    result.textContent = `${hits} node${hits === 1 ? "" : "s"} match.`
  }
  text.addEventListener("input", run)
  text.addEventListener("keydown", (e) => {
    if (e.key === "Enter") run()
  })
  status.addEventListener("change", run)
  tool.addEventListener("change", run)
  const field = (label: string, id: string, el: HTMLElement) =>
    h("label", { class: "field", for: id }, h("span", {}, label), el)
  return {
    root: h(
      "div",
      { class: "find-bar", role: "search", "aria-label": "Find nodes" },
      field("Find node", "find-node", text),
      field("State", "find-status", status),
      field("Tool", "find-tool", tool),
      result
    )
  }
}
