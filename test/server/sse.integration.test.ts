/**
 * SSE over real HTTP with a real client (the `eventsource` package): past
 * then live events with `id:` = seq, resume with `Last-Event-ID`,
 * heartbeats, the end after the terminal event, and a disconnecting client
 * that frees its stream without cancelling the run.
 */
import { EventSource } from "eventsource"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { call, startServer, testConfig, waitEnded } from "../support/server.js"
import type { TestServer } from "../support/server.js"

let server: TestServer
beforeAll(async () => {
  server = await startServer(testConfig({}, { sseHeartbeatMs: 50 }))
}, 30_000)
afterAll(() => server.close())

const PROGRAM = `program main(n: number) {
  a = tool std.sleep(ms: 300)
  b = tool std.echo(value: n) with { after: [a] }
  return b
}`

const submit = async (source: string, inputs: Record<string, unknown> = {}) => {
  const r = await call(server.url, "/v1/runs", { method: "POST", body: JSON.stringify({ source, inputs }) })
  return ((await r.json()) as { runId: string }).runId
}

interface Got {
  readonly id: string
  readonly type: string
  readonly data: { seq: number; type: string }
}

/** Follows a run's events until the server ends the stream (EventSource reconnects then: we close it). */
const follow = (runId: string, headers: Record<string, string> = {}) =>
  new Promise<Array<Got>>((resolve, reject) => {
    const got: Array<Got> = []
    const es = new EventSource(`${server.url}/v1/runs/${runId}/events`, {
      fetch: (input, init) => fetch(input, { ...init, headers: { ...(init?.headers ?? {}), ...headers } })
    })
    const types = [
      "RunStarted",
      "NodeReady",
      "NodeStarted",
      "ToolCalled",
      "ToolReturned",
      "NodeCompleted",
      "NodeFailed",
      "RunCompleted",
      "RunFailed",
      "RunCancelled"
    ]
    for (const t of types) {
      es.addEventListener(t, (e) => {
        got.push({ id: e.lastEventId, type: e.type, data: JSON.parse(e.data) as Got["data"] })
        if (t.startsWith("Run") && t !== "RunStarted") {
          es.close()
          resolve(got)
        }
      })
    }
    es.onerror = () => {
      if (got.length === 0) {
        es.close()
        reject(new Error("stream failed"))
      }
    }
  })

describe("GET /v1/runs/:id/events", () => {
  it("streams past then live events with id = seq, ending with the terminal event", async () => {
    const runId = await submit(PROGRAM, { n: 7 })
    const got = await follow(runId)
    expect(got[0]!.type).toBe("RunStarted")
    expect(got[got.length - 1]!.type).toBe("RunCompleted")
    expect(got.map((g) => Number(g.id))).toEqual(got.map((_, i) => i))
    expect(got.every((g) => g.data.seq === Number(g.id) && g.data.type === g.type)).toBe(true)
    // After the end, the same request answers the whole record at once.
    const again = await follow(runId)
    expect(again.map((g) => g.id)).toEqual(got.map((g) => g.id))
  })

  it("resumes after Last-Event-ID", async () => {
    const runId = await submit(PROGRAM, { n: 1 })
    const all = await follow(runId)
    const rest = await follow(runId, { "last-event-id": "3" })
    expect(rest.map((g) => g.data.seq)).toEqual(all.filter((g) => g.data.seq > 3).map((g) => g.data.seq))
  })

  it("sends heartbeat comments while the run is quiet", async () => {
    const runId = await submit("program main() { s = tool std.sleep(ms: 400) return s }")
    const r = await fetch(`${server.url}/v1/runs/${runId}/events`)
    const text = await r.text()
    expect(r.headers.get("content-type")).toBe("text/event-stream")
    expect(text.match(/^: heartbeat$/gm)?.length ?? 0).toBeGreaterThanOrEqual(2)
    expect(text.trimEnd().split("\n\n").pop()).toMatch(/^id: \d+\nevent: RunCompleted\ndata: /)
  })

  it("a disconnecting client frees its stream and never cancels the run", async () => {
    const runId = await submit(PROGRAM, { n: 2 })
    const controller = new AbortController()
    const r = await fetch(`${server.url}/v1/runs/${runId}/events`, { signal: controller.signal })
    const reader = r.body!.getReader()
    await reader.read()
    const during = (await (await call(server.url, "/healthz")).json()) as { sseClients: number }
    expect(during.sseClients).toBe(1)
    controller.abort()
    let after = during.sseClients
    for (let i = 0; i < 100 && after !== 0; i++) {
      await new Promise((res) => setTimeout(res, 10))
      after = ((await (await call(server.url, "/healthz")).json()) as { sseClients: number }).sseClients
    }
    expect(after).toBe(0)
    const ended = await waitEnded(server.url, runId)
    expect(ended.status).toBe("completed")
  })
})
