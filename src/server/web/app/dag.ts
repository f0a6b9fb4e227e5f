/**
 * The program's DAG as SVG (layout in `layout.ts`: ELK, or the linear-time
 * layout for big pictures), with nested scopes as boxes. Map, branch,
 * choose and call nodes are groups with a button that collapses them into
 * one node. An `if`'s taken arm and a `choose`'s chosen option (with its
 * policy and propensity) are marked, the arms not taken dimmed; a body made
 * only of expressions shows its expression. Nodes are focusable buttons
 * coloured by state (with the state in their text, not colour alone);
 * arrow keys move between nodes; Enter or Space opens one. The graph pans
 * and zooms (wheel, drag, keyboard, buttons, fit to view) inside a panel
 * sized to the layout (browser code). elkjs is loaded on first use.
 */
import type { ElkNode } from "elkjs/lib/elk-api.js"
import type { NodeStatus } from "../../../trace/fold.js"
import type { GraphNode, GraphView } from "../graph.js"
import { h, replace, s } from "./dom.js"
import {
  ARM_CHAR_W,
  boxCount,
  CHOICE_LINE,
  defaultCollapsed,
  exprText,
  groupTitle,
  HEADER,
  isGroup,
  QUICK_LAYOUT_BOXES,
  quickLayout,
  toElk
} from "./layout.js"
import { PanZoom } from "./panzoom.js"

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
  /**
   * For an `if`, `choose` or `race`: the arms that ran, by scope segment, each with a note (`chosen · p=0.50 ·
   * policy epsilon`). Absent while nothing is known.
   */
  readonly arms?: ReadonlyMap<string, string>
  /** True once every arm that will run is known: the arms not in `arms` are dimmed as not taken. */
  readonly settled?: boolean
}

/** Options of the DAG view. */
export interface DagOptions {
  readonly onSelect: (key: string) => void
}

/** The DAG view: `render` lays out and draws; `update` recolours without a new layout. */
export class DagView {
  readonly root: HTMLElement
  private readonly svgHost: HTMLElement
  private readonly collapsed: Set<string>
  private readonly byKey = new Map<string, GraphNode>()
  private looks = new Map<string, NodeLook>()
  /** What each drawn node and arm shows now (by key, and by arm), so `update` touches only what changed. */
  private painted = new Map<string, NodeLook>()
  private nodeEls: ReadonlyArray<SVGGElement> = []
  private armEls: ReadonlyArray<SVGGElement> = []
  private selected: string | undefined
  private match: ((key: string) => boolean) | undefined
  private generation = 0
  private readonly panZoom: PanZoom
  private readonly zoomNote = h("span", { class: "zoom-note", "aria-live": "polite" })

  constructor(private readonly graph: GraphView, private readonly options: DagOptions) {
    this.svgHost = h("div", {
      class: "dag-view",
      tabindex: 0,
      role: "region",
      "aria-label": "Program graph: drag or use the arrow keys to pan, the wheel or + and − to zoom, 0 to fit"
    })
    this.panZoom = new PanZoom(this.svgHost, (k) => (this.zoomNote.textContent = `${Math.round(k * 100)}%`))
    const tool = (label: string, text: string, act: () => void) =>
      h("button", { type: "button", class: "zoom-btn", "aria-label": label, title: label, onclick: act }, text)
    this.root = h(
      "section",
      { class: "card dag", "aria-labelledby": "dag-title" },
      h(
        "div",
        { class: "dag-head" },
        h("h2", { id: "dag-title" }, "Program graph"),
        h(
          "div",
          { class: "zoom-bar", role: "toolbar", "aria-label": "Zoom" },
          tool("Zoom out", "−", () => this.panZoom.zoomBy(1 / 1.25)),
          this.zoomNote,
          tool("Zoom in", "+", () => this.panZoom.zoomBy(1.25)),
          tool("Fit to view", "Fit", () => this.panZoom.fit()),
          tool("Actual size", "1:1", () => this.panZoom.actual())
        )
      ),
      graph.truncated ? h("p", { class: "note" }, "The program is large: the picture is cut.") : null,
      this.svgHost
    )
    const walk = (nodes: ReadonlyArray<GraphNode>) => {
      for (const n of nodes) {
        this.byKey.set(n.key, n)
        for (const sc of n.scopes) walk(sc.nodes)
      }
    }
    walk(graph.nodes)
    // Large groups start collapsed so the picture stays readable.
    this.collapsed = defaultCollapsed(graph)
  }

  /** Lays the graph out and draws it. */
  async render(): Promise<void> {
    const gen = ++this.generation
    if (this.svgHost.querySelector("svg") === null) {
      replace(this.svgHost, h("p", { class: "note" }, "Laying out the graph…"))
    }
    const input = toElk(this.graph, this.collapsed)
    const layout = boxCount(input) > QUICK_LAYOUT_BOXES ? quickLayout(input) : await (await loadElk()).layout(input)
    if (gen !== this.generation) return
    this.draw(layout)
  }

  /** Recolours nodes (states changed): only the nodes and arms whose look changed since they were last painted. */
  update(looks: Map<string, NodeLook>): void {
    this.looks = looks
    const changed = new Set<string>()
    for (const el of this.nodeEls) {
      const key = el.dataset.key!
      const look = looks.get(key)
      if (this.painted.has(key) && sameLook(this.painted.get(key), look)) continue
      changed.add(key)
      this.paint(el)
    }
    for (const el of this.armEls) if (changed.has(el.dataset.armOf!)) this.paintArm(el)
    for (const key of changed) this.painted.set(key, looks.get(key) ?? WAITING)
  }

  /** Marks the selected node. */
  select(key: string | undefined): void {
    this.selected = key
    for (const el of this.svgHost.querySelectorAll<SVGGElement>("[data-key]")) {
      el.classList.toggle("selected", el.dataset.key === key)
      el.setAttribute("aria-pressed", String(el.dataset.key === key))
    }
  }

  /** Dims the nodes `match` refuses (a search or filter); undefined shows all. Answers how many nodes match. */
  filter(match: ((key: string) => boolean) | undefined): number {
    this.match = match
    let count = 0
    for (const el of this.svgHost.querySelectorAll<SVGGElement>("[data-key]")) {
      const hit = match === undefined || match(el.dataset.key!)
      if (hit && match !== undefined) count++
      el.classList.toggle("filtered-out", !hit)
      el.classList.toggle("match", hit && match !== undefined)
    }
    return count
  }

  /** Pans to a node and focuses it. */
  reveal(key: string): void {
    const el = this.svgHost.querySelector<SVGGElement>(`[data-key="${CSS.escape(key)}"]`)
    if (el === null) return
    this.panZoom.show(el)
    el.focus({ preventScroll: true })
  }

  private draw(layout: ElkNode): void {
    const W = Math.ceil(layout.width ?? 200)
    const H = Math.ceil(layout.height ?? 100)
    const svg = s("svg", {
      class: "dag-svg",
      role: "group",
      "aria-label":
        `Graph of program ${this.graph.program}: ${this.byKey.size} nodes. Use Tab or the arrow keys to move between nodes, Enter to open one.`
    })
    const content = s("g", { class: "viewport" })
    svg.append(content)
    const drawIn = (parent: SVGGElement, node: ElkNode): void => {
      // All the edges of a scope are one path, and their arrowheads another: a 30×30 program has 1,740 edges,
      // and an element each made the browser's style, layout and paint passes several times slower.
      const lines: Array<string> = []
      const heads: Array<string> = []
      for (const e of node.edges ?? []) {
        for (const sec of e.sections ?? []) {
          const pts = [sec.startPoint, ...(sec.bendPoints ?? []), sec.endPoint]
          lines.push("M" + pts.map((p) => `${r1(p.x)} ${r1(p.y)}`).join("L"))
          heads.push(arrowhead(pts[pts.length - 2]!, sec.endPoint))
        }
      }
      if (lines.length > 0) {
        parent.append(
          s("path", { class: "edge", d: lines.join(""), "aria-hidden": "true" }),
          s("path", { class: "arrowhead", d: heads.join(""), "aria-hidden": "true" })
        )
      }
      for (const c of node.children ?? []) this.drawChild(parent, c, drawIn)
    }
    drawIn(content, layout)
    svg.addEventListener("click", (e) => {
      if (this.panZoom.dragged) return
      const el = (e.target as Element).closest<SVGGElement>("[data-key]")
      if (el !== null) this.options.onSelect(el.dataset.key!)
    })
    svg.addEventListener("keydown", (e) => this.key(e, svg))
    svg.addEventListener("focusin", (e) => {
      const el = (e.target as Element).closest<SVGGElement>("[data-key], .toggle")
      if (el !== null) this.panZoom.show(el)
    })
    const first = this.svgHost.querySelector("svg") === null
    // The panel's size read before the picture is in it (the page is then cheap to lay out).
    if (first) this.panZoom.measure()
    replace(this.svgHost, svg)
    this.panZoom.attach(svg, content, W, H, first)
    this.select(this.selected)
    this.nodeEls = [...svg.querySelectorAll<SVGGElement>("[data-key]")]
    this.armEls = [...svg.querySelectorAll<SVGGElement>("[data-arm-of]")]
    this.painted.clear()
    this.update(this.looks)
    this.filter(this.match)
  }

  private drawChild(parent: SVGGElement, c: ElkNode, drawIn: (parent: SVGGElement, node: ElkNode) => void): void {
    const x = c.x ?? 0
    const y = c.y ?? 0
    const w = c.width ?? 0
    const ht = c.height ?? 0
    if (c.id.startsWith("scope:")) {
      const owner = c.id.slice("scope:".length, c.id.lastIndexOf("/"))
      const segment = c.id.slice(c.id.lastIndexOf("/") + 1)
      const title = c.labels?.[0]?.text ?? ""
      const g = s("g", {
        class: "arm",
        transform: `translate(${x},${y})`,
        "data-w": w,
        role: "group",
        "aria-label": title,
        "data-arm-of": owner,
        "data-segment": segment,
        "data-title": title
      })
      g.append(
        s("rect", { class: "scope", width: w, height: ht, rx: 6 }),
        s("text", { class: "scope-title", x: 8, y: 17 }, title),
        s("text", { class: "arm-note", x: 8, y: 17 + CHOICE_LINE }, "")
      )
      drawIn(g, c)
      parent.append(g)
      return
    }
    if (c.id.startsWith("expr:")) {
      const scopeKey = c.id.slice("expr:scope:".length)
      const owner = this.byKey.get(scopeKey.slice(0, scopeKey.lastIndexOf("/")))
      const sc = owner?.scopes.find((x) => x.segment === scopeKey.slice(scopeKey.lastIndexOf("/") + 1))
      const text = sc === undefined ? "" : exprText(sc)
      parent.append(
        s(
          "g",
          { class: "expr-box", transform: `translate(${x},${y})` },
          s("rect", { width: w, height: ht, rx: 4 }),
          s("text", { class: "expr", x: 8, y: 19 }, text),
          s("title", {}, sc === undefined ? "" : `returns ${sc.result}`)
        )
      )
      return
    }
    const n = this.byKey.get(c.id)
    if (n === undefined) return
    if (isGroup(n) && !this.collapsed.has(n.key)) {
      const g = s("g", { transform: `translate(${x},${y})`, role: "group", "aria-label": `${n.kind} ${n.label}` })
      const header = s("g", {
        class: "node group-header",
        "data-key": n.key,
        "data-w": w,
        tabindex: 0,
        role: "button",
        "aria-pressed": "false"
      })
      header.append(
        s("rect", { class: "group-box", width: w, height: ht, rx: 8 }),
        s("rect", { class: "group-bar", width: w, height: HEADER, rx: 8 }),
        s("text", { class: "label", x: 30, y: 18 }, clipText(groupTitle(n), w - 100)),
        s("text", { class: "note", x: w - 8, y: 18, "text-anchor": "end" }, "")
      )
      g.append(header)
      g.append(this.toggle(n, true))
      drawIn(g, c)
      parent.append(g)
      return
    }
    const g = s("g", {
      class: "node",
      transform: `translate(${x},${y})`,
      "data-key": n.key,
      "data-w": w,
      tabindex: 0,
      role: "button",
      "aria-pressed": "false"
    })
    g.append(
      s("rect", { class: "box", width: w, height: ht, rx: 8 }),
      s("text", { class: "label", x: isGroup(n) ? 30 : 10, y: 18 }, clipText(n.label, w - (isGroup(n) ? 150 : 130))),
      s("text", { class: "detail", x: 10, y: 36 }, clipText(`${n.kind} ${n.detail}`, w - 16, 6.6)),
      s("text", { class: "note", x: w - 8, y: 18, "text-anchor": "end" }, "")
    )
    parent.append(g)
    if (isGroup(n)) parent.append(this.toggle(n, false, x, y))
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
    const taken = look.arms === undefined ? [] : [...look.arms.keys()]
    const n = this.byKey.get(key)
    const armNote = taken.length === 0 || n === undefined
      ? ""
      : ` → ${taken.map((seg) => n.scopes.find((sc) => sc.segment === seg)?.title ?? seg).join(", ")}`
    const w = Number(el.dataset.w ?? 200)
    const noteText = look.note === "" ? look.state : look.note
    const note = el.querySelector<SVGTextElement>("text.note")
    if (note !== null) note.textContent = noteText
    // The name gets what the state note (right-aligned on the same line) leaves.
    const labelText = el.querySelector<SVGTextElement>("text.label")
    if (labelText !== null && n !== undefined) {
      const header = el.classList.contains("group-header")
      labelText.textContent = clipText(
        header ? groupTitle(n) : n.label,
        w - (header || isGroup(n) ? 30 : 10) - noteText.length * NOTE_CHAR_W - 12,
        LABEL_CHAR_W
      )
    }
    // A collapsed group says on its second line which way it went.
    const detailText = el.querySelector<SVGTextElement>("text.detail")
    if (detailText !== null && n !== undefined) {
      detailText.textContent = clipText(
        `${armNote === "" ? "" : `${armNote.slice(3)} · `}${n.kind} ${n.detail}`,
        w - 16,
        6.6
      )
    }
    el.classList.toggle("has-arm", taken.length > 0)
    const label = n?.label ?? key
    const detail = n === undefined ? "" : `${n.kind} ${n.detail}`
    el.setAttribute(
      "aria-label",
      `${label}, ${detail === "" ? "group" : detail}: ${look.state}${
        look.note === "" ? "" : ` (${look.note})`
      }${armNote}`
    )
  }

  /** Marks an arm (scope) of an `if`/`choose`/`race` as taken (with its note) or dimmed as not taken. */
  private paintArm(el: SVGGElement): void {
    const look = this.looks.get(el.dataset.armOf!)
    const segment = el.dataset.segment!
    const note = look?.arms?.get(segment)
    const taken = note !== undefined
    const untaken = !taken && look?.settled === true
    el.classList.toggle("arm-taken", taken)
    el.classList.toggle("arm-untaken", untaken)
    const title = el.querySelector<SVGTextElement>("text.scope-title")
    const base = el.dataset.title ?? ""
    const isChoose = this.byKey.get(el.dataset.armOf!)?.kind === "choose"
    const inline = !isChoose && note !== undefined && note !== "" ? ` · ${note}` : ""
    const text = taken ? `✓ ${base} (taken${inline})` : untaken ? `${base} (not taken)` : base
    // Cut to the arm's width (the layout makes room for the usual marks; a long policy name is cut, and read whole
    // in the arm's label and the node panel).
    const room = Number(el.dataset.w ?? 200) - 16
    if (title !== null) title.textContent = clipText(text, room, ARM_CHAR_W)
    // A choose's propensity and policy go on a second line (the layout leaves room for it).
    const second = el.querySelector<SVGTextElement>("text.arm-note")
    if (second !== null) second.textContent = isChoose ? clipText(note ?? "", room, ARM_CHAR_W) : ""
    el.setAttribute("aria-label", note === undefined || note === "" ? text : `${text}: ${note}`)
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
      e.stopPropagation()
      next.focus()
    }
  }
}

/** `n` to one decimal. */
const r1 = (n: number): number => Math.round(n * 10) / 10

/** An arrowhead (a closed triangle subpath) at `to`, pointing along the segment from `from`. */
const arrowhead = (from: { x: number; y: number }, to: { x: number; y: number }): string => {
  const len = Math.hypot(to.x - from.x, to.y - from.y) || 1
  const ux = (to.x - from.x) / len
  const uy = (to.y - from.y) / len
  const bx = to.x - ux * ARROW_L
  const by = to.y - uy * ARROW_L
  return `M${r1(to.x)} ${r1(to.y)}L${r1(bx - uy * ARROW_W)} ${r1(by + ux * ARROW_W)}L${r1(bx + uy * ARROW_W)} ${
    r1(by - ux * ARROW_W)
  }Z`
}
const ARROW_L = 9
const ARROW_W = 4.5

/** The look of a node no event has reached. */
const WAITING: NodeLook = { state: "waiting", note: "" }

/** Whether two looks show the same (state, note, arms and their notes). */
const sameLook = (a: NodeLook | undefined, b: NodeLook | undefined): boolean => {
  const x = a ?? WAITING
  const y = b ?? WAITING
  if (x.state !== y.state || x.note !== y.note || x.settled !== y.settled) return false
  if (x.arms === y.arms) return true
  if (x.arms === undefined || y.arms === undefined || x.arms.size !== y.arms.size) return false
  for (const [k, v] of x.arms) if (y.arms.get(k) !== v) return false
  return true
}

/** Width of a character of a node's name (12.5 px, semi-bold) and of a state note (11 px). */
const LABEL_CHAR_W = 7.6
const NOTE_CHAR_W = 6.4

/** `text` cut with `…` to about `room` pixels (at `charW` per character). */
const clipText = (text: string, room: number, charW = LABEL_CHAR_W): string => {
  const max = Math.max(4, Math.floor(room / charW))
  return text.length > max ? text.slice(0, max - 1) + "…" : text
}
