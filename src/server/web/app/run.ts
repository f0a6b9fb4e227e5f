/**
 * The run page (`#/runs/<id>`): header with status, program, times and
 * cost; cancel, replay (with its divergence report) and compare; the DAG,
 * the timeline and the node panel, all live over the run's event stream
 * (browser code).
 */
import type { NodeStatus } from "../../../trace/fold.js"
import type { GraphNode } from "../graph.js"
import { ApiError, call, ended } from "./api.js"
import type { ReplayReport, RunPage, RunProgram, RunView } from "./api.js"
import { DagView } from "./dag.js"
import type { NodeLook } from "./dag.js"
import { announce, fmtCost, fmtDuration, fmtTime, h, json, replace, short } from "./dom.js"
import { findBar } from "./find.js"
import { GanttView } from "./gantt.js"
import { aggregate, armsOf, indexGraph, keyOf, RunModel, STATES } from "./model.js"
import { NodePanel } from "./panel.js"
import { follow } from "./sse.js"

/** The state legend. */
export const legend = (): HTMLElement =>
  h(
    "ul",
    { class: "legend", "aria-label": "Node states" },
    STATES.map((st) => h("li", {}, h("span", { class: `badge st-${st}` }, st)))
  )

/** Draws the run page into `main`; returns its disposer. */
export const runPage = (main: HTMLElement, runId: string): () => void => {
  let disposed = false
  const cleanups: Array<() => void> = []
  const dispose = () => {
    disposed = true
    for (const c of cleanups) c()
  }
  replace(main, h("h1", {}, `Run ${short(runId)}`), h("p", { class: "note", role: "status" }, "Loading…"))
  void (async () => {
    let run: RunView
    // The program is asked for alongside the run (asked again if the run was still queued, when it is a 404).
    const askProgram = () => {
      const asked = call<RunProgram>(`/v1/runs/${encodeURIComponent(runId)}/program`)
      asked.catch(() => undefined)
      return asked
    }
    let programCall = askProgram()
    try {
      run = await call<RunView>(`/v1/runs/${encodeURIComponent(runId)}`)
      while (run.status === "queued" && !disposed) {
        replace(
          main,
          h("h1", {}, `Run ${short(runId)}`),
          h("p", { class: "note", role: "status" }, "Queued: waiting for a free slot…")
        )
        await new Promise((r) => setTimeout(r, 1000))
        run = await call<RunView>(`/v1/runs/${encodeURIComponent(runId)}`)
        if (run.status !== "queued") programCall = askProgram()
      }
    } catch (e) {
      replace(main, h("h1", {}, `Run ${short(runId)}`), errorBox(e))
      return
    }
    if (disposed) return
    let program: RunProgram | undefined
    let programError: string | undefined
    try {
      program = await programCall
    } catch (e) {
      programError = e instanceof Error ? e.message : String(e)
    }
    if (disposed) return
    draw(main, run, program, programError, cleanups, () => disposed)
  })()
  return dispose
}

const errorBox = (e: unknown): HTMLElement =>
  h(
    "p",
    { class: "error", role: "alert" },
    e instanceof ApiError ? `${e.tag}: ${e.message}` : e instanceof Error ? e.message : String(e)
  )

const draw = (
  main: HTMLElement,
  initial: RunView,
  program: RunProgram | undefined,
  programError: string | undefined,
  cleanups: Array<() => void>,
  isDisposed: () => boolean
): void => {
  let run = initial
  const graph = program?.graph
  const index = graph === undefined ? undefined : indexGraph(graph)
  const byKey: ReadonlyMap<string, GraphNode> = index?.byKey ?? new Map()
  const model = new RunModel(run.runId, graph)
  const labelOf = (path: string): string => {
    const key = graph === undefined ? undefined : keyOf(graph, path)
    const node = key === undefined ? undefined : byKey.get(key)
    const base = node?.label ?? model.state.nodes[path]?.label ?? path.split("/").pop() ?? path
    const items = [...path.matchAll(/\/(\d+)(?=\/)/g)].map((m) => m[1])
    return items.length > 0 ? `${base} [${items.join(",")}]` : base
  }
  let selectedKey: string | undefined
  let selectedPath: string | undefined
  const select = (key: string | undefined, path: string | undefined) => {
    selectedKey = key
    selectedPath = path
    dag?.select(key)
    gantt.select(path ?? model.instances.get(key ?? "")?.at(-1))
    panel.show(key, path)
    if (window.matchMedia("(max-width: 899px)").matches) panel.root.scrollIntoView({ block: "start" })
    panel.root.focus({ preventScroll: true })
  }
  const panel = new NodePanel(model, byKey, () => {
    const back = selectedKey
    panel.hide()
    dag?.select(undefined)
    gantt.select(undefined)
    if (back !== undefined) main.querySelector<SVGGElement>(`[data-key="${CSS.escape(back)}"]`)?.focus()
  })
  const dag = graph === undefined ? undefined : new DagView(graph, { onSelect: (key) => select(key, undefined) })
  const gantt = new GanttView({
    labelOf,
    keyOf: (path) => (graph === undefined ? undefined : keyOf(graph, path)),
    keyLabel: (key) => byKey.get(key)?.label ?? key,
    onSelect: (path) => select(graph === undefined ? undefined : keyOf(graph, path), path)
  })

  const finder = findBar(byKey, model, (nodeMatch, runMatch, first) => {
    const hits = dag?.filter(nodeMatch) ?? 0
    gantt.filter(runMatch)
    if (first !== undefined && nodeMatch !== undefined) dag?.reveal(first)
    return hits
  })
  const status = h("span", { class: "badge" })
  const facts = h("dl", { class: "facts run-facts" })
  const outcome = h("div", { class: "outcome" })
  const actions = h("div", { class: "actions" })
  const replayBox = h("div", { class: "replay", "aria-live": "polite" })
  const streamNote = h("p", { class: "note stream-note", role: "status" })

  const cancelButton = h("button", { type: "button", class: "danger", onclick: () => void cancel() }, "Cancel run")
  const liveBox = h("input", { type: "checkbox", id: "replay-live" })
  const replayButton = h("button", { type: "button", onclick: () => void replay() }, "Replay")
  const compareSelect = h(
    "select",
    { id: "compare-with", "aria-label": "Another run of this program" },
    h("option", { value: "" }, "Compare with…")
  )
  const compareButton = h("button", {
    type: "button",
    onclick: () => {
      if (compareSelect.value !== "") {
        location.hash = `#/compare/${encodeURIComponent(run.runId)}/${encodeURIComponent(compareSelect.value)}`
      }
    }
  }, "Compare")

  let outcomeSignature = ""
  const header = () => {
    const now = model.state.endedAt ?? run.endedAt ?? Date.now()
    const started = model.state.startedAt ?? run.createdAt
    const st = model.state.status === "pending" ? run.status : model.state.status
    const isEnded = st === "completed" || st === "failed" || st === "cancelled"
    status.className = `badge run-${st}`
    status.textContent = st
    replace(
      facts,
      h("dt", {}, "Program"),
      h(
        "dd",
        {},
        h("a", { href: `#/runs?program=${encodeURIComponent(run.programHash)}` }, run.programName),
        " ",
        h("code", { title: run.programHash }, short(run.programHash))
      ),
      h("dt", {}, "Started"),
      h("dd", {}, fmtTime(started)),
      h("dt", {}, "Duration"),
      h("dd", {}, fmtDuration(now - started) + (isEnded ? "" : " so far")),
      h("dt", {}, "Cost"),
      h("dd", {}, fmtCost(model.state.events > 0 ? model.state.cost : run.cost)),
      h("dt", {}, "Events"),
      h("dd", { class: "event-count" }, String(model.events.length)),
      h("dt", {}, "Seed"),
      h("dd", {}, run.seed === null ? "—" : String(run.seed)),
      h("dt", {}, "Run id"),
      h("dd", {}, h("code", {}, run.runId))
    )
    cancelButton.hidden = isEnded
    replayButton.disabled = !isEnded
    liveBox.disabled = !isEnded
    const error = model.state.error ?? run.error ?? null
    // Redrawn only when the outcome changes, so details the reader opened stay open.
    const signature = `${st}|${model.state.outputHash ?? ""}|${run.output === undefined ? "" : "o"}|${
      error?.message ?? ""
    }`
    if (signature === outcomeSignature) return
    outcomeSignature = signature
    replace(
      outcome,
      h("details", {}, h("summary", {}, "Inputs"), h("pre", { class: "json" }, json(run.inputs))),
      "output" in model.state ?
        h(
          "details",
          { open: true },
          h("summary", {}, "Output"),
          h("pre", { class: "json", tabindex: 0 }, json(model.state.output))
        ) :
        run.output !== undefined
        ? h(
          "details",
          { open: true },
          h("summary", {}, "Output"),
          h("pre", { class: "json", tabindex: 0 }, json(run.output))
        )
        : null,
      error !== null
        ? h(
          "p",
          { class: "error", role: "note" },
          h("strong", {}, error.kind),
          `: ${error.message}`,
          error.node === undefined ? "" : ` (node ${labelOf(error.node)})`
        )
        : null
    )
  }

  const looks = (): Map<string, NodeLook> => {
    const out = new Map<string, NodeLook>()
    for (const key of byKey.keys()) {
      const nodes = model.nodesOf(key)
      const agg = aggregate(nodes)
      let note = ""
      if (nodes.length > 1) {
        const done = (agg.counts.get("done") ?? 0) + (agg.counts.get("cached") ?? 0)
        note = `${done}/${nodes.length} ${
          agg.state === "done" || agg.state === "cached" ? agg.state : `done, ${agg.state}`
        }`
      } else if (nodes.length === 1 && nodes[0]!.attempts.length > 1) {
        note = `${agg.state}, attempt ${nodes[0]!.attempts.length}`
      }
      const arms = armsOf(model, byKey.get(key)!)
      out.set(
        key,
        arms === undefined || (arms.arms.size === 0 && !arms.settled)
          ? { state: agg.state as NodeStatus, note }
          : { state: agg.state as NodeStatus, note, arms: arms.arms, settled: arms.settled }
      )
    }
    return out
  }

  // The page shows the whole run once its stream ended (every event folded), the graph is laid out and both are
  // drawn: then the `trellis:drawn` mark, whose time is from navigation start (the browser test bounds it).
  let streamEnded = false
  let laidOutDone = dag === undefined
  let drawnMarked = false
  // Catching up on a run that had ended before the page opened, the page is drawn at most every CATCH_UP_MS
  // until the stream ends: each picture of a big run costs time the folding needs, and shows nothing new.
  const catchingUp = () => !streamEnded && ended(initial.status)
  let lastDraw = -Infinity
  let pending: "frame" | ReturnType<typeof setTimeout> | undefined
  const drawNow = () => {
    pending = undefined
    if (isDisposed()) return
    lastDraw = performance.now()
    timed("draw", () => {
      header()
      gantt.render(model.state, model.state.endedAt ?? Date.now())
      gantt.select(selectedPath ?? (selectedKey === undefined ? undefined : model.instances.get(selectedKey)?.at(-1)))
      dag?.update(looks())
      panel.refresh()
    })
    if (!drawnMarked && streamEnded && laidOutDone) {
      drawnMarked = true
      // The next frame's callback runs after this frame was painted.
      requestAnimationFrame(() => performance.mark("trellis:drawn"))
    }
  }
  const refresh = () => {
    if (isDisposed()) return
    if (pending !== undefined) {
      // A throttled draw waits, and the stream has ended meanwhile: draw at the next frame.
      if (pending === "frame" || catchingUp()) return
      clearTimeout(pending)
    }
    const wait = catchingUp() ? lastDraw + CATCH_UP_MS - performance.now() : 0
    pending = wait > 0 ?
      setTimeout(() => {
        pending = "frame"
        requestAnimationFrame(drawNow)
      }, wait) :
      "frame"
    if (pending === "frame") requestAnimationFrame(drawNow)
  }

  const cancel = async () => {
    cancelButton.disabled = true
    try {
      await call(`/v1/runs/${encodeURIComponent(run.runId)}/cancel`, { method: "POST" })
      announce("The run was cancelled.")
    } catch (e) {
      replace(replayBox, errorBox(e))
    } finally {
      cancelButton.disabled = false
    }
  }

  const replay = async () => {
    replayButton.disabled = true
    replace(
      replayBox,
      h(
        "p",
        { class: "note", role: "status" },
        liveBox.checked ? "Replaying with the real tools…" : "Replaying from the record…"
      )
    )
    try {
      const r = await call<ReplayReport>(`/v1/runs/${encodeURIComponent(run.runId)}/replay`, {
        method: "POST",
        body: liveBox.checked ? { live: true } : {}
      })
      replace(replayBox, replayReport(r, labelOf))
      announce(r.exact ? "Replay matched the record." : "Replay diverged from the record.")
    } catch (e) {
      replace(replayBox, errorBox(e))
    } finally {
      replayButton.disabled = false
    }
  }

  replace(
    actions,
    cancelButton,
    h(
      "span",
      { class: "group" },
      replayButton,
      h("label", { for: "replay-live", class: "inline" }, liveBox, " re-run real tools (live)")
    ),
    h("span", { class: "group" }, compareSelect, compareButton)
  )

  replace(
    main,
    h("div", { class: "run-head" }, h("h1", {}, "Run ", h("code", {}, short(run.runId)), " ", status), actions),
    facts,
    outcome,
    replayBox,
    streamNote,
    programError === undefined
      ? null
      : h("p", { class: "error", role: "alert" }, `The program's graph is unavailable: ${programError}`),
    legend(),
    finder.root,
    h("div", { class: "run-grid" }, h("div", { class: "run-main" }, dag?.root ?? null, gantt.root), panel.root)
  )
  header()
  gantt.measure()

  // Other runs of the program, for the compare picker.
  void call<RunPage>(`/v1/runs?programHash=${encodeURIComponent(run.programHash)}&limit=50`).then((page) => {
    for (const r of page.runs) {
      if (r.runId !== run.runId && r.status !== "queued") {
        compareSelect.append(
          h("option", { value: r.runId }, `${short(r.runId)} · ${r.status} · ${fmtTime(r.createdAt)}`)
        )
      }
    }
  }).catch(() => undefined)

  const stop = follow(run.runId, {
    onEvents: (batch) => {
      timed("fold", () => model.add(batch))
      refresh()
    },
    onEnd: () => {
      streamEnded = true
      refresh()
      streamNote.textContent = ""
      announce(`The run ${model.state.status}.`)
      void call<RunView>(`/v1/runs/${encodeURIComponent(run.runId)}`).then((r) => {
        run = r
        refresh()
      }).catch(() => undefined)
    },
    onError: (message, fatal) => {
      streamNote.textContent = fatal ? `Live updates stopped: ${message}.` : message
    }
  })
  cleanups.push(stop)
  const timer = setInterval(() => {
    if (model.state.endedAt === null && !ended(run.status)) refresh()
  }, 1000)
  cleanups.push(() => clearInterval(timer))
  // Laid out after the stream was asked for, so the events come over the network while the layout runs.
  const laidOut = performance.now()
  void dag?.render().then(() => {
    performance.measure("trellis:layout", { start: laidOut, end: performance.now() })
    laidOutDone = true
    refresh()
  })
}

/** While the page catches up on an ended run's events, it is drawn at most this often (ms). */
const CATCH_UP_MS = 400

/**
 * Runs `f` and records its time as a `trellis:<name>` performance measure: the viewer's own work on a run page
 * (folding events, drawing, laying out), which the browser test reports beside the whole opening.
 */
const timed = (name: string, f: () => void): void => {
  const start = performance.now()
  f()
  performance.measure(`trellis:${name}`, { start, end: performance.now() })
}

/** The replay report: exact, or the first divergence with expected and actual events. */
export const replayReport = (r: ReplayReport, labelOf: (path: string) => string): HTMLElement => {
  const pretty = (line: string | undefined) => {
    if (line === undefined) return "(none)"
    try {
      return json(JSON.parse(line))
    } catch {
      return line
    }
  }
  const d = r.divergence
  return h(
    "section",
    { class: `card replay-report ${r.exact ? "exact" : "diverged"}`, "aria-labelledby": "replay-title" },
    h("h2", { id: "replay-title" }, r.exact ? "Replay matched the record" : "Replay diverged"),
    h("p", {}, `${r.recordedEvents} events recorded, ${r.replayedEvents} replayed; the replay ${r.status}.`),
    d === undefined ?
      null :
      h(
        "div",
        {},
        h(
          "p",
          {},
          "First divergence at ",
          d.node === undefined ? "the run level" : h("strong", {}, `${labelOf(d.node)} (${d.node})`),
          d.seq === undefined ? "" : `, recorded event #${d.seq}`,
          "."
        ),
        h(
          "div",
          { class: "diff" },
          h("div", {}, h("h3", {}, "Expected (recorded)"), h("pre", { class: "json" }, pretty(d.expected))),
          h("div", {}, h("h3", {}, "Actual (replayed)"), h("pre", { class: "json" }, pretty(d.actual)))
        )
      )
  )
}
