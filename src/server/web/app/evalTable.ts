/**
 * The eval page's per-example table with its filters (browser code):
 * status (completed, error — the run did not complete —, a metric failed),
 * tag, a metric's score range and text search (example id, inputs,
 * expected, output, error); the shown rows' count and the mean of a metric
 * over them with a 95% bootstrap CI (the same seeded bootstrap as the
 * report's). At most `PAGE` rows are drawn at a time ("Show more").
 */
import { summarize } from "../../../eval/stats/bootstrap.js"
import type { EvalResultView } from "./api.js"
import { fmtCost, fmtDuration, h, replace, short } from "./dom.js"

/** Rows drawn per "Show more". */
const PAGE = 200

/** The filters. */
export interface Filters {
  readonly status: "" | "completed" | "error" | "metric-failed"
  readonly tag: string
  /** The metric the range and the shown mean are about (index into the eval's metrics). */
  readonly metric: number
  readonly min: number | undefined
  readonly max: number | undefined
  readonly text: string
}

const json = (v: unknown): string => {
  try {
    return JSON.stringify(v) ?? ""
  } catch {
    return String(v)
  }
}

/** Whether a result passes the filters. */
export const passes = (r: EvalResultView, f: Filters): boolean => {
  if (f.status === "completed" && r.status !== "completed") return false
  if (f.status === "error" && r.status === "completed") return false
  if (f.status === "metric-failed" && !r.scores.some((x) => x === null)) return false
  if (f.tag !== "" && !r.tags.includes(f.tag)) return false
  if (f.min !== undefined || f.max !== undefined) {
    const score = r.scores[f.metric]
    if (score === null || score === undefined) return false
    if (f.min !== undefined && score < f.min) return false
    if (f.max !== undefined && score > f.max) return false
  }
  if (f.text !== "") {
    const hay = [r.exampleId, json(r.inputs), json(r.expected), json(r.output), r.error?.message ?? ""].join("\n")
      .toLowerCase()
    if (!hay.includes(f.text.toLowerCase())) return false
  }
  return true
}

const fmtScore = (x: number | null | undefined): string =>
  x === null || x === undefined ? "failed" : String(Math.round(x * 1000) / 1000)

const cut = (text: string, n = 80): string => (text.length > n ? text.slice(0, n - 1) + "…" : text)

/** The table and its filter form; `update(results)` redraws with new data, keeping the filters. */
export const evalTable = (metrics: ReadonlyArray<string>) => {
  let results: ReadonlyArray<EvalResultView> = []
  let limit = PAGE
  let timer: ReturnType<typeof setTimeout> | undefined

  const status = h(
    "select",
    { id: "ef-status", onchange: () => redraw() },
    h("option", { value: "" }, "any"),
    h("option", { value: "completed" }, "completed"),
    h("option", { value: "error" }, "error (run did not complete)"),
    h("option", { value: "metric-failed" }, "a metric failed")
  )
  const tag = h("select", { id: "ef-tag", onchange: () => redraw() }, h("option", { value: "" }, "any"))
  const metric = h(
    "select",
    { id: "ef-metric", onchange: () => redraw() },
    metrics.map((m, i) => h("option", { value: String(i) }, m))
  )
  const min = h("input", {
    id: "ef-min",
    type: "number",
    step: "any",
    inputmode: "decimal",
    class: "num",
    oninput: () => soon()
  })
  const max = h("input", {
    id: "ef-max",
    type: "number",
    step: "any",
    inputmode: "decimal",
    class: "num",
    oninput: () => soon()
  })
  const text = h("input", {
    id: "ef-text",
    type: "search",
    placeholder: "id, input, output…",
    oninput: () => soon()
  })
  const summary = h("p", { class: "shown-summary", role: "status", "aria-live": "polite" })
  const tbody = h("tbody")
  const more = h("button", {
    type: "button",
    onclick: () => {
      limit += PAGE
      redraw(false)
    }
  }, "Show more")

  const num = (el: HTMLInputElement): number | undefined => {
    const v = el.value.trim()
    if (v === "") return undefined
    const n = Number(v)
    return Number.isFinite(n) ? n : undefined
  }
  const filters = (): Filters => ({
    status: status.value as Filters["status"],
    tag: tag.value,
    metric: Number(metric.value) || 0,
    min: num(min),
    max: num(max),
    text: text.value.trim()
  })
  const soon = () => {
    if (timer !== undefined) clearTimeout(timer)
    timer = setTimeout(() => redraw(), 150)
  }

  const row = (r: EvalResultView): HTMLElement =>
    h(
      "tr",
      { "data-example": r.exampleId, class: r.status === "completed" ? "" : "errored" },
      h("td", { "data-label": "Example" }, h("code", {}, r.exampleId)),
      h(
        "td",
        { "data-label": "Status" },
        h("span", {
          class: `badge run-${r.status === "completed" ? "completed" : "failed"}`,
          title: r.error?.message ?? ""
        }, r.status)
      ),
      h("td", { "data-label": "Tags" }, r.tags.join(", ")),
      metrics.map((m, i) =>
        h(
          "td",
          { "data-label": m, class: `score${r.scores[i] === null ? " failed" : ""}` },
          fmtScore(r.scores[i])
        )
      ),
      h("td", { "data-label": "Latency" }, fmtDuration(r.latencyMs)),
      h("td", { "data-label": "Cost" }, fmtCost(r.cost)),
      h(
        "td",
        { "data-label": "Output", class: "out" },
        r.error !== undefined
          ? h("span", { class: "err-text", title: r.error.message }, cut(`${r.error.kind}: ${r.error.message}`))
          : h("code", { title: json(r.output) }, cut(json(r.output)))
      ),
      h(
        "td",
        { "data-label": "Run" },
        h("a", { href: `#/runs/${encodeURIComponent(r.runId)}` }, h("code", {}, short(r.runId)))
      )
    )

  const redraw = (reset = true) => {
    if (reset) limit = PAGE
    const f = filters()
    const shown = results.filter((r) => passes(r, f))
    const name = metrics[f.metric] ?? ""
    const scores = shown.map((r) => r.scores[f.metric] ?? 0)
    if (shown.length === 0) {
      summary.textContent = `No example of ${results.length} matches the filters.`
    } else {
      const s = summarize(scores, { seed: 1 })
      summary.textContent = `${shown.length} of ${results.length} examples shown · mean ${name} ${
        fmtScore(s.mean)
      } (95% CI ${fmtScore(s.ci[0])} to ${fmtScore(s.ci[1])})`
    }
    replace(
      tbody,
      shown.length === 0
        ? h("tr", {}, h("td", { colspan: 6 + metrics.length, class: "empty" }, "No example matches."))
        : shown.slice(0, limit).map(row)
    )
    more.hidden = shown.length <= limit
    more.textContent = `Show more (${shown.length - limit} hidden)`
  }

  const element = h(
    "div",
    { class: "eval-examples" },
    h(
      "form",
      { class: "filters", "aria-label": "Filter examples", onsubmit: (e: Event) => e.preventDefault() },
      h("span", { class: "field" }, h("label", { for: "ef-status" }, "Status"), status),
      h("span", { class: "field" }, h("label", { for: "ef-tag" }, "Tag"), tag),
      h("span", { class: "field" }, h("label", { for: "ef-metric" }, "Metric"), metric),
      h("span", { class: "field" }, h("label", { for: "ef-min" }, "Score ≥"), min),
      h("span", { class: "field" }, h("label", { for: "ef-max" }, "Score ≤"), max),
      h("span", { class: "field" }, h("label", { for: "ef-text" }, "Search"), text),
      h("button", {
        type: "button",
        onclick: () => {
          status.value = ""
          tag.value = ""
          metric.value = "0"
          min.value = ""
          max.value = ""
          text.value = ""
          redraw()
        }
      }, "Clear filters")
    ),
    summary,
    h(
      "div",
      { class: "table-scroll" },
      h(
        "table",
        { class: "runs examples" },
        h("caption", { class: "sr-only" }, "Examples in dataset order"),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["Example", "Status", "Tags", ...metrics, "Latency", "Cost", "Output", "Run"].map((c) =>
              h("th", { scope: "col" }, c)
            )
          )
        ),
        tbody
      )
    ),
    more
  )

  return {
    element,
    update: (next: ReadonlyArray<EvalResultView>) => {
      results = next
      const tags = [...new Set(next.flatMap((r) => r.tags))].sort()
      const chosen = tag.value
      replace(tag, h("option", { value: "" }, "any"), tags.map((t) => h("option", { value: t }, t)))
      tag.value = tags.includes(chosen) ? chosen : ""
      redraw(false)
    }
  }
}
