/**
 * The timeline (Gantt) of a run: one row per node instance that started,
 * in start order; a light segment for the wait between ready and started,
 * one bar per tool attempt (a failed attempt in the colour of failure), a
 * hatched segment for each retry's back-off wait, and for nodes without
 * attempts one bar from start to end. The runs of one fan-out (a map body's
 * node, once per item) are grouped in a lane: a summary row that expands
 * into their rows (open by default up to `OPEN_LANE` runs). Only the rows in
 * view are drawn (the list scrolls through thousands); a filter keeps the
 * rows it accepts. Rows are buttons (browser code).
 */
import type { NodeState, RunState } from "../../../trace/fold.js"
import { fmtDuration, h, replace, s } from "./dom.js"

const ROW = 24
/** Rows drawn beyond the visible ones, above and below. */
const OVERSCAN = 12
/** A lane of up to this many runs starts open. */
const OPEN_LANE = 20
const AXIS_H = 22
/** The right-hand column of a lane's count (`998/1000`), kept clear of the bars. */
const COUNT_W = 74

/** Options of the timeline. */
export interface GanttOptions {
  /** Display label of a node path. */
  readonly labelOf: (path: string) => string
  /** The picture's key (path template) of a node path, which groups a fan-out's runs in one lane. */
  readonly keyOf: (path: string) => string | undefined
  /** Display label of a key. */
  readonly keyLabel: (key: string) => string
  readonly onSelect: (path: string) => void
}

/** One line of the timeline: a node run, or the summary of a fan-out's lane. */
type Line =
  | { readonly kind: "run"; readonly node: NodeState; readonly inLane: boolean }
  | { readonly kind: "lane"; readonly key: string; readonly nodes: ReadonlyArray<NodeState>; readonly open: boolean }

/** The timeline view. */
export class GanttView {
  readonly root: HTMLElement
  private readonly host: HTMLElement
  private readonly axis: HTMLElement
  private readonly spacer: HTMLElement
  private readonly summary: HTMLElement
  private selected: string | undefined
  private last: { readonly state: RunState; readonly now: number } | undefined
  private lines: ReadonlyArray<Line> = []
  private scale: { readonly t0: number; readonly span: number; readonly width: number; readonly labelW: number } = {
    t0: 0,
    span: 1,
    width: 700,
    labelW: 170
  }
  private match: ((n: NodeState) => boolean) | undefined
  /** Lanes the reader opened or closed (by key), over the default. */
  private readonly laneOpen = new Map<string, boolean>()
  private drawnWidth = 0
  private frame = false
  /**
   * The scroll box's size and scroll offset as last seen by its observers (reading them after drawing would make
   * the browser lay out the page before its time); undefined until first seen.
   */
  private size: { readonly w: number; readonly h: number } | undefined
  private scrollY = 0

  constructor(private readonly options: GanttOptions) {
    this.axis = h("div", { class: "gantt-axis", "aria-hidden": "true" })
    this.spacer = h("div", { class: "gantt-spacer" })
    this.host = h("div", { class: "gantt-scroll" }, this.spacer)
    this.summary = h("p", { class: "note gantt-count", role: "status" })
    this.host.addEventListener("scroll", () => {
      this.scrollY = this.host.scrollTop
      this.schedule()
    })
    // Redraw when the space changes (the node panel opens, the window turns).
    new ResizeObserver(() => {
      this.size = { w: this.host.clientWidth, h: this.host.clientHeight }
      if (this.last !== undefined && Math.abs(this.size.w - this.drawnWidth) > 4) {
        this.render(this.last.state, this.last.now)
      }
    }).observe(this.host)
    this.host.addEventListener("click", (e) => {
      const row = (e.target as Element).closest<SVGGElement>("[data-path], [data-lane]")
      if (row !== null) this.activate(row)
    })
    this.host.addEventListener("keydown", (e) => this.key(e))
    this.root = h(
      "section",
      { class: "card gantt", "aria-labelledby": "gantt-title" },
      h("h2", { id: "gantt-title" }, "Timeline"),
      h(
        "p",
        { class: "legend-line", "aria-hidden": "true" },
        h("span", { class: "sw wait" }),
        " waiting for a slot ",
        h("span", { class: "sw attempt" }),
        " attempt ",
        h("span", { class: "sw attempt-failed" }),
        " failed attempt ",
        h("span", { class: "sw backoff" }),
        " retry back-off"
      ),
      this.summary,
      this.axis,
      this.host
    )
  }

  /** Keeps only the node runs `match` accepts (lanes open to show them); undefined shows all. */
  filter(match: ((n: NodeState) => boolean) | undefined): void {
    this.match = match
    if (this.last !== undefined) this.render(this.last.state, this.last.now)
  }

  /** Lays out the lines of `state` (`now` closes bars still open) and draws the ones in view. */
  render(state: RunState, now: number): void {
    this.last = { state, now }
    this.size ??= { w: this.host.clientWidth, h: this.host.clientHeight }
    this.drawnWidth = this.size.w
    const all = Object.values(state.nodes).filter((n) => n.startedAt !== null || n.readyAt !== null)
    const nodes = this.match === undefined ? all : all.filter(this.match)
    const start = (n: NodeState) => n.startedAt ?? n.readyAt ?? 0
    nodes.sort((a, b) => start(a) - start(b))
    // Group the runs of one key that ran more than once (a fan-out) into a lane, placed at its first run.
    const byKey = new Map<string, Array<NodeState>>()
    for (const n of nodes) {
      const key = this.options.keyOf(n.path) ?? n.path
      const list = byKey.get(key)
      if (list === undefined) byKey.set(key, [n])
      else list.push(n)
    }
    const lines: Array<Line> = []
    const placed = new Set<string>()
    for (const n of nodes) {
      const key = this.options.keyOf(n.path) ?? n.path
      const group = byKey.get(key)!
      if (group.length < 2) {
        lines.push({ kind: "run", node: n, inLane: false })
        continue
      }
      if (placed.has(key)) continue
      placed.add(key)
      const open = this.laneOpen.get(key) ?? (this.match !== undefined || group.length <= OPEN_LANE)
      lines.push({ kind: "lane", key, nodes: group, open })
      if (open) { for (const m of group) lines.push({ kind: "run", node: m, inLane: true }) }
    }
    this.lines = lines
    const t0 = state.startedAt ?? nodes[0]?.readyAt ?? now
    const t1 = Math.max(state.endedAt ?? now, t0 + 1)
    const width = Math.max(300, Math.min(1100, this.drawnWidth || 700))
    this.scale = { t0, span: t1 - t0, width, labelW: Math.min(190, Math.round(width * 0.32)) }
    this.summary.textContent = `${nodes.length} node run${nodes.length === 1 ? "" : "s"}${
      this.match === undefined ? "" : ` match (of ${all.length})`
    }${byKey.size < nodes.length ? `, ${placed.size} fan-out lane${placed.size === 1 ? "" : "s"}` : ""}.`
    this.spacer.style.height = `${lines.length * ROW + 4}px`
    this.drawAxis()
    this.drawRows()
  }

  /** Reads the scroll box's size now (the page calls it once the box is in the page, before drawing the graph). */
  measure(): void {
    this.size = { w: this.host.clientWidth, h: this.host.clientHeight }
  }

  /** Marks the selected row. */
  select(path: string | undefined): void {
    this.selected = path
    for (const el of this.host.querySelectorAll<SVGGElement>("[data-path]")) {
      el.classList.toggle("selected", el.dataset.path === path)
    }
  }

  private schedule(): void {
    if (this.frame) return
    this.frame = true
    requestAnimationFrame(() => {
      this.frame = false
      this.drawRows()
    })
  }

  private x(t: number): number {
    const { t0, span, width, labelW } = this.scale
    return labelW + ((t - t0) / span) * (width - labelW - COUNT_W)
  }

  private drawAxis(): void {
    const { t0, span, width } = this.scale
    const ticks = width < 560 ? 2 : 4
    const svg = s("svg", { class: "gantt-svg", width, height: AXIS_H })
    for (let i = 0; i <= ticks; i++) {
      const t = t0 + (span * i) / ticks
      const xx = this.x(t)
      svg.append(
        s("line", { class: "tick", x1: xx, x2: xx, y1: 15, y2: AXIS_H }),
        s("text", {
          class: "tick-label",
          x: xx,
          y: 11,
          "text-anchor": i === 0 ? "start" : i === ticks ? "end" : "middle"
        }, fmtDuration(t - t0))
      )
    }
    replace(this.axis, svg)
  }

  /** Draws the lines in view (and a few more) into one SVG placed at their offset. */
  private drawRows(): void {
    if (this.last === undefined) return
    const { width } = this.scale
    const first = Math.max(0, Math.floor(this.scrollY / ROW) - OVERSCAN)
    // The box's height may be that of fewer rows than it will hold (it grows with them): a window's worth at least.
    const count = Math.ceil(Math.max(this.size?.h ?? 0, window.innerHeight * 0.7) / ROW) + 2 * OVERSCAN
    const shown = this.lines.slice(first, first + count)
    const focused = document.activeElement instanceof SVGGElement && this.host.contains(document.activeElement)
      ? document.activeElement.dataset.path ?? document.activeElement.dataset.lane
      : undefined
    const svg = s("svg", {
      class: "gantt-svg gantt-rows",
      width,
      height: shown.length * ROW,
      role: "group",
      "aria-label": `Timeline rows ${first + 1} to ${first + shown.length} of ${this.lines.length}`
    })
    // Through the CSSOM: the page's CSP refuses style attributes.
    svg.style.top = `${first * ROW}px`
    shown.forEach((line, i) => svg.append(this.drawLine(line, i * ROW, first + i)))
    replace(
      this.host,
      this.spacer,
      this.lines.length === 0 ? h("p", { class: "note" }, "No node has started yet.") : svg
    )
    if (focused !== undefined) {
      this.host.querySelector<SVGGElement>(`[data-path="${CSS.escape(focused)}"], [data-lane="${CSS.escape(focused)}"]`)
        ?.focus({ preventScroll: true })
    }
  }

  private drawLine(line: Line, y: number, index: number): SVGGElement {
    const { width, labelW } = this.scale
    const now = this.last!.now
    if (line.kind === "lane") {
      const done = line.nodes.filter((n) => n.state === "done" || n.state === "cached").length
      const state = line.nodes.some((n) => n.state === "failed")
        ? "failed"
        : done === line.nodes.length
        ? "done"
        : "running"
      const row = s("g", {
        class: `row lane st-${state}`,
        "data-lane": line.key,
        "data-index": index,
        tabindex: 0,
        role: "button",
        "aria-expanded": String(line.open),
        "aria-label": `${this.options.keyLabel(line.key)}: fan-out of ${line.nodes.length} runs, ${done} done; ${
          line.open ? "collapse" : "expand"
        }`
      })
      const lo = Math.min(...line.nodes.map((n) => n.startedAt ?? n.readyAt ?? now))
      const hi = Math.max(...line.nodes.map((n) => n.endedAt ?? now))
      row.append(
        s("rect", { class: "row-bg", x: 0, y, width, height: ROW - 2 }),
        s(
          "text",
          { class: "row-label lane-label", x: 4, y: y + 15 },
          `${line.open ? "▾" : "▸"} ${this.options.keyLabel(line.key)} ×${line.nodes.length}`.slice(
            0,
            Math.floor(labelW / 7)
          )
        ),
        s("rect", {
          class: "seg lane-bar",
          x: this.x(lo),
          y: y + 4,
          width: Math.max(2, this.x(hi) - this.x(lo)),
          height: ROW - 10
        }),
        s(
          "text",
          { class: "lane-count", x: width - 4, y: y + 15, "text-anchor": "end" },
          `${done}/${line.nodes.length}`
        )
      )
      return row
    }
    const n = line.node
    const row = s("g", {
      class: `row st-${n.state}${n.path === this.selected ? " selected" : ""}${line.inLane ? " in-lane" : ""}`,
      "data-path": n.path,
      "data-index": index,
      tabindex: 0,
      role: "button",
      "aria-label": this.describe(n, now)
    })
    row.append(s("rect", { class: "row-bg", x: 0, y, width, height: ROW - 2 }))
    row.append(
      s(
        "text",
        { class: "row-label", x: line.inLane ? 16 : 4, y: y + 15 },
        this.options.labelOf(n.path).slice(0, Math.floor((labelW - (line.inLane ? 12 : 0)) / 7))
      )
    )
    const start = n.startedAt ?? n.readyAt!
    if (n.readyAt !== null && n.startedAt !== null && n.startedAt > n.readyAt) {
      row.append(
        s("rect", {
          class: "seg wait",
          x: this.x(n.readyAt),
          y: y + 8,
          width: Math.max(1, this.x(n.startedAt) - this.x(n.readyAt)),
          height: 6
        })
      )
    }
    if (n.attempts.length === 0) {
      const end = n.endedAt ?? now
      row.append(
        s("rect", {
          class: "seg bar",
          x: this.x(start),
          y: y + 3,
          width: Math.max(2, this.x(end) - this.x(start)),
          height: ROW - 8
        })
      )
      return row
    }
    for (const a of n.attempts) {
      const end = a.endedAt ?? n.endedAt ?? now
      const failed = a.errorKind !== null
      row.append(
        s(
          "rect",
          {
            class: `seg ${failed ? "attempt-failed" : "attempt"}`,
            x: this.x(a.startedAt),
            y: y + 3,
            width: Math.max(2, this.x(end) - this.x(a.startedAt)),
            height: ROW - 8
          },
          s("title", {}, `attempt ${a.attempt}: ${fmtDuration(end - a.startedAt)}${failed ? ` (${a.errorKind})` : ""}`)
        )
      )
      if (a.retryDelayMs !== null && a.retryDelayMs > 0) {
        row.append(
          s("rect", {
            class: "seg backoff",
            x: this.x(end),
            y: y + 3,
            width: Math.max(2, this.x(end + a.retryDelayMs) - this.x(end)),
            height: ROW - 8
          }, s("title", {}, `back-off ${fmtDuration(a.retryDelayMs)}`))
        )
      }
    }
    return row
  }

  private activate(row: SVGGElement): void {
    const lane = row.dataset.lane
    if (lane !== undefined) {
      this.laneOpen.set(lane, row.getAttribute("aria-expanded") !== "true")
      if (this.last !== undefined) this.render(this.last.state, this.last.now)
      this.host.querySelector<SVGGElement>(`[data-lane="${CSS.escape(lane)}"]`)?.focus({ preventScroll: true })
      return
    }
    this.options.onSelect(row.dataset.path!)
  }

  private key(e: KeyboardEvent): void {
    const row = (e.target as Element).closest<SVGGElement>("[data-path], [data-lane]")
    if (row === null) return
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault()
      this.activate(row)
    } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault()
      const next = Number(row.dataset.index) + (e.key === "ArrowDown" ? 1 : -1)
      if (next < 0 || next >= this.lines.length) return
      // Scroll the next row into the drawn window first, then focus it.
      const top = next * ROW
      if (top < this.host.scrollTop) this.host.scrollTop = top
      else if (top + ROW > this.host.scrollTop + this.host.clientHeight) {
        this.host.scrollTop = top + ROW - this.host.clientHeight
      }
      this.scrollY = this.host.scrollTop
      this.drawRows()
      this.host.querySelector<SVGGElement>(`[data-index="${next}"]`)?.focus({ preventScroll: true })
    }
  }

  private describe(n: NodeState, now: number): string {
    const start = n.startedAt ?? n.readyAt
    const d = start === null ? "" : `, ${fmtDuration((n.endedAt ?? now) - start)}`
    const retries = n.attempts.filter((a) => a.retryDelayMs !== null).length
    return `${this.options.labelOf(n.path)}: ${n.state}${d}${
      n.attempts.length > 0 ? `, ${n.attempts.length} attempt(s)` : ""
    }${retries > 0 ? `, ${retries} retried` : ""}`
  }
}
