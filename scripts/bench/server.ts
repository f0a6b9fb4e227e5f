/**
 * Benchmark of the HTTP server (issue 5, item 8), one process: the real
 * server (`Server.start`, PGlite store in a temp dir, built-in tools) on
 * 127.0.0.1:0, loaded from the same process over loopback.
 * - submit-to-complete: a 5-node program (4 `std.echo` fan-out + 1 join),
 *   DSL source in the POST body, at concurrency 1, 16 and 64; each client
 *   POSTs, opens the run's SSE stream and waits for the terminal event:
 *   runs/s and p50/p99 latency from POST to `RunCompleted` arriving;
 * - SSE delivery latency: ~20 concurrent runs with one subscriber each;
 *   time from each live event's `at` (server clock, same machine) to its
 *   arrival at the client, p50/p99;
 * - raw `POST /v1/runs` submission rate and latency with autocannon at
 *   1/16/64 connections, a fixed number of requests per level; the queue
 *   limit is set high so it measures submission, not 429s (the 429 share is
 *   reported anyway); the accepted runs still execute, and the time the
 *   server needs to drain them is reported too.
 * Every phase has a time cap; the whole suite stops by itself in < 3 min.
 * Writes scripts/bench/results/server.json.
 */
import { Effect, Exit, Layer, Scope } from "effect"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as os from "node:os"
import { dirname, join } from "node:path"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import { ResultCache } from "../../src/runtime/policy/cache.js"
import { ToolLimiter } from "../../src/runtime/policy/limiter.js"
import { resolveConfig } from "../../src/server/config.js"
import * as Server from "../../src/server/server.js"
import { Store } from "../../src/store/index.js"
import { ToolRegistry } from "../../src/tools/registry.js"

const here = dirname(fileURLToPath(import.meta.url))

/** The 5-node program: four echoes fanned out from the input, one join. */
const FIVE = [
  "program main(n: number) {",
  "  a = tool std.echo(value: n)",
  "  b = tool std.echo(value: [n, 1])",
  "  c = tool std.echo(value: [n, 2])",
  "  d = tool std.echo(value: [n, 3])",
  "  j = tool std.echo(value: { a: a, b: b, c: c, d: d })",
  "  return j",
  "}"
].join("\n")

/** The SSE-latency program: a short sleep first so the subscriber is attached before most events. */
const DELAYED = [
  "program main(n: number) {",
  "  s = tool std.sleep(ms: 150)",
  "  a = tool std.echo(value: n) with { after: [s] }",
  "  b = tool std.echo(value: [n, 1]) with { after: [s] }",
  "  c = tool std.echo(value: [n, 2]) with { after: [s] }",
  "  j = tool std.echo(value: { a: a, b: b, c: c })",
  "  return j",
  "}"
].join("\n")

// autocannon ships no types; the slice used here.
interface AutocannonHistogram {
  readonly average: number
  readonly p50: number
  readonly p99: number
  readonly max: number
}
interface AutocannonResult {
  readonly latency: AutocannonHistogram
  readonly requests: AutocannonHistogram & { readonly total: number }
  readonly duration: number
  readonly errors: number
  readonly timeouts: number
  readonly non2xx: number
  readonly statusCodeStats: Record<string, { readonly count: number }>
  readonly "2xx": number
}
type Autocannon = (options: Record<string, unknown>) => Promise<AutocannonResult>
const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d
const pct = (xs: ReadonlyArray<number>, p: number): number => {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!
}
/** Wall clock in ms with sub-ms resolution (same clock as the server's `at`, Date.now()). */
const wallNow = () => performance.timeOrigin + performance.now()

/** Starts the server over a PGlite store in `dir`; resolves to its URL and a close function. */
const startServer = async (dir: string) => {
  const r = resolveConfig({}, [], { runQueue: 100_000, concurrentRuns: 64, drainMs: 0, sseHeartbeatMs: 15_000 })
  if (r._tag === "Left") throw new Error(r.left.message)
  const scope = Effect.runSync(Scope.make())
  const services = Layer.mergeAll(
    Store.layerPglite(dir),
    ResultCache.layerMemory,
    ToolLimiter.layer,
    ToolRegistry.layerBuiltins
  )
  const started = await Effect.runPromise(
    Effect.gen(function*() {
      const ctx = yield* Layer.buildWithScope(services, scope)
      return yield* Server.start({ config: r.right, port: 0, host: "127.0.0.1", resumeOnStart: false }).pipe(
        Effect.provide(ctx),
        Scope.extend(scope)
      )
    })
  )
  return { url: started.url, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

interface SseEvent {
  readonly type: string
  readonly at: number
  readonly arrived: number
}

/** Opens a run's SSE stream and reads it to its end; every event with its arrival time, and when headers came. */
const readSse = async (url: string, runId: string) => {
  const res = await fetch(`${url}/v1/runs/${runId}/events`)
  const opened = wallNow()
  if (res.status !== 200 || res.body === null) throw new Error(`SSE of ${runId}: HTTP ${res.status}`)
  const events: Array<SseEvent> = []
  const decoder = new TextDecoder()
  let buf = ""
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    const arrived = wallNow()
    buf += decoder.decode(chunk, { stream: true })
    let i: number
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const frame = buf.slice(0, i)
      buf = buf.slice(i + 2)
      const data = frame.split("\n").find((l) => l.startsWith("data: "))
      if (data === undefined) continue
      const e = JSON.parse(data.slice(6)) as { type: string; at: number }
      events.push({ type: e.type, at: e.at, arrived })
    }
  }
  return { opened, events }
}

const submit = async (url: string, source: string, n: number) => {
  const res = await fetch(`${url}/v1/runs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ source, inputs: { n } })
  })
  const body = (await res.json()) as { runId?: string }
  if (res.status !== 202 || body.runId === undefined) {
    throw new Error(`POST /v1/runs: HTTP ${res.status} ${JSON.stringify(body)}`)
  }
  return body.runId
}

/** One submit-to-complete: POST, SSE to the end; latency to the terminal event and the terminal type. */
const oneRun = async (url: string, source: string, n: number) => {
  const t0 = performance.now()
  const runId = await submit(url, source, n)
  const { events, opened } = await readSse(url, runId)
  const last = events[events.length - 1]
  return { latencyMs: performance.now() - t0, terminal: last?.type ?? "none", events, opened }
}

/** Closed-loop clients: `concurrency` workers run until `count` runs are done or `capMs` passes. */
const submitToComplete = async (url: string, concurrency: number, count: number, capMs: number) => {
  const latencies: Array<number> = []
  const failures: Record<string, number> = {}
  let started = 0
  const t0 = performance.now()
  const deadline = t0 + capMs
  const worker = async () => {
    while (started < count && performance.now() < deadline) {
      const n = started++
      try {
        const r = await oneRun(url, FIVE, n)
        if (r.terminal === "RunCompleted") latencies.push(r.latencyMs)
        else failures[r.terminal] = (failures[r.terminal] ?? 0) + 1
      } catch (e) {
        const k = e instanceof Error ? e.message.slice(0, 80) : String(e)
        failures[k] = (failures[k] ?? 0) + 1
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  const s = (performance.now() - t0) / 1000
  return {
    concurrency,
    runs: latencies.length,
    failed: failures,
    seconds: round(s, 2),
    runsPerSecond: round(latencies.length / s),
    p50Ms: round(pct(latencies, 50)),
    p99Ms: round(pct(latencies, 99)),
    maxMs: round(pct(latencies, 100))
  }
}

/** ~`runs` concurrent runs, one subscriber each; delivery latency (`at` → arrival) of the live events. */
const sseDelivery = async (url: string, runs: number) => {
  const results = await Promise.all(Array.from({ length: runs }, async (_, n) => {
    const runId = await submit(url, DELAYED, n)
    return readSse(url, runId)
  }))
  const live: Array<number> = []
  const all: Array<number> = []
  let completed = 0
  for (const r of results) {
    if (r.events[r.events.length - 1]?.type === "RunCompleted") completed++
    for (const e of r.events) {
      all.push(e.arrived - e.at)
      // Events recorded before the subscription opened were replayed, not delivered live.
      if (e.at >= r.opened) live.push(e.arrived - e.at)
    }
  }
  return {
    runs,
    completed,
    events: all.length,
    liveEvents: live.length,
    liveP50Ms: round(pct(live, 50), 2),
    liveP99Ms: round(pct(live, 99), 2),
    liveMaxMs: round(pct(live, 100), 2),
    allP50Ms: round(pct(all, 50), 2),
    allP99Ms: round(pct(all, 99), 2)
  }
}

/** Waits until the server has no queued or running run (or `capMs` passes); the time it took. */
const drain = async (url: string, capMs: number) => {
  const t0 = performance.now()
  while (performance.now() - t0 < capMs) {
    const h = (await (await fetch(`${url}/healthz`)).json()) as { queued: number; running: number }
    if (h.queued === 0 && h.running === 0) return { drained: true, ms: Math.round(performance.now() - t0) }
    await new Promise((res) => setTimeout(res, 50))
  }
  return { drained: false, ms: Math.round(performance.now() - t0) }
}

/** autocannon on POST /v1/runs: `amount` requests over `connections`. */
const rawSubmit = async (url: string, connections: number, amount: number) => {
  const t0 = performance.now()
  const r = await autocannon({
    url: `${url}/v1/runs`,
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ source: FIVE, inputs: { n: 1 } }),
    connections,
    amount,
    timeout: 20
  })
  // autocannon's own `duration` is whole seconds; the wall time is finer.
  const seconds = (performance.now() - t0) / 1000
  const total = r.requests.total
  const s429 = r.statusCodeStats["429"]?.count ?? 0
  return {
    connections,
    requests: total,
    accepted: r["2xx"],
    share429: total === 0 ? 0 : round(s429 / total, 3),
    errors: r.errors,
    timeouts: r.timeouts,
    seconds: round(seconds, 2),
    requestsPerSecond: round(total / seconds),
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    maxMs: r.latency.max
  }
}

/** Runs the whole suite, prints tables, writes the JSON report. */
export const runServerBench = async (): Promise<Record<string, unknown>> => {
  const suiteStart = performance.now()
  // The suite must stop by itself: a hard stop well under 3 minutes.
  const guard = setTimeout(() => {
    console.error("server bench: over 170 s, stopping")
    process.exit(1)
  }, 170_000)
  const dir = fs.mkdtempSync(join(os.tmpdir(), "trellis-bench-server-"))
  const server = await startServer(dir)
  try {
    console.log(
      `server on ${server.url} (PGlite in ${dir}), started in ${Math.round(performance.now() - suiteStart)} ms`
    )
    // Warm-up: JIT, prepared statements, the program's compile path.
    await submitToComplete(server.url, 4, 20, 10_000)

    console.log("\nsubmit-to-complete, 5-node program (POST → RunCompleted over SSE)")
    console.log("conc   runs   seconds   runs/s    p50 ms    p99 ms")
    const complete = []
    for (const [c, count] of [[1, 200], [16, 480], [64, 640]] as const) {
      const row = await submitToComplete(server.url, c, count, 25_000)
      complete.push(row)
      console.log(
        `${String(c).padStart(4)} ${String(row.runs).padStart(6)} ${String(row.seconds).padStart(9)} ${
          String(row.runsPerSecond).padStart(8)
        } ${String(row.p50Ms).padStart(9)} ${String(row.p99Ms).padStart(9)}${
          Object.keys(row.failed).length > 0 ? `  failed: ${JSON.stringify(row.failed)}` : ""
        }`
      )
    }

    const sse = await sseDelivery(server.url, 20)
    console.log(
      `\nSSE delivery (${sse.runs} concurrent runs, one subscriber each): ${sse.liveEvents} live events of ${sse.events}, p50 ${sse.liveP50Ms} ms, p99 ${sse.liveP99Ms} ms, max ${sse.liveMaxMs} ms (completed ${sse.completed}/${sse.runs})`
    )

    console.log("\nraw POST /v1/runs (autocannon), then the time to execute the accepted runs")
    console.log("conn   reqs   req/s     p50 ms   p99 ms   429 share   drain ms")
    const raw = []
    for (const [c, amount] of [[1, 500], [16, 1_500], [64, 2_000]] as const) {
      const row = await rawSubmit(server.url, c, amount)
      const d = await drain(server.url, 30_000)
      raw.push({ ...row, drainMs: d.ms, drained: d.drained })
      console.log(
        `${String(c).padStart(4)} ${String(row.requests).padStart(6)} ${String(row.requestsPerSecond).padStart(7)} ${
          String(row.p50Ms).padStart(10)
        } ${String(row.p99Ms).padStart(8)} ${String(row.share429).padStart(11)} ${String(d.ms).padStart(10)}${
          d.drained ? "" : " (not drained)"
        }${row.errors > 0 ? `  errors: ${row.errors}` : ""}`
      )
    }

    const report = {
      suite: "server",
      at: new Date().toISOString(),
      machine: {
        cpus: os.cpus().length,
        cpu: os.cpus()[0]?.model ?? "unknown",
        node: process.version,
        loadAvg1mAtEnd: round(os.loadavg()[0] ?? 0, 2)
      },
      setup: {
        store: "PGlite (temp dir)",
        limits: { concurrentRuns: 64, runQueue: 100_000 },
        note: "server and load generator share one process and event loop (loopback)",
        program: FIVE
      },
      submitToComplete: complete,
      sseDelivery: sse,
      rawSubmit: raw,
      totalSeconds: round((performance.now() - suiteStart) / 1000, 1)
    }
    const out = join(here, "results", "server.json")
    fs.mkdirSync(dirname(out), { recursive: true })
    fs.writeFileSync(out, JSON.stringify(report, null, 2) + "\n")
    console.log(`\nwrote ${out} (${report.totalSeconds} s)`)
    return report
  } finally {
    await server.close()
    fs.rmSync(dir, { recursive: true, force: true })
    clearTimeout(guard)
  }
}
