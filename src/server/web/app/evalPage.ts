/**
 * An eval's page (`#/evals/<id>`, `?vs=<candidate>` for a comparison):
 * what ran, the aggregate per metric (mean, stddev, 95% bootstrap CI drawn
 * on an axis, failures, errors, latency, cost, the regression section), the
 * per-example table with filters (`evalTable.ts`), an A/B comparison with
 * another eval — the paired statistics `trellis eval compare` reports and
 * the per-example differences plotted with the CI band —, and the
 * reliability diagram of a confidence field of the outputs. Refreshed every
 * 2 s while the eval runs (browser code).
 */
import { ApiError, call } from "./api.js"
import type { EvalCalibration, EvalComparison, EvalReport, EvalResults, EvalView } from "./api.js"
import { fmtCost, fmtDuration, fmtTime, h, replace, short } from "./dom.js"
import { ciBar, diffPlot } from "./evalPlots.js"
import { evalHref } from "./evals.js"
import { evalTable } from "./evalTable.js"

const num = (x: number | null | undefined, digits = 3): string =>
  x === null || x === undefined || !Number.isFinite(x) ? "—" : String(Math.round(x * 10 ** digits) / 10 ** digits)

const pValue = (p: number): string => (p < 0.001 ? "< 0.001" : num(p))

const errorText = (e: unknown): string => (e instanceof ApiError ? `${e.tag}: ${e.message}` : String(e))

/** The aggregate card's content. */
const aggregate = (report: EvalReport | null, view: EvalResults): ReadonlyArray<Node> => {
  if (report === null) return [h("p", { class: "note" }, "No example has finished yet.")]
  return [
    h(
      "p",
      { class: "headline" },
      h("strong", {}, `${report.metric}: ${num(report.mean)}`),
      ` (95% CI ${num(report.ci[0])} to ${num(report.ci[1])}) over ${report.n} example(s)`,
      view.status === "completed" ? "" : ` — ${view.status}, ${report.n} of ${view.n} done`
    ),
    h(
      "div",
      { class: "table-scroll" },
      h(
        "table",
        { class: "aggregate" },
        h(
          "thead",
          {},
          h("tr", {}, ["Metric", "n", "Mean", "Std dev", "95% CI", "Failures"].map((c) => h("th", { scope: "col" }, c)))
        ),
        h(
          "tbody",
          {},
          report.metrics.map((m) =>
            h(
              "tr",
              { "data-metric": m.metric },
              h("th", { scope: "row" }, h("code", {}, m.metric)),
              h("td", {}, String(m.n)),
              h("td", { class: "mean" }, num(m.mean)),
              h("td", {}, num(m.stddev)),
              h(
                "td",
                { class: "ci-cell" },
                h("span", { class: "ci-text" }, `${num(m.ci[0])} to ${num(m.ci[1])}`),
                ciBar(m.mean, m.ci, m.metric)
              ),
              h("td", {}, String(m.failures))
            )
          )
        )
      )
    ),
    h(
      "dl",
      { class: "facts run-facts" },
      h("dt", {}, "Errors"),
      h("dd", { class: "errors" }, `${report.errors} run(s) did not complete`),
      h("dt", {}, "Metric errors"),
      h("dd", {}, String(report.metricErrors)),
      h("dt", {}, "Latency"),
      h("dd", {}, `mean ${fmtDuration(report.latencyMs.mean)}, max ${fmtDuration(report.latencyMs.max)}`),
      h("dt", {}, "Cost"),
      h("dd", {}, `total ${fmtCost(report.cost.total)}, mean ${fmtCost(report.cost.mean)}`),
      report.regression === undefined ? null : [
        h("dt", {}, "Regression"),
        h(
          "dd",
          {},
          `${report.regression.changed} of ${report.regression.compared} outputs changed, ${report.regression.newFailures} new failure(s), ${report.regression.fixed} fixed`
        )
      ]
    )
  ]
}

/** The comparison's content. */
const comparison = (c: EvalComparison): ReadonlyArray<Node> => {
  const level = 1 - c.alpha
  return [
    h(
      "p",
      { class: `verdict ${c.pass ? "pass" : "fail"}` },
      h("strong", {}, c.pass ? "PASS" : "FAIL"),
      ` — gate ${c.require} at α = ${c.alpha}: the candidate ${
        c.pass ? "is" : "is not shown to be"
      } better than the baseline on ${c.metric}.`
    ),
    h(
      "dl",
      { class: "facts run-facts compare-facts" },
      h("dt", {}, "Pairs"),
      h("dd", {}, `${c.n}${c.unpaired > 0 ? ` (${c.unpaired} unpaired)` : ""}`),
      h("dt", {}, "Means"),
      h("dd", {}, `${num(c.meanA)} → ${num(c.meanB)}`),
      h("dt", {}, "Δ (B − A)"),
      h(
        "dd",
        { class: "delta" },
        `${num(c.delta)} (${Math.round(level * 100)}% CI ${num(c.ci[0])} to ${num(c.ci[1])})`
      ),
      h("dt", {}, "p (permutation)"),
      h("dd", {}, pValue(c.pValue)),
      h("dt", {}, "p (sign test)"),
      h("dd", {}, pValue(c.signPValue)),
      h("dt", {}, "Effect size d_z"),
      h("dd", {}, c.effectSize === null ? (c.delta > 0 ? "+∞" : "−∞") : num(c.effectSize, 2)),
      h("dt", {}, "Wins / losses / ties"),
      h("dd", { class: "wlt" }, `${c.wins} / ${c.losses} / ${c.ties}`)
    ),
    h(
      "figure",
      { class: "plot" },
      diffPlot(c.pairs.map((p) => p.diff), c.delta, c.ci, level),
      h(
        "figcaption",
        { class: "note" },
        "Each dot is one example's score difference; bars count them. The shaded band is the ",
        `${
          Math.round(level * 100)
        }% paired bootstrap CI of the mean difference, the solid line the mean, the dashed line zero.`
      )
    )
  ]
}

/** Draws the eval page into `main`; returns its disposer. */
export const evalPage = (main: HTMLElement, evalId: string, params: URLSearchParams): () => void => {
  let disposed = false
  let timer: ReturnType<typeof setTimeout> | undefined
  let table: ReturnType<typeof evalTable> | undefined
  const controller = new AbortController()
  const head = h("div", { class: "eval-head" })
  const agg = h("div", { class: "eval-aggregate" })
  const examples = h("div")
  const note = h("p", { class: "note", role: "status" })

  // A/B comparison.
  const candidate = h("select", { id: "cmp-eval" }, h("option", { value: "" }, "pick an eval"))
  const cmpOut = h("div", { class: "compare-out", "aria-live": "polite" })
  const runCompare = async (vs: string) => {
    history.replaceState(null, "", evalHref(evalId, vs === "" ? undefined : vs))
    if (vs === "") {
      replace(cmpOut)
      return
    }
    replace(cmpOut, h("p", { class: "note" }, "Comparing…"))
    try {
      const c = await call<EvalComparison>(
        `/v1/evals/${encodeURIComponent(evalId)}/compare/${encodeURIComponent(vs)}`,
        { signal: controller.signal }
      )
      if (!disposed) replace(cmpOut, comparison(c))
    } catch (e) {
      if (!disposed) replace(cmpOut, h("p", { class: "error" }, errorText(e)))
    }
  }
  const compareForm = h(
    "form",
    {
      class: "filters",
      "aria-label": "Compare with another eval",
      onsubmit: (e: Event) => {
        e.preventDefault()
        void runCompare(candidate.value)
      }
    },
    h(
      "span",
      { class: "field" },
      h("label", { for: "cmp-eval" }, "Candidate (B); this eval is the baseline (A)"),
      candidate
    ),
    h("button", { type: "submit" }, "Compare")
  )

  // Calibration.
  const field = h("input", { id: "cal-field", type: "text", value: "confidence", spellcheck: "false" })
  const calOut = h("div", { class: "calibration-out", "aria-live": "polite" })
  const runCalibration = async () => {
    replace(calOut, h("p", { class: "note" }, "Computing…"))
    try {
      const q = new URLSearchParams({ field: field.value.trim() })
      const c = await call<EvalCalibration>(`/v1/evals/${encodeURIComponent(evalId)}/calibration?${q}`, {
        signal: controller.signal
      })
      if (disposed) return
      const doc = new DOMParser().parseFromString(c.svg, "image/svg+xml")
      const svg = document.importNode(doc.documentElement, true)
      svg.setAttribute("class", "reliability")
      svg.setAttribute("role", "img")
      svg.setAttribute("aria-label", `Reliability diagram of ${c.field} against ${c.metric}`)
      replace(
        calOut,
        h(
          "p",
          { class: "cal-stats" },
          `${c.n} forecast(s)${c.skipped > 0 ? `, ${c.skipped} example(s) without one` : ""} · Brier ${
            num(c.brier)
          } · ECE ${num(c.ece)}`
        ),
        h("figure", { class: "plot" }, svg)
      )
    } catch (e) {
      if (!disposed) replace(calOut, h("p", { class: "error" }, errorText(e)))
    }
  }
  const calForm = h(
    "form",
    {
      class: "filters",
      "aria-label": "Reliability diagram",
      onsubmit: (e: Event) => {
        e.preventDefault()
        void runCalibration()
      }
    },
    h("span", { class: "field" }, h("label", { for: "cal-field" }, "Confidence field of the output"), field),
    h("button", { type: "submit" }, "Draw")
  )

  const load = async (first: boolean): Promise<void> => {
    if (timer !== undefined) clearTimeout(timer)
    let running = false
    try {
      const view = await call<EvalResults>(`/v1/evals/${encodeURIComponent(evalId)}/results`, {
        signal: controller.signal
      })
      if (disposed) return
      running = view.status === "running"
      if (first) {
        const info = await call<EvalView>(`/v1/evals/${encodeURIComponent(evalId)}`, { signal: controller.signal })
        if (disposed) return
        replace(
          head,
          h(
            "dl",
            { class: "facts run-facts" },
            h("dt", {}, "Program"),
            h(
              "dd",
              {},
              info.programName,
              " ",
              h("code", { class: "hash", title: info.programHash }, short(info.programHash))
            ),
            h("dt", {}, "Metrics"),
            h("dd", {}, h("code", {}, info.metrics.join(", "))),
            h("dt", {}, "Started"),
            h("dd", {}, fmtTime(info.createdAt))
          ),
          info.error === undefined ? null : h("p", { class: "error" }, info.error)
        )
        table = evalTable(view.metrics)
        replace(examples, table.element)
      }
      replace(agg, aggregate(view.report, view))
      table?.update(view.results)
      note.textContent = running
        ? `Running: ${view.results.length} of ${view.n} examples done. Updated live.`
        : `Status: ${view.status}.`
    } catch (e) {
      if (disposed || (e instanceof DOMException && e.name === "AbortError")) return
      note.textContent = errorText(e)
      if (first) replace(agg, h("p", { class: "error" }, errorText(e)))
    }
    if (!disposed && running) timer = setTimeout(() => void load(false), 2000)
  }

  const fillCandidates = async () => {
    try {
      const { evals } = await call<{ readonly evals: ReadonlyArray<EvalView> }>("/v1/evals?limit=200", {
        signal: controller.signal
      })
      if (disposed) return
      const vs = params.get("vs") ?? ""
      const others = evals.filter((e) => e.evalId !== evalId)
      replace(
        candidate,
        h("option", { value: "" }, others.length === 0 ? "no other eval" : "pick an eval"),
        others.map((e) => h("option", { value: e.evalId }, `${e.evalId} · ${e.programName} · ${e.metrics[0] ?? ""}`)),
        vs !== "" && !others.some((e) => e.evalId === vs) ? h("option", { value: vs }, vs) : null
      )
      candidate.value = vs
      if (vs !== "") void runCompare(vs)
    } catch (e) {
      if (!disposed) replace(cmpOut, h("p", { class: "error" }, errorText(e)))
    }
  }

  replace(
    main,
    h("p", { class: "crumbs" }, h("a", { href: "#/evals" }, "← Evals")),
    h("h1", {}, "Eval ", h("code", {}, evalId)),
    head,
    note,
    h("section", { class: "card", "aria-labelledby": "agg-h" }, h("h2", { id: "agg-h" }, "Aggregate"), agg),
    h("section", { class: "card", "aria-labelledby": "ex-h" }, h("h2", { id: "ex-h" }, "Examples"), examples),
    h(
      "section",
      { class: "card", "aria-labelledby": "cmp-h" },
      h("h2", { id: "cmp-h" }, "A/B comparison"),
      compareForm,
      cmpOut
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "cal-h" },
      h("h2", { id: "cal-h" }, "Reliability diagram"),
      h(
        "p",
        { class: "note" },
        "Outputs that carry a confidence (a number in [0, 1]) against the primary metric's score as the outcome."
      ),
      calForm,
      calOut
    )
  )
  void load(true)
  void fillCandidates()
  return () => {
    disposed = true
    controller.abort()
    if (timer !== undefined) clearTimeout(timer)
  }
}
