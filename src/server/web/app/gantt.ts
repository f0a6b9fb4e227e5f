/**
 * The timeline (Gantt) of a run: one row per node instance that started,
 * in start order; a light segment for the wait between ready and started,
 * one bar per tool attempt (a failed attempt in the colour of failure), a
 * hatched segment for each retry's back-off wait, and for nodes without
 * attempts one bar from start to end. Rows are buttons (browser code).
 */
import type { NodeState, RunState } from "../../../trace/fold.js"
import { fmtDuration, h, replace, s } from "./dom.js"

const ROW = 24
const MAX_ROWS = 400

/** Options of the timeline. */
export interface GanttOptions {
  /** Display label of a node path. */
  readonly labelOf: (path: string) => string
  readonly onSelect: (path: string) => void
}

/** The timeline view. */
export class GanttView {
  readonly root: HTMLElement
  private readonly host: HTMLElement
  private selected: string | undefined
  private last: { readonly state: RunState; readonly now: number } | undefined
  private drawnWidth = 0

  constructor(private readonly options: GanttOptions) {
    this.host = h("div", { class: "gantt-scroll" })
    // Redraw when the space changes (the node panel opens, the window turns).
    new ResizeObserver(() => {
      if (this.last !== undefined && Math.abs(this.host.clientWidth - this.drawnWidth) > 4) {
        this.render(this.last.state, this.last.now)
      }
    }).observe(this.host)
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
      this.host
    )
  }

  /** Draws the timeline of `state` (`now` closes bars still open). */
  render(state: RunState, now: number): void {
    this.last = { state, now }
    this.drawnWidth = this.host.clientWidth
    const nodes = Object.values(state.nodes).filter((n) => n.startedAt !== null || n.readyAt !== null)
    nodes.sort((a, b) => (a.startedAt ?? a.readyAt ?? 0) - (b.startedAt ?? b.readyAt ?? 0))
    const shown = nodes.slice(0, MAX_ROWS)
    const t0 = state.startedAt ?? shown[0]?.readyAt ?? now
    const t1 = Math.max(state.endedAt ?? now, t0 + 1)
    const span = t1 - t0
    const width = Math.max(300, Math.min(1100, this.host.clientWidth || 700))
    const labelW = Math.min(170, Math.round(width * 0.3))
    const ticks = width < 560 ? 2 : 4
    const plot = width - labelW - 10
    const x = (t: number) => labelW + ((t - t0) / span) * plot
    const svg = s("svg", {
      class: "gantt-svg",
      width,
      height: shown.length * ROW + 28,
      role: "group",
      "aria-label": `Timeline of ${shown.length} node runs over ${fmtDuration(span)}`
    })
    // Axis: 3 or 5 ticks.
    for (let i = 0; i <= ticks; i++) {
      const t = t0 + (span * i) / ticks
      const xx = x(t)
      svg.append(
        s("line", { class: "tick", x1: xx, x2: xx, y1: 16, y2: shown.length * ROW + 22, "aria-hidden": "true" }),
        s("text", {
          class: "tick-label",
          x: xx,
          y: 11,
          "text-anchor": i === 0 ? "start" : i === ticks ? "end" : "middle",
          "aria-hidden": "true"
        }, fmtDuration(t - t0))
      )
    }
    shown.forEach((n, i) => {
      const y = 20 + i * ROW
      const row = s("g", {
        class: `row st-${n.state}${n.path === this.selected ? " selected" : ""}`,
        "data-path": n.path,
        tabindex: 0,
        role: "button",
        "aria-label": this.describe(n, now)
      })
      row.append(s("rect", { class: "row-bg", x: 0, y, width, height: ROW - 2 }))
      row.append(
        s(
          "text",
          { class: "row-label", x: 4, y: y + 15 },
          this.options.labelOf(n.path).slice(0, Math.floor(labelW / 7))
        )
      )
      const start = n.startedAt ?? n.readyAt!
      if (n.readyAt !== null && n.startedAt !== null && n.startedAt > n.readyAt) {
        row.append(
          s("rect", {
            class: "seg wait",
            x: x(n.readyAt),
            y: y + 8,
            width: Math.max(1, x(n.startedAt) - x(n.readyAt)),
            height: 6
          })
        )
      }
      if (n.attempts.length > 0) {
        for (const a of n.attempts) {
          const end = a.endedAt ?? n.endedAt ?? now
          const failed = a.errorKind !== null
          row.append(
            s(
              "rect",
              {
                class: `seg ${failed ? "attempt-failed" : "attempt"}`,
                x: x(a.startedAt),
                y: y + 3,
                width: Math.max(2, x(end) - x(a.startedAt)),
                height: ROW - 8
              },
              s(
                "title",
                {},
                `attempt ${a.attempt}: ${fmtDuration(end - a.startedAt)}${failed ? ` (${a.errorKind})` : ""}`
              )
            )
          )
          if (a.retryDelayMs !== null && a.retryDelayMs > 0) {
            row.append(
              s("rect", {
                class: "seg backoff",
                x: x(end),
                y: y + 3,
                width: Math.max(2, x(end + a.retryDelayMs) - x(end)),
                height: ROW - 8
              }, s("title", {}, `back-off ${fmtDuration(a.retryDelayMs)}`))
            )
          }
        }
      } else {
        const end = n.endedAt ?? now
        row.append(
          s("rect", { class: "seg bar", x: x(start), y: y + 3, width: Math.max(2, x(end) - x(start)), height: ROW - 8 })
        )
      }
      svg.append(row)
    })
    svg.addEventListener("click", (e) => {
      const row = (e.target as Element).closest<SVGGElement>("[data-path]")
      if (row !== null) this.options.onSelect(row.dataset.path!)
    })
    svg.addEventListener("keydown", (e) => {
      const row = (e.target as Element).closest<SVGGElement>("[data-path]")
      if (row === null) return
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault()
        this.options.onSelect(row.dataset.path!)
      } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault()
        const sib = e.key === "ArrowDown" ? row.nextElementSibling : row.previousElementSibling
        if (sib instanceof SVGGElement && sib.dataset.path !== undefined) sib.focus()
      }
    })
    const focused = document.activeElement instanceof SVGGElement ? document.activeElement.dataset.path : undefined
    replace(
      this.host,
      shown.length === 0 ? h("p", { class: "note" }, "No node has started yet.") : svg,
      nodes.length > MAX_ROWS
        ? h("p", { class: "note" }, `Showing the first ${MAX_ROWS} of ${nodes.length} node runs.`)
        : null
    )
    if (focused !== undefined) this.host.querySelector<SVGGElement>(`[data-path="${CSS.escape(focused)}"]`)?.focus()
  }

  /** Marks the selected row. */
  select(path: string | undefined): void {
    this.selected = path
    for (const el of this.host.querySelectorAll<SVGGElement>("[data-path]")) {
      el.classList.toggle("selected", el.dataset.path === path)
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
