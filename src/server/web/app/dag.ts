/**
 * The program's DAG as SVG, laid out by elkjs (layered, top to bottom, with
 * nested scopes as compound nodes). Map, branch, choose and call scopes are
 * groups with a header button that collapses them into one node. Nodes are
 * focusable buttons coloured by state (with the state in their text, not
 * colour alone); arrow keys move between nodes; Enter or Space opens one
 * (browser code). elkjs is loaded on first use (its own chunk).
 */
import type { ElkExtendedEdge, ElkNode } from "elkjs/lib/elk-api.js"
import type { NodeStatus } from "../../../trace/fold.js"
import type { GraphNode, GraphView } from "../graph.js"
import { h, replace, s } from "./dom.js"

type Elk = { layout: (graph: ElkNode) => Promise<ElkNode> }
let elk: Promise<Elk> | undefined
const loadElk = (): Promise<Elk> => {
  elk ??= import("elkjs/lib/elk.bundled.js").then((m) => {
    const ELK = (m as unknown as { default: new() => Elk }).default
    return new ELK()
  })
  return elk
}

/** What the DAG shows of one node. */
export interface NodeLook {
  readonly state: NodeStatus
  /** A short note (`3/5 done`, `attempt 2`). */
  readonly note: string
}

/** Options of the DAG view. */
export interface DagOptions {
  readonly onSelect: (key: string) => void
}

const isGroup = (n: GraphNode): boolean => n.scopes.length > 0

const LEAF_H = 46
const HEADER = 28
const CHAR_W = 7.2

/** Room for the label and the state note (`3/5 done, running`) on the first line, the kind and detail on the second. */
const width = (n: GraphNode): number =>
  Math.min(
    300,
    Math.max(
      150,
      Math.min(n.label.length, 32) * CHAR_W + 30 + (isGroup(n) ? 20 : 0) + 110,
      Math.min(`${n.kind} ${n.detail}`.length, 40) * 6.6 + 24
    )
  )

/** The DAG view: `render` lays out and draws; `update` recolours without a new layout. */
export class DagView {
  readonly root: HTMLElement
  private readonly svgHost: HTMLElement
  private readonly collapsed = new Set<string>()
  private looks = new Map<string, NodeLook>()
  private selected: string | undefined
  private generation = 0

  constructor(private readonly graph: GraphView, private readonly options: DagOptions) {
    this.svgHost = h("div", { class: "dag-scroll" })
    this.root = h(
      "section",
      { class: "card dag", "aria-labelledby": "dag-title" },
      h("h2", { id: "dag-title" }, "Program graph"),
      graph.truncated ? h("p", { class: "note" }, "The program is large: the picture is cut.") : null,
      this.svgHost
    )
    // Large groups start collapsed so the picture stays readable.
    const walk = (nodes: ReadonlyArray<GraphNode>, depth: number) => {
      for (const n of nodes) {
        if (!isGroup(n)) continue
        const size = n.scopes.reduce((a, sc) => a + sc.nodes.length, 0)
        if (depth >= 2 || size > 12) this.collapsed.add(n.key)
        for (const sc of n.scopes) walk(sc.nodes, depth + 1)
      }
    }
    walk(graph.nodes, 0)
  }

  /** Lays the graph out and draws it. */
  async render(): Promise<void> {
    const gen = ++this.generation
    replace(this.svgHost, h("p", { class: "note" }, "Laying out the graph…"))
    const layout = await (await loadElk()).layout(this.toElk())
    if (gen !== this.generation) return
    this.draw(layout)
  }

  /** Recolours nodes (states changed). */
  update(looks: Map<string, NodeLook>): void {
    this.looks = looks
    for (const el of this.svgHost.querySelectorAll<SVGGElement>("[data-key]")) this.paint(el)
  }

  /** Marks the selected node. */
  select(key: string | undefined): void {
    this.selected = key
    for (const el of this.svgHost.querySelectorAll<SVGGElement>("[data-key]")) {
      el.classList.toggle("selected", el.dataset.key === key)
      el.setAttribute("aria-pressed", String(el.dataset.key === key))
    }
  }

  private toElk(): ElkNode {
    const nodeOf = (n: GraphNode): ElkNode => {
      const w = width(n)
      if (!isGroup(n) || this.collapsed.has(n.key)) return { id: n.key, width: w, height: LEAF_H }
      const children: Array<ElkNode> = []
      const edges: Array<ElkExtendedEdge> = []
      if (n.scopes.length === 1) {
        const sc = n.scopes[0]!
        const prefix = sc.segment === "" ? `${n.key}/` : `${n.key}/${sc.segment}/`
        for (const node of sc.nodes) children.push(nodeOf(node))
        for (const edge of edgesOf(sc.nodes, prefix)) edges.push(edge)
      } else {
        for (const sc of n.scopes) {
          const id = `${n.key}/${sc.segment}`
          children.push({
            id: `scope:${id}`,
            labels: [{ text: sc.title }],
            layoutOptions: { "elk.padding": `[top=${HEADER},left=10,bottom=10,right=10]` },
            children: sc.nodes.length === 0 ? [{ id: `empty:${id}`, width: 90, height: 30 }] : sc.nodes.map(nodeOf),
            edges: edgesOf(sc.nodes, `${id}/`)
          })
        }
      }
      return {
        id: n.key,
        labels: [{ text: n.label }],
        layoutOptions: { "elk.padding": `[top=${HEADER + 6},left=12,bottom=12,right=12]` },
        children,
        edges
      }
    }
    const edgesOf = (nodes: ReadonlyArray<GraphNode>, prefix: string): Array<ElkExtendedEdge> =>
      nodes.flatMap((n) =>
        n.deps.map((d) => ({ id: `e:${prefix}${d}->${n.key}`, sources: [`${prefix}${d}`], targets: [n.key] }))
      )
    return {
      id: "root",
      layoutOptions: {
        "elk.algorithm": "layered",
        "elk.direction": "DOWN",
        "elk.hierarchyHandling": "INCLUDE_CHILDREN",
        "elk.layered.spacing.nodeNodeBetweenLayers": "36",
        "elk.spacing.nodeNode": "22",
        "elk.edgeRouting": "ORTHOGONAL",
        "elk.padding": "[top=10,left=10,bottom=10,right=10]"
      },
      children: this.graph.nodes.map(nodeOf),
      edges: edgesOf(this.graph.nodes, "")
    }
  }

  private draw(layout: ElkNode): void {
    const byKey = new Map<string, GraphNode>()
    const walk = (nodes: ReadonlyArray<GraphNode>) => {
      for (const n of nodes) {
        byKey.set(n.key, n)
        for (const sc of n.scopes) walk(sc.nodes)
      }
    }
    walk(this.graph.nodes)
    const W = Math.ceil(layout.width ?? 200)
    const H = Math.ceil(layout.height ?? 100)
    const svg = s("svg", {
      class: "dag-svg",
      width: W,
      height: H,
      viewBox: `0 0 ${W} ${H}`,
      role: "group",
      "aria-label":
        `Graph of program ${this.graph.program}: ${byKey.size} nodes. Use Tab or the arrow keys to move between nodes, Enter to open one.`
    })
    svg.append(
      s(
        "defs",
        {},
        s("marker", {
          id: "arrow",
          viewBox: "0 0 10 10",
          refX: 10,
          refY: 5,
          markerWidth: 7,
          markerHeight: 7,
          orient: "auto-start-reverse"
        }, s("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrowhead" }))
      )
    )
    const drawIn = (parent: SVGGElement | SVGSVGElement, node: ElkNode): void => {
      for (const e of node.edges ?? []) {
        for (const sec of e.sections ?? []) {
          const pts = [sec.startPoint, ...(sec.bendPoints ?? []), sec.endPoint]
          parent.append(
            s("path", {
              class: "edge",
              d: "M " + pts.map((p) => `${p.x} ${p.y}`).join(" L "),
              "marker-end": "url(#arrow)",
              "aria-hidden": "true"
            })
          )
        }
      }
      for (const c of node.children ?? []) {
        const x = c.x ?? 0
        const y = c.y ?? 0
        const w = c.width ?? 0
        const ht = c.height ?? 0
        if (c.id.startsWith("scope:")) {
          const g = s("g", {
            transform: `translate(${x},${y})`,
            role: "group",
            "aria-label": c.labels?.[0]?.text ?? ""
          })
          g.append(
            s("rect", { class: "scope", width: w, height: ht, rx: 6 }),
            s("text", { class: "scope-title", x: 8, y: 17 }, c.labels?.[0]?.text ?? "")
          )
          drawIn(g, c)
          parent.append(g)
          continue
        }
        if (c.id.startsWith("empty:")) {
          parent.append(s("text", { class: "scope-empty", x: x + 8, y: y + 20 }, "(nothing)"))
          continue
        }
        const n = byKey.get(c.id)
        if (n === undefined) continue
        if (isGroup(n) && !this.collapsed.has(n.key)) {
          const g = s("g", { transform: `translate(${x},${y})`, role: "group", "aria-label": `${n.kind} ${n.label}` })
          const header = s("g", {
            class: "node group-header",
            "data-key": n.key,
            tabindex: 0,
            role: "button",
            "aria-pressed": "false"
          })
          header.append(
            s("rect", { class: "group-box", width: w, height: ht, rx: 8 }),
            s("rect", { class: "group-bar", width: w, height: HEADER, rx: 8 }),
            s("text", { class: "label", x: 30, y: 18 }, `${n.label}`),
            s("text", { class: "note", x: w - 8, y: 18, "text-anchor": "end" }, "")
          )
          g.append(header)
          g.append(this.toggle(n, true))
          drawIn(g, c)
          parent.append(g)
          this.paint(header)
          continue
        }
        const g = s("g", {
          class: "node",
          transform: `translate(${x},${y})`,
          "data-key": n.key,
          tabindex: 0,
          role: "button",
          "aria-pressed": "false"
        })
        g.append(
          s("rect", { class: "box", width: w, height: ht, rx: 8 }),
          s(
            "text",
            { class: "label", x: isGroup(n) ? 30 : 10, y: 18 },
            n.label.length > 32 ? n.label.slice(0, 31) + "…" : n.label
          ),
          s("text", { class: "detail", x: 10, y: 36 }, `${n.kind} ${n.detail}`.slice(0, Math.floor((w - 16) / 6.4))),
          s("text", { class: "note", x: w - 8, y: 18, "text-anchor": "end" }, "")
        )
        parent.append(g)
        if (isGroup(n)) parent.append(this.toggle(n, false, x, y))
        this.paint(g)
      }
    }
    drawIn(svg, layout)
    svg.addEventListener("click", (e) => {
      const el = (e.target as Element).closest<SVGGElement>("[data-key]")
      if (el !== null) this.options.onSelect(el.dataset.key!)
    })
    svg.addEventListener("keydown", (e) => this.key(e, svg))
    replace(this.svgHost, svg)
    this.select(this.selected)
  }

  /** The collapse/expand button of a group. */
  private toggle(n: GraphNode, expanded: boolean, x = 0, y = 0): SVGGElement {
    const b = s("g", {
      class: "toggle",
      transform: `translate(${x + 4},${y + 4})`,
      tabindex: 0,
      role: "button",
      "aria-expanded": String(expanded),
      "aria-label": `${expanded ? "Collapse" : "Expand"} ${n.kind} ${n.label}`
    })
    b.append(
      s("rect", { width: 20, height: 20, rx: 4 }),
      s("text", { x: 10, y: 15, "text-anchor": "middle", "aria-hidden": "true" }, expanded ? "−" : "+")
    )
    const flip = (e: Event) => {
      e.stopPropagation()
      if (expanded) this.collapsed.add(n.key)
      else this.collapsed.delete(n.key)
      void this.render().then(() => {
        this.svgHost.querySelector<SVGGElement>(`.toggle[aria-label$="${CSS.escape(`${n.kind} ${n.label}`)}"]`)?.focus()
      })
    }
    b.addEventListener("click", flip)
    b.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault()
        flip(e)
      }
    })
    return b
  }

  private paint(el: SVGGElement): void {
    const key = el.dataset.key!
    const look = this.looks.get(key) ?? { state: "waiting" as const, note: "" }
    for (const c of [...el.classList]) if (c.startsWith("st-")) el.classList.remove(c)
    el.classList.add(`st-${look.state}`)
    const note = el.querySelector<SVGTextElement>("text.note")
    if (note !== null) note.textContent = look.note === "" ? look.state : look.note
    const label = el.querySelector("text.label")?.textContent ?? key
    const detail = el.querySelector("text.detail")?.textContent ?? ""
    el.setAttribute(
      "aria-label",
      `${label}, ${detail === "" ? "group" : detail}: ${look.state}${look.note === "" ? "" : ` (${look.note})`}`
    )
  }

  private key(e: KeyboardEvent, svg: SVGSVGElement): void {
    const target = e.target as Element
    const node = target.closest<SVGGElement>("[data-key]")
    if (node === null || target.classList.contains("toggle")) return
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault()
      this.options.onSelect(node.dataset.key!)
      return
    }
    const all = [...svg.querySelectorAll<SVGGElement>("[data-key]")]
    const i = all.indexOf(node)
    const next = e.key === "ArrowDown" || e.key === "ArrowRight"
      ? all[i + 1]
      : e.key === "ArrowUp" || e.key === "ArrowLeft"
      ? all[i - 1]
      : e.key === "Home"
      ? all[0]
      : e.key === "End"
      ? all[all.length - 1]
      : undefined
    if (next !== undefined) {
      e.preventDefault()
      next.focus()
    }
  }
}
