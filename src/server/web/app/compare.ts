/**
 * The compare view (`#/compare/<a>/<b>`): two runs of one program side by
 * side — status, duration and cost of each, and per node path the state
 * and duration in each run (with bars on a shared scale) and whether the
 * outputs differ, with both outputs shown where they do. Both runs are
 * followed live (browser code).
 */
import type { NodeState } from "../../../trace/fold.js"
import { ApiError, call } from "./api.js"
import type { RunProgram, RunView } from "./api.js"
import { fmtCost, fmtDuration, h, json, replace, short } from "./dom.js"
import { durationOf, keyOf, RunModel } from "./model.js"
import { follow } from "./sse.js"

/** Draws the compare view into `main`; returns its disposer. */
export const comparePage = (main: HTMLElement, a: string, b: string): () => void => {
  const cleanups: Array<() => void> = []
  let disposed = false
  replace(main, h("h1", {}, "Compare runs"), h("p", { class: "note", role: "status" }, "Loading…"))
  void (async () => {
    let runs: [RunView, RunView]
    try {
      runs = await Promise.all([a, b].map((id) => call<RunView>(`/v1/runs/${encodeURIComponent(id)}`))) as [
        RunView,
        RunView
      ]
    } catch (e) {
      replace(
        main,
        h("h1", {}, "Compare runs"),
        h("p", { class: "error", role: "alert" }, e instanceof ApiError ? `${e.tag}: ${e.message}` : String(e))
      )
      return
    }
    const program = await call<RunProgram>(`/v1/runs/${encodeURIComponent(a)}/program`).catch(() => undefined)
    if (disposed) return
    const graph = program?.graph
    const models = runs.map((r) => new RunModel(r.runId, graph)) as [RunModel, RunModel]
    const onlyDiff = h("input", { type: "checkbox", id: "only-diff", onchange: () => render() })
    const summary = h("div", { class: "compare-summary" })
    const tbody = h("tbody")
    const labelOf = (path: string): string => {
      const key = graph === undefined ? undefined : keyOf(graph, path)
      const find = (nodes: NonNullable<typeof graph>["nodes"]): string | undefined => {
        for (const n of nodes) {
          if (n.key === key) return n.label
          for (const sc of n.scopes) {
            const f = find(sc.nodes)
            if (f !== undefined) return f
          }
        }
        return undefined
      }
      const base = (graph === undefined ? undefined : find(graph.nodes)) ?? models[0].state.nodes[path]?.label ?? path
      const items = [...path.matchAll(/\/(\d+)(?=\/)/g)].map((m) => m[1])
      return items.length > 0 ? `${base} [${items.join(",")}]` : base
    }
    const bar = (ms: number | null, max: number, side: "a" | "b") => {
      if (ms === null) return "—"
      const fill = h("span", { class: `dur-bar ${side}`, "aria-hidden": "true" })
      // CSSOM, not a style attribute: the page's CSP allows no inline styles.
      fill.style.width = `${Math.max(2, Math.round((ms / Math.max(1, max)) * 100))}%`
      return h("span", { class: "dur" }, fill, fmtDuration(ms))
    }
    let pending = false
    const render = () => {
      if (pending || disposed) return
      pending = true
      requestAnimationFrame(() => {
        pending = false
        if (disposed) return
        const [ma, mb] = models
        const now = Date.now()
        const paths: Array<string> = []
        const seen = new Set<string>()
        for (const m of models) {
          for (const p of Object.keys(m.state.nodes)) {
            if (!seen.has(p)) {
              seen.add(p)
              paths.push(p)
            }
          }
        }
        const get = (
          m: RunModel,
          p: string
        ):
          | NodeState
          | undefined => (Object.prototype.hasOwnProperty.call(m.state.nodes, p) ? m.state.nodes[p] : undefined)
        const rows = paths.map((p) => {
          const x = get(ma, p)
          const y = get(mb, p)
          const dx = x === undefined ? null : durationOf(x, ma.state.endedAt ?? now)
          const dy = y === undefined ? null : durationOf(y, mb.state.endedAt ?? now)
          const differs = x !== undefined && y !== undefined && x.outputHash !== null && y.outputHash !== null &&
            x.outputHash !== y.outputHash
          const missing = (x === undefined) !== (y === undefined)
          return { p, x, y, dx, dy, differs, missing }
        })
        const max = Math.max(1, ...rows.flatMap((r) => [r.dx ?? 0, r.dy ?? 0]))
        const differing = rows.filter((r) => r.differs || r.missing).length
        const runDur = (m: RunModel, r: RunView) =>
          m.state.startedAt === null ? null : (m.state.endedAt ?? r.endedAt ?? now) - m.state.startedAt
        replace(
          summary,
          runs[0].programHash !== runs[1].programHash
            ? h(
              "p",
              { class: "error", role: "note" },
              `These runs ran different programs (${short(runs[0].programHash)} and ${
                short(runs[1].programHash)
              }): nodes are matched by path.`
            )
            : null,
          h(
            "table",
            { class: "kv compare-runs" },
            h("caption", { class: "sr-only" }, "The two runs"),
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                h("th", { scope: "col" }, ""),
                h("th", { scope: "col" }, "Run A"),
                h("th", { scope: "col" }, "Run B")
              )
            ),
            h(
              "tbody",
              {},
              h(
                "tr",
                {},
                h("th", { scope: "row" }, "Run"),
                ...runs.map((r) =>
                  h("td", {}, h("a", { href: `#/runs/${encodeURIComponent(r.runId)}` }, h("code", {}, short(r.runId))))
                )
              ),
              h(
                "tr",
                {},
                h("th", { scope: "row" }, "Program"),
                ...runs.map((r) => h("td", {}, `${r.programName} `, h("code", {}, short(r.programHash))))
              ),
              h(
                "tr",
                {},
                h("th", { scope: "row" }, "Status"),
                ...models.map((m, i) => {
                  const st = m.state.status === "pending" ? runs[i]!.status : m.state.status
                  return h("td", {}, h("span", { class: `badge run-${st}` }, st))
                })
              ),
              h(
                "tr",
                {},
                h("th", { scope: "row" }, "Duration"),
                ...models.map((m, i) => h("td", {}, fmtDuration(runDur(m, runs[i]!))))
              ),
              h("tr", {}, h("th", { scope: "row" }, "Cost"), ...models.map((m) => h("td", {}, fmtCost(m.state.cost)))),
              h(
                "tr",
                {},
                h("th", { scope: "row" }, "Output"),
                ...models.map((m) =>
                  h("td", {}, m.state.outputHash === null ? "—" : h("code", {}, short(m.state.outputHash)))
                )
              )
            )
          ),
          h(
            "p",
            { role: "status", class: "diff-count" },
            `${differing} of ${rows.length} node runs differ in output or presence.`
          )
        )
        replace(
          tbody,
          rows.filter((r) => !onlyDiff.checked || r.differs || r.missing).map((r) => {
            const delta = r.dx !== null && r.dy !== null ? r.dy - r.dx : null
            return h(
              "tr",
              { class: r.differs || r.missing ? "differs" : "" },
              h("th", { scope: "row", "data-label": "Node" }, labelOf(r.p), h("br"), h("code", { class: "path" }, r.p)),
              h(
                "td",
                { "data-label": "A" },
                r.x === undefined ? "not run" : h("span", { class: `badge st-${r.x.state}` }, r.x.state)
              ),
              h("td", { "data-label": "A time" }, bar(r.dx, max, "a")),
              h(
                "td",
                { "data-label": "B" },
                r.y === undefined ? "not run" : h("span", { class: `badge st-${r.y.state}` }, r.y.state)
              ),
              h("td", { "data-label": "B time" }, bar(r.dy, max, "b")),
              h(
                "td",
                { "data-label": "Δ" },
                delta === null ? "—" : `${delta >= 0 ? "+" : "−"}${fmtDuration(Math.abs(delta))}`
              ),
              h(
                "td",
                { "data-label": "Output" },
                r.missing ? "only in one run" : !r.differs ?
                  (r.x?.outputHash === null || r.x === undefined ? "—" : "same") :
                  h(
                    "details",
                    {},
                    h("summary", {}, "differs"),
                    h(
                      "div",
                      { class: "diff" },
                      h(
                        "div",
                        {},
                        h("h3", {}, "A"),
                        h(
                          "pre",
                          { class: "json small" },
                          r.x !== undefined && "output" in r.x
                            ? json(r.x.output, 4000)
                            : `hash ${short(r.x?.outputHash)}`
                        )
                      ),
                      h(
                        "div",
                        {},
                        h("h3", {}, "B"),
                        h(
                          "pre",
                          { class: "json small" },
                          r.y !== undefined && "output" in r.y
                            ? json(r.y.output, 4000)
                            : `hash ${short(r.y?.outputHash)}`
                        )
                      )
                    )
                  )
              )
            )
          })
        )
      })
    }
    replace(
      main,
      h("h1", {}, "Compare runs"),
      summary,
      h("p", { class: "field inline" }, onlyDiff, h("label", { for: "only-diff" }, " Only nodes that differ")),
      h(
        "div",
        { class: "table-scroll" },
        h(
          "table",
          { class: "compare" },
          h("caption", { class: "sr-only" }, "Per node: state and duration in each run, and whether outputs differ"),
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ["Node", "A", "A time", "B", "B time", "Δ (B − A)", "Output"].map((c) => h("th", { scope: "col" }, c))
            )
          ),
          tbody
        )
      )
    )
    models.forEach((m) => {
      cleanups.push(follow(m.runId, {
        onEvents: (batch) => {
          m.add(batch)
          render()
        }
      }))
    })
    render()
  })()
  return () => {
    disposed = true
    for (const c of cleanups) c()
  }
}
