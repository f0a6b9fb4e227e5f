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
import { fork } from "node:child_process"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import { ResultCache } from "../../src/runtime/policy/cache.js"
import { ToolLimiter } from "../../src/runtime/policy/limiter.js"
import { RunStore } from "../../src/runtime/runStore.js"
import { resolveConfig } from "../../src/server/config.js"
import * as Server from "../../src/server/server.js"
import { GroupCommit } from "../../src/store/groupCommit.js"
import type { CommitStats } from "../../src/store/groupCommit.js"
import { Store } from "../../src/store/index.js"
import { threadsUtilization } from "../../src/store/pgliteThread.js"
import * as Sql from "../../src/store/sql.js"
import { ToolRegistry } from "../../src/tools/registry.js"
import { EventSink } from "../../src/trace/events.js"
import type { RunClosing, RunEvent } from "../../src/trace/events.js"
import { drive, pct, round } from "./serverClient.js"
import type { ClientRun, Driven } from "./serverClient.js"

export { FIVE, oneRun, pct, round } from "./serverClient.js"
export type { ClientRun } from "./serverClient.js"

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

/** Where the load generator runs: in the server's process (one event loop) or in a process of its own. */
export type ClientMode = "inline" | "process"

/** A load generator in a child process (`serverClient.ts`), reused for every level; `close` ends it. */
export interface ClientProcess {
  readonly drive: (url: string, concurrency: number, count: number, capMs: number) => Promise<Driven>
  readonly close: () => void
}

/** Starts the child process of the load generator. */
export const clientProcess = (): ClientProcess => {
  const child = fork(fileURLToPath(new URL("./serverClient.ts", import.meta.url)), [], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"]
  })
  let waiting: { resolve: (d: Driven) => void; reject: (e: Error) => void } | undefined
  child.on("message", (m: Driven) => {
    const w = waiting
    waiting = undefined
    w?.resolve(m)
  })
  child.on("exit", (code) => waiting?.reject(new Error(`the load generator exited (${code})`)))
  return {
    drive: (url, concurrency, count, capMs) =>
      new Promise<Driven>((resolve, reject) => {
        waiting = { resolve, reject }
        child.send({ url, concurrency, count, capMs })
      }),
    close: () => void child.kill()
  }
}

/**
 * One level of load against the server: `concurrency` clients, `count` runs or `capMs`; the load generator in
 * this process, or in `client` (its marks moved onto this process's clock). `cpuMsPerRun` is this process's CPU
 * (server, PGlite's thread, and the generator when inline); `clientCpuMsPerRun` the child's.
 */
export const load = async (
  url: string,
  concurrency: number,
  count: number,
  capMs: number,
  commits: CommitStats,
  client?: ClientProcess
) => {
  const before = { ...commits }
  const elu0 = performance.eventLoopUtilization()
  const db0 = threadsUtilization()
  const cpu0 = process.cpuUsage()
  const driven = client === undefined
    ? await drive(url, concurrency, count, capMs)
    : await client.drive(url, concurrency, count, capMs)
  const cpu = process.cpuUsage(cpu0)
  const elu = performance.eventLoopUtilization(elu0)
  const db1 = threadsUtilization()
  const shift = driven.timeOrigin - performance.timeOrigin
  const runs = shift === 0 ? driven.runs : driven.runs.map((r) => ({
    ...r,
    t0: r.t0 + shift,
    accepted: r.accepted + shift,
    sseOpen: r.sseOpen + shift,
    terminal: r.terminal + shift
  }))
  const s = driven.seconds
  const latencies = runs.map((r) => r.terminal - r.t0)
  const groups = commits.commits - before.commits
  const writes = commits.writes - before.writes
  const n = Math.max(1, runs.length)
  return {
    row: {
      concurrency,
      client: client === undefined ? "inline" : "process",
      runs: runs.length,
      failed: driven.failures,
      seconds: round(s, 2),
      runsPerSecond: round(runs.length / s),
      p50Ms: round(pct(latencies, 50), 2),
      p99Ms: round(pct(latencies, 99), 2),
      cpuMsPerRun: round((cpu.user + cpu.system) / 1000 / n, 2),
      ...(driven.clientCpuMs === undefined ? {} : { clientCpuMsPerRun: round(driven.clientCpuMs / n, 2) }),
      // Busy time of the server's main thread and of PGlite's thread (event-loop utilization; wall time, so it
      // includes time the thread waited for a core on a loaded machine).
      mainBusyMsPerRun: round(elu.active / n, 2),
      mainUtilization: round(elu.utilization, 2),
      ...(db1.active === db0.active ? {} : {
        dbThreadBusyMsPerRun: round((db1.active - db0.active) / n, 2),
        dbThreadUtilization: round((db1.active - db0.active) / (s * 1000), 2)
      }),
      commits: groups,
      writesPerCommit: round(writes / Math.max(1, groups), 1),
      commitsPerRun: round(groups / n, 2),
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
