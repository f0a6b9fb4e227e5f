/**
 * Bad input and load over real HTTP on 127.0.0.1: a full run queue answers
 * 429 with Retry-After; ≥ 1,000 malformed requests (fast-check) never get a
 * 5xx or hang; RUNS runs submitted at once (200, over three times the 64 the
 * server executes at once: most of them wait in its queue) all complete with
 * contiguous traces; 100 SSE clients of one run all receive every event.
 * `TRELLIS_LOAD_RUNS=1000` (at most 1,000: one listing page) is the soak
 * (docs/testing.md).
 */
import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { call, startServer, testConfig } from "../support/server.js"
import type { TestServer } from "../support/server.js"

let server: TestServer
let small: TestServer
beforeAll(async () => {
  ;[server, small] = await Promise.all([
    startServer(testConfig({}, { sseHeartbeatMs: 1000 })),
    startServer(testConfig({}, { runQueue: 2, concurrentRuns: 1 }))
  ])
  // Two servers (two PGlite stores) start at once: seconds on a quiet machine, far more on a loaded one.
}, 120_000)
afterAll(() => Promise.all([server.close(), small.close()]))

/** Runs submitted at once by the load test: a short default keeps the suite fast; larger values are the soak. */
const RUNS = (() => {
  const raw = process.env["TRELLIS_LOAD_RUNS"] ?? "200"
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 100 || n > 1000) {
    throw new Error(`TRELLIS_LOAD_RUNS must be an integer from 100 to 1000, got ${JSON.stringify(raw)}`)
  }
  return n
})()

const ECHO =
  "program main(n: number) { a = tool std.echo(value: n) b = tool std.echo(value: [n, n]) return { a: a, b: b } }"
const post = (url: string, body: unknown) => call(url, "/v1/runs", { method: "POST", body: JSON.stringify(body) })

describe("the run queue", () => {
  it("answers 429 with Retry-After when full", async () => {
    const slow = { source: "program main() { s = tool std.sleep(ms: 1500) return s }" }
    const statuses: Array<number> = []
    for (let i = 0; i < 3; i++) statuses.push((await post(small.url, slow)).status)
    expect(statuses).toEqual([202, 202, 202]) // one executing, two queued
    const full = await post(small.url, slow)
    expect(full.status).toBe(429)
    expect(full.headers.get("retry-after")).toBe("1")
    expect(await full.json()).toEqual({
      _tag: "TooManyRequests",
      message: "the run queue is full (2 runs waiting)",
      retryAfter: 1
    })
    const queued = (await (await call(small.url, "/v1/runs?status=queued")).json()) as {
      runs: Array<{ status: string }>
    }
    expect(queued.runs.map((r) => r.status)).toEqual(["queued", "queued"])
  })
})

describe("malformed requests", () => {
  const printable = fc.stringMatching(/^[\x20-\x7e]{0,60}$/)
  const body = fc.oneof(
    fc.string(),
    fc.json(),
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc.record({ source: fc.string(), inputs: fc.jsonValue(), seed: fc.jsonValue() }, { requiredKeys: [] }).map((v) =>
      JSON.stringify(v)
    ),
    fc.record({ program: fc.jsonValue(), key: fc.jsonValue(), reward: fc.jsonValue(), live: fc.jsonValue() }, {
      requiredKeys: []
    }).map((v) => JSON.stringify(v)),
    fc.constantFrom(
      "{",
      "[",
      "{\"source\":",
      "null",
      "\u0000",
      "{\"program\":{\"ir\":\"trellis/1\"}}",
      "[".repeat(5000) + "]".repeat(5000)
    )
  )
  const id = fc.oneof(
    fc.uuid(),
    fc.fullUnicodeString({ maxLength: 300 }).map(encodeURIComponent),
    printable.map(encodeURIComponent)
  )
  const path = fc.oneof(
    fc.constantFrom(
      "/v1/runs",
      "/v1/programs/check",
      "/v1/tools",
      "/v1/schema/program",
      "/healthz",
      "/metrics",
      "/nope",
      "/v1/runs?limit=abc",
      "/v1/runs?status=odd",
      "/v1/runs?cursor=%00"
    ),
    id.map((i) => `/v1/runs/${i}`),
    fc.tuple(id, fc.constantFrom("events", "cancel", "feedback", "replay", "x")).map(([i, s]) => `/v1/runs/${i}/${s}`),
    printable.map((q) => `/v1/runs?cursor=${encodeURIComponent(q)}&limit=${encodeURIComponent(q)}`)
  )
  const headers = fc.record({
    "content-type": fc.constantFrom(
      "application/json",
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data",
      "garbage"
    ),
    "idempotency-key": printable,
    "last-event-id": printable,
    authorization: printable
  }, { requiredKeys: [] })

  it("never get a 5xx or a hung connection (1,000 cases)", async () => {
    let count = 0
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("GET", "POST", "PUT", "DELETE"),
        path,
        body,
        headers,
        async (method, p, b, h) => {
          count++
          const r = await fetch(server.url + p, {
            method,
            headers: h,
            ...(method === "GET" ? {} : { body: b }),
            signal: AbortSignal.timeout(15_000)
          })
          await r.arrayBuffer()
          if (r.status >= 500) throw new Error(`${method} ${p} → ${r.status}`)
        }
      ),
      { numRuns: 1000 }
    )
    expect(count).toBeGreaterThanOrEqual(1000)
  }, 60_000)
})

describe("load", () => {
  it(`${RUNS} runs submitted at once all complete with contiguous traces`, async () => {
    const ids = await Promise.all(Array.from({ length: RUNS }, async (_, n) => {
      const r = await post(server.url, { source: ECHO, inputs: { n } })
      expect(r.status).toBe(202)
      return ((await r.json()) as { runId: string }).runId
    }))
    expect(new Set(ids).size).toBe(RUNS)
    // Wait with one listing per 100 ms (not one poller per run), then read each finished trace.
    const until = Date.now() + 55_000 + RUNS * 50
    let done = 0
    while (done < RUNS && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 100))
      const p = (await (await call(server.url, "/v1/runs?status=completed&limit=1000")).json()) as {
        runs: Array<unknown>
      }
      done = p.runs.length
    }
    expect(done).toBe(RUNS)
    const traces = await Promise.all(
      ids.map(async (id) => (await (await call(server.url, `/v1/runs/${id}/events`)).text()))
    )
    for (const t of traces) {
      const seqs = [...t.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]))
      expect(seqs).toEqual(seqs.map((_, i) => i))
      expect([...t.matchAll(/^event: (\w+)$/gm)].at(-1)?.[1]).toBe("RunCompleted")
    }
    const page = (await (await call(server.url, "/v1/runs?status=completed&limit=1000")).json()) as {
      runs: Array<{ runId: string; output: { a: number } }>
    }
    const outputs = new Map(page.runs.map((r) => [r.runId, r.output.a]))
    expect(ids.map((id) => outputs.get(id))).toEqual(ids.map((_, n) => n))
  }, 180_000)

  it("100 concurrent SSE clients of one run all receive every event", async () => {
    const source =
      "program main() { a = tool std.sleep(ms: 400) b = map i in [1, 2, 3, 4, 5] { e = tool std.echo(value: i) return e } return b }"
    const runId = ((await (await post(server.url, { source })).json()) as { runId: string }).runId
    const streams = await Promise.all(Array.from({ length: 100 }, async () => {
      const r = await fetch(`${server.url}/v1/runs/${runId}/events`, { signal: AbortSignal.timeout(20_000) })
      return r.text()
    }))
    const first = [...streams[0]!.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]))
    expect(first.length).toBeGreaterThan(10)
    expect(first).toEqual(first.map((_, i) => i))
    for (const s of streams) expect([...s.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]))).toEqual(first)
  }, 30_000)
})
