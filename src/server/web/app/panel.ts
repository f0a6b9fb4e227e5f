/**
 * The node panel: what a node is (kind, what it runs, arguments, policy)
 * and, for one of its runs (a map body node runs once per item), its state,
 * times, error, output, attempts with idempotency keys, and its events
 * (browser code).
 */
import type { NodeState } from "../../../trace/fold.js"
import type { GraphNode } from "../graph.js"
import { call } from "./api.js"
import { fmtCost, fmtDuration, fmtTime, h, json, replace, short } from "./dom.js"
import type { RunModel } from "./model.js"

/** The panel. */
export class NodePanel {
  readonly root: HTMLElement
  private readonly body: HTMLElement
  key: string | undefined
  path: string | undefined
  private eventsOpen = false
  /** What became of the signal this page sent to a wait, by node path (kept when the answered node re-renders). */
  private readonly sent = new Map<string, string>()

  constructor(
    private readonly model: RunModel,
    private readonly byKey: ReadonlyMap<string, GraphNode>,
    private readonly onClose: () => void
  ) {
    this.body = h("div", { class: "panel-body" })
    this.root = h(
      "aside",
      { class: "card panel", id: "node-panel", "aria-labelledby": "panel-title", tabindex: -1 },
      h(
        "div",
        { class: "panel-head" },
        h("h2", { id: "panel-title" }, "Node"),
        h("button", {
          type: "button",
          class: "close",
          "aria-label": "Close the node panel",
          onclick: () => this.onClose()
        }, "×")
      ),
      this.body
    )
    this.root.hidden = true
  }

  /** Shows a node (by key) and one of its runs (by path; default the latest). */
  show(key: string | undefined, path: string | undefined): void {
    this.key = key
    this.path = path
    this.root.hidden = false
    this.refresh()
  }

  hide(): void {
    this.key = undefined
    this.path = undefined
    this.root.hidden = true
  }

  /** Redraws with the model's current state. */
  refresh(): void {
    if (this.root.hidden) return
    const node = this.key === undefined ? undefined : this.byKey.get(this.key)
    const paths = this.key === undefined
      ? (this.path === undefined ? [] : [this.path])
      : this.model.instances.get(this.key) ?? []
    const path = this.path !== undefined && paths.includes(this.path) ? this.path : paths[paths.length - 1] ?? this.path
    const st = path !== undefined && Object.prototype.hasOwnProperty.call(this.model.state.nodes, path)
      ? this.model.state.nodes[path]
      : undefined
    const title = this.root.querySelector("#panel-title")!
    title.textContent = node?.label ?? st?.label ?? path ?? "Node"
    const parts: Array<Node | null> = []
    if (node !== undefined) {
      parts.push(
        h(
          "dl",
          { class: "facts" },
          h("dt", {}, "Kind"),
          h("dd", {}, node.kind),
          h(
            "dt",
            {},
            node.kind === "tool"
              ? "Tool"
              : node.kind === "llm"
              ? "Signature"
              : node.kind === "call"
              ? "Program"
              : "Runs"
          ),
          h("dd", {}, h("code", {}, node.detail)),
          h("dt", {}, "Node"),
          h("dd", {}, h("code", {}, node.key)),
          node.policy.length > 0 ? h("dt", {}, "Policy") : null,
          node.policy.length > 0 ? h("dd", {}, node.policy.join("; ")) : null
        )
      )
      if (node.args.length > 0) {
        parts.push(
          h("h3", {}, "Arguments"),
          h(
            "table",
            { class: "kv" },
            h("caption", { class: "sr-only" }, "Arguments as written in the program"),
            h(
              "tbody",
              {},
              node.args.map((a) => h("tr", {}, h("th", { scope: "row" }, a.name), h("td", {}, h("code", {}, a.expr))))
            )
          )
        )
      }
    }
    if (paths.length > 1) {
      const select = h(
        "select",
        { id: "instance", onchange: (e: Event) => this.show(this.key, (e.target as HTMLSelectElement).value) },
        paths.map((p) => {
          const s = this.model.state.nodes[p]
          const o = h("option", { value: p }, `${p} — ${s?.state ?? "waiting"}`)
          if (p === path) o.selected = true
          return o
        })
      )
      parts.push(
        h("p", { class: "field" }, h("label", { for: "instance" }, `Runs of this node (${paths.length})`), select)
      )
    }
    if (st === undefined) {
      parts.push(
        h(
          "p",
          { class: "note" },
          paths.length === 0 ? "This node has not run (yet)." : "No events for this run of the node."
        )
      )
    } else {
      for (const part of this.instance(st)) parts.push(part)
    }
    replace(this.body, parts)
  }

  /** A wait step: what it waits for, its payload, and — while it waits — a form that answers it with a signal. */
  private waitSection(n: NodeState): Array<Node | null> {
    const w = n.wait!
    const out: Array<Node | null> = [
      h("h3", {}, w.name === null ? "Durable sleep" : "Waiting for a signal"),
      h(
        "dl",
        { class: "facts" },
        w.name === null ? null : h("dt", {}, "Signal"),
        w.name === null ? null : h("dd", {}, h("code", {}, w.name)),
        h("dt", {}, "Deadline"),
        h("dd", {}, w.deadline === null ? "none" : fmtTime(w.deadline)),
        w.signal === null ? null : h("dt", {}, "Answered"),
        w.signal === null ? null : h("dd", {}, `signal ${w.signal.signalId} at ${fmtTime(w.signal.at)}`),
        w.firedAt === null ? null : h("dt", {}, "Timer fired"),
        w.firedAt === null ? null : h("dd", {}, fmtTime(w.firedAt))
      ),
      h("pre", { class: "json", tabindex: 0, "aria-label": "Wait payload" }, json(w.payload))
    ]
    const name = w.name
    const path = n.path
    const status = h(
      "p",
      { class: "note", role: "status", id: "signal-status", "data-path": path },
      this.sent.get(path) ?? ""
    )
    const say = (text: string) => {
      this.sent.set(path, text)
      // The panel may have re-rendered since the click: the live line is the one in the page now.
      const live = this.root.querySelector(`#signal-status[data-path="${CSS.escape(path)}"]`) ?? status
      live.textContent = text
    }
    if (name === null || w.signal !== null || w.firedAt !== null || this.model.state.status !== "running") {
      // The run may continue (and this panel re-render) before the signal's answer arrives: the line stays.
      if (this.sent.has(path)) out.push(status)
      return out
    }
    const note = h("input", { type: "text", id: "signal-note", "aria-label": "Note" }) as HTMLInputElement
    const send = (approved: boolean) => {
      say("Sending…")
      const runId = this.model.state.runId
      call<{ readonly signalId: string }>(`/v1/runs/${encodeURIComponent(runId)}/signals/${encodeURIComponent(name)}`, {
        method: "POST",
        body: { payload: { approved, note: note.value } }
      }).then(
        (r) => say(`${approved ? "Approved" : "Rejected"} (signal ${r.signalId}).`),
        (e: unknown) => say(e instanceof Error ? e.message : "the signal was not sent")
      )
    }
    out.push(
      h(
        "form",
        { class: "signal-form", "aria-label": `Answer ${name}`, onsubmit: (e: Event) => e.preventDefault() },
        h("label", { for: "signal-note" }, "Note "),
        note,
        h("button", { type: "button", id: "signal-approve", onclick: () => send(true) }, "Approve"),
        h("button", { type: "button", id: "signal-reject", onclick: () => send(false) }, "Reject")
      ),
      status
    )
    return out
  }

  private instance(n: NodeState): Array<Node | null> {
    const t0 = this.model.state.startedAt ?? 0
    const now = this.model.state.endedAt ?? Date.now()
    const start = n.startedAt ?? n.readyAt
    const out: Array<Node | null> = []
    out.push(
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "State"),
        h("dd", {}, h("span", { class: `badge st-${n.state}` }, n.state)),
        h("dt", {}, "Path"),
        h("dd", {}, h("code", {}, n.path)),
        h("dt", {}, "Ready"),
        h("dd", {}, n.readyAt === null ? "—" : `+${fmtDuration(n.readyAt - t0)}`),
        h("dt", {}, "Started"),
        h("dd", {}, n.startedAt === null ? "—" : `+${fmtDuration(n.startedAt - t0)} (${fmtTime(n.startedAt)})`),
        h("dt", {}, "Duration"),
        h(
          "dd",
          {},
          start === null ? "—" : fmtDuration((n.endedAt ?? now) - start) + (n.endedAt === null ? " so far" : "")
        ),
        n.source !== null ? h("dt", {}, "Result from") : null,
        n.source !== null ? h("dd", {}, n.source) : null,
        n.cost > 0 ? h("dt", {}, "Cost") : null,
        n.cost > 0 ? h("dd", {}, fmtCost(n.cost)) : null,
        n.chunks > 0 ? h("dt", {}, "Chunks") : null,
        n.chunks > 0 ? h("dd", {}, String(n.chunks)) : null,
        n.choice !== null ? h("dt", {}, "Choice") : null,
        n.choice !== null
          ? h("dd", {}, `${n.choice.option} (policy ${n.choice.policy}, propensity ${n.choice.propensity.toFixed(3)})`)
          : null
      )
    )
    if (n.wait !== undefined) { for (const part of this.waitSection(n)) out.push(part) }
    if (n.error !== null) {
      out.push(
        h("h3", {}, "Error"),
        h("p", { class: "error", role: "note" }, h("strong", {}, n.error.kind), ": ", n.error.message)
      )
    }
    out.push(h("h3", {}, "Output"))
    if ("output" in n) out.push(h("pre", { class: "json", tabindex: 0, "aria-label": "Output" }, json(n.output)))
    else {out.push(h(
        "p",
        { class: "note" },
        n.outputHash === null
          ? "No output yet."
          : `Output hash ${
            short(n.outputHash)
          } (the trace records outputs of tool calls; this node's value is computed).`
      ))}
    if (n.attempts.length > 0) {
      out.push(
        h("h3", {}, "Attempts"),
        h(
          "div",
          { class: "table-scroll" },
          h(
            "table",
            { class: "attempts" },
            h("caption", { class: "sr-only" }, "Tool call attempts"),
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                ["#", "Started", "Took", "Result", "Back-off", "Idempotency key", "Args hash"].map((c) =>
                  h("th", { scope: "col" }, c)
                )
              )
            ),
            h(
              "tbody",
              {},
              n.attempts.map((a) =>
                h(
                  "tr",
                  {},
                  h("td", {}, String(a.attempt)),
                  h("td", {}, `+${fmtDuration(a.startedAt - t0)}`),
                  h(
                    "td",
                    {},
                    a.latencyMs !== null
                      ? fmtDuration(a.latencyMs)
                      : a.endedAt !== null
                      ? fmtDuration(a.endedAt - a.startedAt)
                      : "running"
                  ),
                  h(
                    "td",
                    {},
                    a.errorKind === null
                      ? (a.endedAt === null ? "…" : "ok")
                      : h("span", { title: a.message ?? "" }, `${a.errorKind}: ${a.message ?? ""}`)
                  ),
                  h("td", {}, a.retryDelayMs === null ? "—" : fmtDuration(a.retryDelayMs)),
                  h("td", {}, h("code", { class: "idem" }, a.idempotencyKey ?? "—")),
                  h("td", {}, h("code", { title: a.argsHash }, short(a.argsHash)))
                )
              )
            )
          )
        )
      )
    }
    const events = this.model.eventsOf(n.path)
    const details = h(
      "details",
      { class: "events", open: this.eventsOpen },
      h("summary", {}, `Events (${events.length})`),
      h(
        "ol",
        {},
        events.map((e) =>
          h(
            "li",
            {},
            h("span", { class: "ev-type" }, e.type),
            ` #${e.seq} +${fmtDuration(e.at - t0)}${e.attempt === undefined ? "" : ` attempt ${e.attempt}`}`,
            h("pre", { class: "json small" }, json(e.data, 4000))
          )
        )
      )
    )
    // Live redraws keep the list open or closed as the reader left it.
    details.addEventListener("toggle", () => (this.eventsOpen = details.open))
    out.push(details)
    return out
  }
}
