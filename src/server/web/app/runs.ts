/**
 * The runs list (`#/runs?status=&program=`): status, program name and
 * hash, started, duration, cost; filters by status and program; pages
 * (newest first, cursor pagination); refreshed every 2 s while the first
 * page is shown; two runs of one program can be picked for comparison
 * (browser code).
 */
import { ApiError, call, ended } from "./api.js"
import type { RunPage, RunView } from "./api.js"
import { fmtCost, fmtDuration, fmtTime, h, replace, short } from "./dom.js"

const STATUSES = ["queued", "running", "completed", "failed", "cancelled"] as const

/** Programs seen in this tab (hash → name), for the program filter. */
const programs = new Map<string, string>()

/** Draws the runs list into `main`; returns its disposer. */
export const runsPage = (main: HTMLElement, params: URLSearchParams): () => void => {
  const status = params.get("status") ?? ""
  const program = params.get("program") ?? ""
  const cursors: Array<string | undefined> = [undefined]
  let page = 0
  let next: string | undefined
  let timer: ReturnType<typeof setTimeout> | undefined
  let disposed = false
  const picked = new Set<string>()
  let shown: ReadonlyArray<RunView> = []

  const setFilter = (key: string, value: string) => {
    const p = new URLSearchParams(params)
    if (value === "") p.delete(key)
    else p.set(key, value)
    const q = p.toString()
    location.hash = `#/runs${q === "" ? "" : `?${q}`}`
  }

  const statusSelect = h(
    "select",
    { id: "f-status", onchange: (e: Event) => setFilter("status", (e.target as HTMLSelectElement).value) },
    h("option", { value: "" }, "any"),
    STATUSES.map((s) => h("option", { value: s }, s))
  )
  statusSelect.value = status
  const programSelect = h("select", {
    id: "f-program",
    onchange: (e: Event) => setFilter("program", (e.target as HTMLSelectElement).value)
  })
  const fillPrograms = () => {
    replace(
      programSelect,
      h("option", { value: "" }, "any"),
      [...programs].sort((a, b) => a[1].localeCompare(b[1])).map(([hash, name]) =>
        h("option", { value: hash }, `${name} · ${short(hash)}`)
      ),
      program !== "" && !programs.has(program) ? h("option", { value: program }, short(program)) : null
    )
    programSelect.value = program
  }
  fillPrograms()

  const tbody = h("tbody")
  const note = h("p", { class: "note", role: "status" })
  const prev = h("button", { type: "button", onclick: () => go(page - 1) }, "← Newer")
  const more = h("button", { type: "button", onclick: () => go(page + 1) }, "Older →")
  const compare = h("button", {
    type: "button",
    onclick: () => {
      const [a, b] = [...picked]
      if (a !== undefined && b !== undefined) {
        location.hash = `#/compare/${encodeURIComponent(a)}/${encodeURIComponent(b)}`
      }
    }
  }, "Compare the 2 picked runs")

  const row = (r: RunView): HTMLElement => {
    const duration = (r.endedAt ?? (ended(r.status) ? r.updatedAt : Date.now())) - r.createdAt
    const box = h("input", {
      type: "checkbox",
      "aria-label": `Pick run ${short(r.runId)} to compare`,
      onchange: (e: Event) => {
        if ((e.target as HTMLInputElement).checked) picked.add(r.runId)
        else picked.delete(r.runId)
        updateCompare()
      }
    })
    box.checked = picked.has(r.runId)
    return h(
      "tr",
      { "data-run": r.runId },
      h("td", { "data-label": "Pick" }, box),
      h(
        "td",
        { "data-label": "Run" },
        h("a", { href: `#/runs/${encodeURIComponent(r.runId)}`, class: "run-link" }, h("code", {}, short(r.runId)))
      ),
      h("td", { "data-label": "Status" }, h("span", { class: `badge run-${r.status}` }, r.status)),
      h(
        "td",
        { "data-label": "Program" },
        h("a", {
          href: `#/runs?program=${encodeURIComponent(r.programHash)}${status === "" ? "" : `&status=${status}`}`,
          title: `Only runs of ${r.programName}`
        }, r.programName),
        " ",
        h("code", { class: "hash", title: r.programHash }, short(r.programHash))
      ),
      h("td", { "data-label": "Started" }, fmtTime(r.createdAt)),
      h(
        "td",
        { "data-label": "Duration" },
        r.status === "queued" ? "—" : fmtDuration(duration) + (ended(r.status) ? "" : "…")
      ),
      h("td", { "data-label": "Cost" }, fmtCost(r.cost))
    )
  }

  const updateCompare = () => {
    const runs = [...picked].map((id) => shown.find((r) => r.runId === id))
    compare.disabled = picked.size !== 2
    compare.title =
      picked.size === 2 && runs[0] !== undefined && runs[1] !== undefined && runs[0].programHash !== runs[1].programHash
        ? "These runs ran different programs; nodes are matched by path"
        : ""
  }

  const load = async (): Promise<void> => {
    if (timer !== undefined) clearTimeout(timer)
    const q = new URLSearchParams({ limit: "25" })
    if (status !== "") q.set("status", status)
    if (program !== "") q.set("programHash", program)
    const cursor = cursors[page]
    if (cursor !== undefined) q.set("cursor", cursor)
    try {
      const result = await call<RunPage>(`/v1/runs?${q}`)
      if (disposed) return
      shown = result.runs
      next = result.next
      cursors[page + 1] = next
      let added = false
      for (const r of result.runs) {
        if (!programs.has(r.programHash)) {
          programs.set(r.programHash, r.programName)
          added = true
        }
      }
      if (added) fillPrograms()
      // Keep the keyboard focus on the same run's same cell across refreshes.
      const active = document.activeElement
      const focusRun = active instanceof HTMLElement && tbody.contains(active)
        ? active.closest("tr")?.dataset.run
        : undefined
      const focusCell = focusRun === undefined ? undefined : active?.closest("td")?.dataset.label
      replace(
        tbody,
        result.runs.length === 0
          ? h(
            "tr",
            {},
            h("td", { colspan: 7, class: "empty" }, "No runs match. Submit one with POST /v1/runs or `trellis run`.")
          )
          : result.runs.map(row)
      )
      if (focusRun !== undefined && focusCell !== undefined) {
        tbody.querySelector<HTMLElement>(
          `tr[data-run="${CSS.escape(focusRun)}"] td[data-label="${focusCell}"] :is(a, input)`
        )?.focus()
      }
      note.textContent = page === 0 ? "Updated live." : `Page ${page + 1}.`
      prev.disabled = page === 0
      more.disabled = next === undefined
      updateCompare()
    } catch (e) {
      if (disposed) return
      note.textContent = e instanceof ApiError ? `${e.tag}: ${e.message}` : String(e)
      if (e instanceof ApiError && e.status === 401) document.getElementById("api-key")?.focus()
    }
    if (!disposed && page === 0) timer = setTimeout(() => void load(), 2000)
  }

  const go = (p: number) => {
    page = Math.max(0, p)
    void load()
  }

  replace(
    main,
    h("h1", {}, "Runs"),
    h(
      "form",
      { class: "filters", "aria-label": "Filter runs", onsubmit: (e: Event) => e.preventDefault() },
      h("span", { class: "field" }, h("label", { for: "f-status" }, "Status"), statusSelect),
      h("span", { class: "field" }, h("label", { for: "f-program" }, "Program"), programSelect),
      program !== "" || status !== "" ? h("a", { href: "#/runs", class: "clear" }, "Clear filters") : null
    ),
    h(
      "div",
      { class: "table-scroll" },
      h(
        "table",
        { class: "runs" },
        h("caption", { class: "sr-only" }, "Runs, newest first"),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["Pick", "Run", "Status", "Program", "Started", "Duration", "Cost"].map((c) => h("th", { scope: "col" }, c))
          )
        ),
        tbody
      )
    ),
    h("nav", { class: "pager", "aria-label": "Pages of runs" }, prev, more, compare),
    note
  )
  compare.disabled = true
  void load()
  return () => {
    disposed = true
    if (timer !== undefined) clearTimeout(timer)
  }
}
