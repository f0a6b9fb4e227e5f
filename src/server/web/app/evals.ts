/**
 * The evals list (`#/evals`): each eval's status, program, metrics,
 * progress and start time, linked to its page; two can be picked for an
 * A/B comparison (the first picked is the baseline); refreshed every 2 s
 * while one runs (browser code).
 */
import { ApiError, call } from "./api.js"
import type { EvalView } from "./api.js"
import { fmtTime, h, replace, short } from "./dom.js"

/** The eval page's address, with a candidate to compare against when given. */
export const evalHref = (evalId: string, vs?: string): string =>
  `#/evals/${encodeURIComponent(evalId)}${vs === undefined ? "" : `?vs=${encodeURIComponent(vs)}`}`

/** Draws the evals list into `main`; returns its disposer. */
export const evalsPage = (main: HTMLElement): () => void => {
  let disposed = false
  let timer: ReturnType<typeof setTimeout> | undefined
  const picked: Array<string> = []
  const tbody = h("tbody")
  const note = h("p", { class: "note", role: "status" })
  const compare = h("button", {
    type: "button",
    onclick: () => {
      const [a, b] = picked
      if (a !== undefined && b !== undefined) location.hash = evalHref(a, b)
    }
  }, "Compare the 2 picked evals")
  const update = () => {
    compare.disabled = picked.length !== 2
    compare.title = picked.length === 2 ? `baseline ${picked[0]}, candidate ${picked[1]}` : "Pick two evals"
  }

  const row = (e: EvalView): HTMLElement => {
    const box = h("input", {
      type: "checkbox",
      "aria-label": `Pick eval ${e.evalId} to compare`,
      onchange: (ev: Event) => {
        const i = picked.indexOf(e.evalId)
        if ((ev.target as HTMLInputElement).checked) {
          if (i < 0) picked.push(e.evalId)
        } else if (i >= 0) picked.splice(i, 1)
        update()
      }
    })
    box.checked = picked.includes(e.evalId)
    const status = e.status === "completed" ? "completed" : e.status === "running" ? "running" : "failed"
    return h(
      "tr",
      { "data-eval": e.evalId },
      h("td", { "data-label": "Pick" }, box),
      h(
        "td",
        { "data-label": "Eval" },
        h("a", { href: evalHref(e.evalId), class: "eval-link" }, h("code", {}, e.evalId))
      ),
      h("td", { "data-label": "Status" }, h("span", { class: `badge run-${status}`, title: e.error ?? "" }, e.status)),
      h(
        "td",
        { "data-label": "Program" },
        e.programName,
        " ",
        h("code", { class: "hash", title: e.programHash }, short(e.programHash))
      ),
      h("td", { "data-label": "Metrics" }, h("code", {}, e.metrics.join(", "))),
      h("td", { "data-label": "Examples" }, e.done === e.n ? String(e.n) : `${e.done} / ${e.n}`),
      h("td", { "data-label": "Started" }, fmtTime(e.createdAt))
    )
  }

  const load = async (): Promise<void> => {
    if (timer !== undefined) clearTimeout(timer)
    let running = false
    try {
      const { evals } = await call<{ readonly evals: ReadonlyArray<EvalView> }>("/v1/evals?limit=200")
      if (disposed) return
      running = evals.some((e) => e.status === "running")
      replace(
        tbody,
        evals.length === 0
          ? h(
            "tr",
            {},
            h(
              "td",
              { colspan: 7, class: "empty" },
              "No evals yet. Start one with POST /v1/evals or `trellis eval run`."
            )
          )
          : evals.map(row)
      )
      note.textContent = running ? "Updated live while an eval runs." : `${evals.length} eval(s).`
      update()
    } catch (e) {
      if (disposed) return
      note.textContent = e instanceof ApiError ? `${e.tag}: ${e.message}` : String(e)
      if (e instanceof ApiError && e.status === 401) document.getElementById("api-key")?.focus()
    }
    if (!disposed && running) timer = setTimeout(() => void load(), 2000)
  }

  replace(
    main,
    h("h1", {}, "Evals"),
    h(
      "div",
      { class: "table-scroll" },
      h(
        "table",
        { class: "runs evals" },
        h("caption", { class: "sr-only" }, "Evals, newest first"),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["Pick", "Eval", "Status", "Program", "Metrics", "Examples", "Started"].map((c) =>
              h("th", { scope: "col" }, c)
            )
          )
        ),
        tbody
      )
    ),
    h("nav", { class: "pager", "aria-label": "Eval actions" }, compare),
    note
  )
  update()
  void load()
  return () => {
    disposed = true
    if (timer !== undefined) clearTimeout(timer)
  }
}
