/**
 * The server bench's load generator (issue 16 measured "from outside with a
 * load generator following each run's SSE stream"): closed-loop clients that
 * POST the 5-node program and follow each run's SSE stream to its terminal
 * event. `drive` runs in the server's process (`inline`) or, started as a
 * script (`clientProcess` in `serverLoad.ts`), in a process of its own, so
 * the clients' HTTP and SSE parsing do not share the server's event loop:
 * each message from the parent is one level (`{ url, concurrency, count,
 * capMs }`), answered with the completed runs and this process's CPU.
 */
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"

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

/** What a load generator brings back: the completed runs (times on its clock) and the failures. */
export interface Driven {
  readonly runs: ReadonlyArray<ClientRun>
  readonly failures: Record<string, number>
  readonly seconds: number
  /** CPU of the generator's process, ms (only when it runs in a process of its own). */
  readonly clientCpuMs?: number
  /** The generator's `performance.timeOrigin` (its marks are relative to it). */
  readonly timeOrigin: number
}

/** The closed loop itself: `concurrency` clients until `count` runs are done or `capMs` passes. */
export const drive = async (url: string, concurrency: number, count: number, capMs: number): Promise<Driven> => {
  const runs: Array<ClientRun> = []
  const failures: Record<string, number> = {}
  let started = 0
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
  return { runs, failures, seconds: (performance.now() - t0) / 1000, timeOrigin: performance.timeOrigin }
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.send !== undefined) {
  process.on("message", (m: { url: string; concurrency: number; count: number; capMs: number }) => {
    const cpu0 = process.cpuUsage()
    void drive(m.url, m.concurrency, m.count, m.capMs).then((d) => {
      const cpu = process.cpuUsage(cpu0)
      process.send!({ ...d, clientCpuMs: (cpu.user + cpu.system) / 1000 })
    })
  })
  process.on("disconnect", () => process.exit(0))
}
