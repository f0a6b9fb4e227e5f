/**
 * The server bench's parts: the real server (`Server.start`) in this
 * process on a PGlite or PostgreSQL store whose run services are wrapped
 * with timers (when each run's record, event batches and ending were
 * submitted and committed), and a closed-loop load generator whose clients
 * do what real ones do: POST the run, follow its SSE stream to the
 * terminal event. Both share `performance.now()`, so a run's path is one
 * timeline: accept → record → execution with event commits → terminal
 * event at the client → ending committed.
 */
import { Context, Effect, Exit, Layer, Redacted, Scope } from "effect"
import { performance } from "node:perf_hooks"
import { ResultCache } from "../../src/runtime/policy/cache.js"
import { ToolLimiter } from "../../src/runtime/policy/limiter.js"
import { RunStore } from "../../src/runtime/runStore.js"
import { resolveConfig } from "../../src/server/config.js"
import * as Server from "../../src/server/server.js"
import { GroupCommit } from "../../src/store/groupCommit.js"
import type { CommitStats } from "../../src/store/groupCommit.js"
import { Store } from "../../src/store/index.js"
import * as Sql from "../../src/store/sql.js"
import { ToolRegistry } from "../../src/tools/registry.js"
import { EventSink } from "../../src/trace/events.js"
import type { RunClosing, RunEvent } from "../../src/trace/events.js"

/** The 5-node program: four echoes fanned out from the input, one join. */
export const FIVE = [
  "program main(n: number) {",
  "  a = tool std.echo(value: n)",
  "  b = tool std.echo(value: [n, 1])",
  "  c = tool std.echo(value: [n, 2])",
  "  d = tool std.echo(value: [n, 3])",
  "  j = tool std.echo(value: { a: a, b: b, c: c, d: d })",
  "  return j",
  "}"
].join("\n")

export const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d
export const pct = (xs: ReadonlyArray<number>, p: number): number => {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!
}

/** Server-side marks of one run (performance.now() ms). */
interface RunMarks {
  createStart?: number
  createAck?: number
  readonly appends: Array<{ readonly start: number; readonly ack: number; readonly events: number }>
  finishStart?: number
  finishAck?: number
}

/** What the wrapped services saw, by run id. */
export type Marks = Map<string, RunMarks>

const marksOf = (marks: Marks, runId: string): RunMarks => {
  let m = marks.get(runId)
  if (m === undefined) {
    m = { appends: [] }
    marks.set(runId, m)
  }
  return m
}

const timed = <A, E, R>(effect: Effect.Effect<A, E, R>, done: (start: number, ack: number) => void) =>
  Effect.suspend(() => {
    const start = performance.now()
    return Effect.tap(effect, () => Effect.sync(() => done(start, performance.now())))
  })

/** The store's run services with timers around record, appends and ending. */
const instrument = <R>(ctx: Context.Context<R>, marks: Marks): Context.Context<R> => {
  const all = ctx as unknown as Context.Context<RunStore | EventSink>
  const store = Context.get(all, RunStore)
  const sink = Context.get(all, EventSink)
  return all.pipe(
    Context.add(
      RunStore,
      RunStore.of({
        ...store,
        create: (run) =>
          timed(store.create(run), (s, a) => {
            const m = marksOf(marks, run.runId)
            m.createStart = s
            m.createAck = a
          }),
        finish: (runId, ending) =>
          timed(store.finish(runId, ending), (s, a) => {
            const m = marksOf(marks, runId)
            m.finishStart = s
            m.finishAck = a
          })
      })
    ),
    Context.add(
      EventSink,
      EventSink.of({
        append: (events) =>
          events.length === 0 ?
            sink.append(events) :
            timed(sink.append(events), (start, ack) =>
              marksOf(marks, events[0]!.runId).appends.push({ start, ack, events: events.length })),
        // The run's last batch and its ending: one write (one commit).
        ...(sink.appendClosing === undefined ? {} : {
          appendClosing: (events: ReadonlyArray<RunEvent>, closing: RunClosing) =>
            timed(sink.appendClosing!(events, closing), (start, ack) => {
              const m = marksOf(marks, closing.runId)
              m.appends.push({ start, ack, events: events.length })
              m.finishStart = start
              m.finishAck = ack
            })
        })
      })
    )
  ) as unknown as Context.Context<R>
}

/** The store layer of a backend. */
export type Backend = {
  readonly kind: "pglite"
  readonly dir: string
  /** Prepared statements (`pgliteProtocol.ts`); default on. */
  readonly prepare?: boolean
} | {
  readonly kind: "postgres"
  readonly url: string
}

/** A running bench server. */
export interface BenchServer {
  readonly url: string
  readonly marks: Marks
  readonly commits: CommitStats
  readonly close: () => Promise<void>
}

/** Starts the server over `backend` with instrumented run services. */
export const startServer = async (backend: Backend): Promise<BenchServer> => {
  const r = resolveConfig({}, [], { runQueue: 100_000, concurrentRuns: 64, drainMs: 0, sseHeartbeatMs: 15_000 })
  if (r._tag === "Left") throw new Error(r.left.message)
  const scope = Effect.runSync(Scope.make())
  const store = backend.kind === "pglite"
    ? Store.layerOn(Sql.layerPglite(backend.dir, { prepare: backend.prepare !== false }))
    : Store.layerPostgres(Redacted.make(backend.url))
  const services = Layer.mergeAll(store, ResultCache.layerMemory, ToolLimiter.layer, ToolRegistry.layerBuiltins)
  const marks: Marks = new Map()
  const started = await Effect.runPromise(
    Effect.gen(function*() {
      const built = yield* Layer.buildWithScope(services, scope)
      // The store layer keeps its writer in its output (not in its type): the bench reads its counters.
      const commits = Context.unsafeGet(built as unknown as Context.Context<GroupCommit>, GroupCommit).stats
      const ctx = instrument(built, marks)
      const s = yield* Server.start({ config: r.right, port: 0, host: "127.0.0.1", resumeOnStart: false }).pipe(
        Effect.provide(ctx),
        Scope.extend(scope)
      )
      return { url: s.url, commits }
    })
  )
  return {
    url: started.url,
    marks,
    commits: started.commits,
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

/** Client-side marks of one run. */
export interface ClientRun {
  readonly runId: string
  readonly t0: number
  readonly accepted: number
  readonly sseOpen: number
  readonly terminal: number
  readonly terminalType: string
  readonly events: number
}

/** One run as a client does it: POST, then the SSE stream to its end. */
export const oneRun = async (url: string, n: number): Promise<ClientRun> => {
  const t0 = performance.now()
  const res = await fetch(`${url}/v1/runs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ source: FIVE, inputs: { n } })
  })
  const body = (await res.json()) as { runId?: string }
  if (res.status !== 202 || body.runId === undefined) {
    throw new Error(`POST /v1/runs: HTTP ${res.status} ${JSON.stringify(body).slice(0, 100)}`)
  }
  const accepted = performance.now()
  const sse = await fetch(`${url}/v1/runs/${body.runId}/events`)
  const sseOpen = performance.now()
  if (sse.status !== 200 || sse.body === null) throw new Error(`SSE of ${body.runId}: HTTP ${sse.status}`)
  const decoder = new TextDecoder()
  let buf = ""
  let last = "none"
  let events = 0
  let terminal = 0
  for await (const chunk of sse.body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true })
    let i: number
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const frame = buf.slice(0, i)
      buf = buf.slice(i + 2)
      const type = frame.split("\n").find((l) => l.startsWith("event: "))
      if (type === undefined) continue
      last = type.slice(7)
      events++
      terminal = performance.now()
    }
  }
  return { runId: body.runId, t0, accepted, sseOpen, terminal, terminalType: last, events }
}

/** A closed-loop load: `concurrency` clients until `count` runs are done or `capMs` passes. */
export const load = async (url: string, concurrency: number, count: number, capMs: number, commits: CommitStats) => {
  const runs: Array<ClientRun> = []
  const failures: Record<string, number> = {}
  let started = 0
  const before = { ...commits }
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const deadline = t0 + capMs
  const worker = async () => {
    while (started < count && performance.now() < deadline) {
      const n = started++
      try {
        const r = await oneRun(url, n)
        if (r.terminalType === "RunCompleted") runs.push(r)
        else failures[r.terminalType] = (failures[r.terminalType] ?? 0) + 1
      } catch (e) {
        const k = e instanceof Error ? e.message.slice(0, 80) : String(e)
        failures[k] = (failures[k] ?? 0) + 1
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  const s = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  const latencies = runs.map((r) => r.terminal - r.t0)
  const groups = commits.commits - before.commits
  const writes = commits.writes - before.writes
  return {
    row: {
      concurrency,
      runs: runs.length,
      failed: failures,
      seconds: round(s, 2),
      runsPerSecond: round(runs.length / s),
      p50Ms: round(pct(latencies, 50), 2),
      p99Ms: round(pct(latencies, 99), 2),
      cpuMsPerRun: round((cpu.user + cpu.system) / 1000 / Math.max(1, runs.length), 2),
      commits: groups,
      writesPerCommit: round(writes / Math.max(1, groups), 1),
      commitsPerRun: round(groups / Math.max(1, runs.length), 2),
      commitMsMean: round((commits.commitMs - before.commitMs) / Math.max(1, groups), 2)
    },
    runs
  }
}

/** The per-phase breakdown of runs: medians of each phase's duration, ms. */
export const breakdown = (runs: ReadonlyArray<ClientRun>, marks: Marks) => {
  const phases: Record<string, Array<number>> = {
    "accept (POST → 202: HTTP, program from cache, queue)": [],
    "queue → run recorded (202 → record submitted)": [],
    "record commit (run created, acknowledged)": [],
    "event commits, all batches of the run": [],
    "event batches per run": [],
    "execution between commits (scheduler, tools)": [],
    "fan-out: terminal commit → terminal event at client": [],
    "SSE request → headers (one store read)": [],
    "ending commit after the last events' commit (0: one commit)": [],
    "submit → complete (client)": []
  }
  const push = (k: string, v: number | undefined) => {
    if (v !== undefined && Number.isFinite(v)) phases[k]!.push(v)
  }
  for (const r of runs) {
    const m = marks.get(r.runId)
    if (m === undefined || m.createStart === undefined || m.createAck === undefined || m.appends.length === 0) continue
    const appendMs = m.appends.reduce((n, a) => n + (a.ack - a.start), 0)
    const lastAck = m.appends[m.appends.length - 1]!.ack
    push("accept (POST → 202: HTTP, program from cache, queue)", r.accepted - r.t0)
    push("queue → run recorded (202 → record submitted)", Math.max(0, m.createStart - r.accepted))
    push("record commit (run created, acknowledged)", m.createAck - m.createStart)
    push("event commits, all batches of the run", appendMs)
    push("event batches per run", m.appends.length)
    push("execution between commits (scheduler, tools)", lastAck - m.createAck - appendMs)
    push("fan-out: terminal commit → terminal event at client", r.terminal - lastAck)
    push("SSE request → headers (one store read)", r.sseOpen - r.accepted)
    push(
      "ending commit after the last events' commit (0: one commit)",
      m.finishAck === undefined ? undefined : Math.max(0, m.finishAck - lastAck)
    )
    push("submit → complete (client)", r.terminal - r.t0)
  }
  return Object.fromEntries(Object.entries(phases).map(([k, xs]) => [k, round(pct(xs, 50), 2)]))
}
