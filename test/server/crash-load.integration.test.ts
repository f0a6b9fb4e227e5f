/**
 * kill -9 of a `trellis serve` process under load loses nothing a client
 * was told: clients submit runs concurrently and follow each run's SSE
 * stream (events are sent only once committed, by group commit with other
 * runs' writes); some read the run back once it ended. The process is
 * killed mid-load; the store, reopened, holds every event any client
 * received (same seq, same type) and every run a client read as completed.
 */
import { Effect, Option } from "effect"
import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { RunStore } from "../../src/runtime/runStore.js"
import { Store } from "../../src/store/index.js"
import { EventLog } from "../../src/trace/events.js"

const home = mkdtempSync(join(tmpdir(), "trellis-crash-load-"))
afterAll(() => rmSync(home, { recursive: true, force: true }))

/** Four echoes fanned out, a short sleep, a join: ~20 events, alive for a few ms. */
const PROGRAM = [
  "program main(n: number) {",
  "  a = tool std.echo(value: n)",
  "  b = tool std.echo(value: [n, 1])",
  "  s = tool std.sleep(ms: 5)",
  "  c = tool std.echo(value: [n, 2]) with { after: [s] }",
  "  j = tool std.echo(value: { a: a, b: b, c: c })",
  "  return j",
  "}"
].join("\n")

const serve = (config = "") =>
  new Promise<{ child: ChildProcess; url: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ["bin/trellis.mjs", "serve", "--port", "0"], {
      env: {
        ...process.env,
        TRELLIS_HOME: home,
        TRELLIS_DATABASE_URL: "",
        TRELLIS_API_KEYS: "",
        TRELLIS_CONFIG: config
      },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    // Generous: PGlite opens slowly on a loaded machine.
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`serve did not start: ${out}`))
    }, 120_000)
    const onData = (d: Buffer) => {
      out += d.toString("utf8")
      const m = /listening on (http:\/\/[^\s]+)/.exec(out)
      if (m !== null) {
        clearTimeout(timer)
        resolve({ child, url: m[1]! })
      }
    }
    child.stdout!.on("data", onData)
    child.stderr!.on("data", onData)
  })

interface Told {
  /** Every event a client received: run id → seq → type. */
  readonly events: Map<string, Map<number, string>>
  /** Runs a client read back as `completed` (GET /v1/runs/:id). */
  readonly completed: Set<string>
}

/** One client: submit, follow the SSE stream to its end, read the run back; until `stop` or an error (the kill). */
const client = async (url: string, id: number, told: Told, stop: () => boolean) => {
  for (let n = 0; !stop(); n++) {
    try {
      const res = await fetch(`${url}/v1/runs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ source: PROGRAM, inputs: { n: id * 10_000 + n } })
      })
      if (res.status !== 202) continue
      const { runId } = (await res.json()) as { runId: string }
      const sse = await fetch(`${url}/v1/runs/${runId}/events`)
      const seen = new Map<number, string>()
      told.events.set(runId, seen)
      const decoder = new TextDecoder()
      let buf = ""
      let ended = false
      for await (const chunk of sse.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true })
        let i: number
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const frame = buf.slice(0, i)
          buf = buf.slice(i + 2)
          const data = frame.split("\n").find((l) => l.startsWith("data: "))
          if (data === undefined) continue
          const e = JSON.parse(data.slice(6)) as { seq: number; type: string }
          seen.set(e.seq, e.type)
          if (e.type === "RunCompleted") ended = true
        }
      }
      if (ended && n % 2 === 0) {
        const run = (await (await fetch(`${url}/v1/runs/${runId}`)).json()) as { status: string }
        if (run.status === "completed") told.completed.add(runId)
      }
    } catch {
      // The server was killed: this client stops.
      return
    }
  }
}

describe("kill -9 under load", () => {
  it("every event delivered over SSE and every run read back completed is in the store after restart", async () => {
    const { child, url } = await serve()
    const told: Told = { events: new Map(), completed: new Set() }
    let killed = false
    const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()))
    const clients = Array.from({ length: 16 }, (_, i) => client(url, i, told, () => killed))
    // Under load for a while (at least 40 runs followed to the end), then killed mid-flight.
    const t0 = Date.now()
    while (Date.now() - t0 < 30_000 && (told.completed.size < 20 || Date.now() - t0 < 1500)) {
      await new Promise((r) => setTimeout(r, 50))
    }
    child.kill("SIGKILL")
    killed = true
    await exited
    await Promise.all(clients)
    expect(told.completed.size).toBeGreaterThanOrEqual(1)
    const delivered = [...told.events.values()].reduce((n, m) => n + m.size, 0)
    expect(delivered).toBeGreaterThan(told.completed.size * 10)

    const check = Effect.gen(function*() {
      const log = yield* EventLog
      const store = yield* RunStore
      for (const [runId, seen] of told.events) {
        if (seen.size === 0) continue
        const stored = new Map((yield* log.events(runId)).map((e) => [e.seq, e.type] as const))
        for (const [seq, type] of seen) expect(stored.get(seq), `run ${runId} seq ${seq}`).toBe(type)
      }
      for (const runId of told.completed) {
        const record = yield* store.get(runId)
        expect(Option.map(record, (r) => r.status)).toEqual(Option.some("completed"))
      }
    })
    // The killed process's lock is taken over.
    await Effect.runPromise(Effect.provide(check, Store.layerPglite(join(home, "pglite"))))
  }, 240_000)

  it(
    "a run accepted while every slot is busy is recorded before its 202: after kill -9 it resumes and completes",
    async () => {
      // One slot, runs of 400 ms: most accepted runs wait in the queue when the process dies.
      const config = join(home, "one-slot.json")
      writeFileSync(config, JSON.stringify({ limits: { concurrentRuns: 1 } }))
      const slow = "program main(n: number) {\n  s = tool std.sleep(ms: 400)\n  return n\n}"
      const first = await serve(config)
      const accepted: Array<string> = []
      for (let n = 0; n < 8; n++) {
        const res = await fetch(`${first.url}/v1/runs`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ source: slow, inputs: { n } })
        })
        expect(res.status).toBe(202)
        accepted.push(((await res.json()) as { runId: string }).runId)
      }
      const queued = (await (await fetch(`${first.url}/v1/runs?status=queued`)).json()) as { runs: Array<unknown> }
      expect(queued.runs.length).toBeGreaterThan(0)
      const exited = new Promise<void>((resolve) => first.child.on("exit", () => resolve()))
      first.child.kill("SIGKILL")
      await exited
      // The next server resumes every run left running: all eight end completed, with their own outputs.
      const second = await serve(config)
      try {
        const deadline = Date.now() + 60_000
        const outputs = new Map<string, unknown>()
        while (outputs.size < accepted.length && Date.now() < deadline) {
          for (const id of accepted) {
            if (outputs.has(id)) continue
            const r = await fetch(`${second.url}/v1/runs/${id}`)
            expect(r.status, `run ${id}`).toBe(200)
            const run = (await r.json()) as { status: string; output?: unknown }
            if (run.status === "completed") outputs.set(id, run.output)
          }
          await new Promise((r) => setTimeout(r, 200))
        }
        expect(accepted.map((id) => outputs.get(id))).toEqual(accepted.map((_, n) => n))
      } finally {
        second.child.kill("SIGKILL")
      }
    },
    180_000
  )
})
