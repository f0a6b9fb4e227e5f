/**
 * How `trellis runs` and `trellis runs show` print runs: a table of runs,
 * and one run with its node timeline (start offset, duration, state,
 * attempts, and a bar on the run's time axis).
 */
import type { RunRecord } from "../runtime/runStore.js"
import type { RunView } from "../server/api/runs.js"
import type { RunEvent } from "../trace/events.js"

/**
 * A run as `--json` prints it, in both modes (on the store, or through a
 * server that holds it): the API's view of a run (`GET /v1/runs/:id`), its
 * keys always in the same order.
 */
export const toView = (r: RunView): RunView => ({
  runId: r.runId,
  status: r.status,
  ...(r.output === undefined ? {} : { output: r.output }),
  ...(r.error === undefined ? {} : { error: r.error }),
  programHash: r.programHash,
  programName: r.programName,
  inputs: r.inputs,
  seed: r.seed,
  createdAt: r.createdAt,
  updatedAt: r.updatedAt,
  endedAt: r.endedAt,
  ...(r.cost === undefined ? {} : { cost: r.cost })
})

/** The `cost` of a run's recorded state (its trace summary), when it has one (as the server shows it). */
const costOf = (state: unknown): number | undefined => {
  const cost = typeof state === "object" && state !== null ? (state as { readonly cost?: unknown }).cost : undefined
  return typeof cost === "number" && Number.isFinite(cost) ? cost : undefined
}

/** A stored run record as the API shows it. */
export const viewOfRecord = (r: RunRecord): RunView => {
  const cost = costOf(r.state)
  return toView({
    runId: r.runId,
    status: r.status,
    ...(r.output === undefined ? {} : { output: r.output }),
    ...(r.error === undefined ? {} : { error: r.error }),
    programHash: r.programHash,
    programName: r.programName,
    inputs: r.inputs,
    seed: r.seed,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    endedAt: r.endedAt,
    ...(cost === undefined ? {} : { cost })
  })
}

const iso = (
  ms: number | null
): string => (ms === null ? "-" : new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z"))

const pad = (s: string, n: number): string => (s.length >= n ? s : s + " ".repeat(n - s.length))

/** Runs as a table (or JSON `{ runs, next }`, each run as `toView`). */
export const renderRuns = (runs: ReadonlyArray<RunView>, next: string | undefined, json: boolean): string => {
  if (json) return JSON.stringify({ runs: runs.map(toView), next: next ?? null })
  if (runs.length === 0) return "no runs"
  const rows = runs.map((r) => [
    r.runId,
    r.status,
    r.programName,
    r.programHash.slice(0, 12),
    iso(r.createdAt),
    r.endedAt === null ? "-" : `${r.endedAt - r.createdAt}ms`
  ])
  const head = ["RUN", "STATUS", "PROGRAM", "HASH", "STARTED", "TOOK"]
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)))
  const line = (cells: ReadonlyArray<string>) => cells.map((c, i) => pad(c, widths[i]!)).join("  ").trimEnd()
  const out = [line(head), ...rows.map(line)]
  if (next !== undefined) out.push(`more: trellis runs --cursor ${next}`)
  return out.join("\n")
}

/** One node of the timeline. */
export interface NodeLine {
  readonly node: string
  readonly what: string
  start: number | undefined
  end: number | undefined
  state: string
  attempts: number
}

/** The node timeline of a run's events, in order of first appearance. */
const timeline = (events: ReadonlyArray<RunEvent>): ReadonlyArray<NodeLine> => {
  const nodes = new Map<string, NodeLine>()
  const get = (e: RunEvent, what: string): NodeLine => {
    let n = nodes.get(e.node!)
    if (n === undefined) {
      nodes.set(e.node!, n = { node: e.node!, what, start: undefined, end: undefined, state: "waiting", attempts: 0 })
    }
    return n
  }
  for (const e of events) {
    if (e.node === undefined) continue
    switch (e.type) {
      case "NodeReady":
        get(e, e.data.kind).state = "ready"
        break
      case "NodeStarted": {
        const n = get(e, e.data.kind)
        n.start ??= e.at
        n.state = "running"
        break
      }
      case "ToolCalled": {
        const n = get(e, "tool")
        ;(n as { what: string }).what = `tool ${e.data.tool}`
        n.attempts = Math.max(n.attempts, e.attempt ?? 1)
        break
      }
      case "ToolReturned":
        if (e.data.source !== "tool") get(e, "tool").state = e.data.source === "cache" ? "cached" : "restored"
        break
      case "NodeRetrying":
        get(e, "tool").state = "retrying"
        break
      case "NodeCompleted": {
        const n = get(e, "node")
        n.end = e.at
        if (n.state !== "cached" && n.state !== "restored") n.state = "done"
        break
      }
      case "NodeFailed": {
        const n = get(e, "node")
        n.end = e.at
        n.state = e.data.errorKind === "Cancelled" ? "cancelled" : `failed (${e.data.errorKind})`
        break
      }
      case "ChoiceMade":
        ;(get(e, "choose") as { what: string }).what = `choose ${e.data.key} → ${e.data.option}`
        break
      default:
        break
    }
  }
  return [...nodes.values()]
}

const BAR = 24

/** One run with its node timeline (or JSON: the run as `toView`, the timeline and the event count). */
export const renderRun = (record: RunView, events: ReadonlyArray<RunEvent>, json: boolean): string => {
  const lines = timeline(events)
  if (json) return JSON.stringify({ ...toView(record), events: events.length, timeline: lines })
  const t0 = events[0]?.at ?? record.createdAt
  const t1 = Math.max(t0 + 1, events[events.length - 1]?.at ?? t0 + 1)
  const span = t1 - t0
  const out = [
    `run ${record.runId}  ${record.status}`,
    `program ${record.programName} ${record.programHash}`,
    `started ${iso(record.createdAt)}${
      record.endedAt === null ? "" : `, took ${record.endedAt - record.createdAt}ms`
    }, ${events.length} events`
  ]
  if (record.output !== undefined) out.push(`output ${JSON.stringify(record.output)}`)
  if (record.error !== undefined) {
    out.push(
      `error ${record.error.kind}${
        record.error.node === undefined ? "" : ` at ${record.error.node}`
      }: ${record.error.message}`
    )
  }
  if (lines.length === 0) return out.join("\n")
  const rows = lines.map((l) => {
    let bar = ""
    if (l.start !== undefined) {
      const a = Math.floor(((l.start - t0) / span) * BAR)
      const b = Math.max(a + 1, Math.ceil((((l.end ?? t1) - t0) / span) * BAR))
      bar = " ".repeat(a) + "█".repeat(Math.min(BAR, b) - a)
    }
    return [
      l.node,
      l.what,
      l.start === undefined ? "-" : `+${l.start - t0}ms`,
      l.start === undefined || l.end === undefined ? "-" : `${l.end - l.start}ms`,
      l.state,
      l.attempts === 0 ? "-" : String(l.attempts),
      bar
    ]
  })
  const head = ["NODE", "WHAT", "START", "TOOK", "STATE", "TRIES", "TIMELINE"]
  // No spread of the rows into Math.max or push: a run with many nodes would overflow the stack.
  const widths = head.map((h, i) => rows.reduce((w, r) => Math.max(w, r[i]!.length), h.length))
  out.push("")
  for (const r of [head, ...rows]) {
    out.push(r.map((c, i) => (i === r.length - 1 ? c : pad(c, widths[i]!))).join("  ").trimEnd())
  }
  return out.join("\n")
}
