/**
 * The HTTP API over real HTTP on 127.0.0.1: the derived client, typed
 * errors with their statuses, workspaces and quotas, idempotency, body
 * limits, cancel, feedback, replay, and a canary secret that must never
 * come back in any response.
 */
import { Effect, Either } from "effect"
import { connect } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { hashKey } from "../../src/server/config.js"
import { call, client, startServer, testConfig, waitEnded } from "../support/server.js"
import type { TestServer } from "../support/server.js"

const CANARY = "canary-Zq9xW7-secret-value"
const ACME = "acme-key-1"
const BETA = "beta-key-2"
const TIGHT = "tight-key-3"
const ECHO = "program main(name: string) { g = tool std.echo(value: name) return g }"
const SLOW = "program main() { s = tool std.sleep(ms: 20000) return s }"

let server: TestServer
const seen: Array<string> = []

/** fetch through the canary recorder: every status line, header and body is kept. */
const req = async (path: string, init: RequestInit & { readonly key?: string } = {}) => {
  const r = await call(server.url, path, init)
  const text = await r.text()
  seen.push(`${r.status} ${JSON.stringify([...r.headers])} ${text}`)
  return { status: r.status, headers: r.headers, text, json: () => JSON.parse(text) as Record<string, unknown> }
}
const post = (path: string, body: unknown, key?: string, headers: Record<string, string> = {}) =>
  req(path, { method: "POST", body: JSON.stringify(body), headers, ...(key === undefined ? {} : { key }) })

/** Posts `count` chunks of `size` bytes with Transfer-Encoding: chunked over a raw socket; the raw response. */
const rawChunkedPost = (url: string, path: string, key: string, count: number, size: number) =>
  new Promise<string>((resolve) => {
    const u = new URL(url)
    const socket = connect(Number(u.port), u.hostname)
    let response = ""
    socket.on("data", (d) => (response += d.toString("utf8")))
    socket.on("error", () => {})
    socket.on("close", () => resolve(response))
    socket.write(
      `POST ${path} HTTP/1.1\r\nHost: ${u.host}\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`
    )
    for (let i = 0; i < count; i++) socket.write(`${size.toString(16)}\r\n${"x".repeat(size)}\r\n`)
    socket.write("0\r\n\r\n")
  })

beforeAll(async () => {
  process.env.TRELLIS_TEST_CANARY_API_KEY = CANARY
  server = await startServer(testConfig({
    workspaces: [
      { name: "acme", keyHashes: [hashKey(ACME), hashKey(CANARY)] },
      { name: "beta", keyHashes: [hashKey(BETA)] },
      { name: "tight", keyHashes: [hashKey(TIGHT)], quotas: { runsPerMinute: 2, concurrentRuns: 5 } }
    ]
  }, { maxBodyBytes: 4096 }))
}, 30_000)
afterAll(async () => {
  await server.close()
  delete process.env.TRELLIS_TEST_CANARY_API_KEY
})

describe("the derived HttpApiClient", () => {
  it("submits, reads, lists and checks through typed calls", async () => {
    const result = await Effect.runPromise(Effect.gen(function*() {
      const api = yield* client(server.url, ACME)
      const { runId } = yield* api.runs.create({ payload: { source: ECHO, inputs: { name: "Ada" } }, headers: {} })
      let run = yield* api.runs.get({ path: { id: runId } })
      for (let i = 0; i < 200 && (run.status === "queued" || run.status === "running"); i++) {
        yield* Effect.sleep(20)
        run = yield* api.runs.get({ path: { id: runId } })
      }
      const checked = yield* api.programs.check({ payload: { source: ECHO } })
      const tools = yield* api.system.tools()
      const health = yield* api.health.healthz()
      const page = yield* api.runs.list({ urlParams: { status: "completed", limit: 10 } })
      const bad = yield* Effect.either(
        api.runs.create({ payload: { source: "program main() { return x }" }, headers: {} })
      )
      return { run, checked, tools, health, page, bad, runId }
    }))
    expect(result.run).toMatchObject({
      runId: result.runId,
      status: "completed",
      output: "Ada",
      programName: "main",
      inputs: { name: "Ada" }
    })
    expect(result.checked.ok).toBe(true)
    expect(result.checked.hash).toMatch(/^[0-9a-f]{64}$/)
    expect(result.tools.tools.map((t) => t.name)).toContain("std.echo")
    expect(result.health.status).toBe("ok")
    expect(result.page.runs.map((r) => r.runId)).toContain(result.runId)
    expect(Either.isLeft(result.bad) && result.bad.left._tag).toBe("BadRequest")
  })
})

describe("errors", () => {
  it("400 lists the violations with locations", async () => {
    const r = await post("/v1/runs", { source: "program main() {\n  a = tool nope.tool()\n  return b\n}" }, ACME)
    expect(r.status).toBe(400)
    const body = r.json() as { _tag: string; violations: Array<{ code: string; span?: unknown }> }
    expect(body._tag).toBe("BadRequest")
    expect(body.violations.map((v) => v.code).sort()).toEqual(["unbound-ref", "unknown-tool"])
    expect(body.violations.every((v) => v.span !== undefined)).toBe(true)
  })

  it("400 for both or neither of source/program, and for inputs that do not fit", async () => {
    expect((await post("/v1/runs", {}, ACME)).json()).toEqual({
      _tag: "BadRequest",
      message: "give exactly one of \"source\" (DSL text) and \"program\" (JSON IR)"
    })
    const r = await post("/v1/runs", { source: ECHO, inputs: { name: 3 } }, ACME)
    expect(r.status).toBe(400)
  })

  it("401 without a key, with a wrong key, with a malformed header", async () => {
    for (
      const headers of [{}, { authorization: "Bearer wrong" }, { authorization: "Basic abc" }, {
        authorization: "Bearer"
      }]
    ) {
      const r = await req("/v1/runs", { headers })
      expect(r.status).toBe(401)
      expect(r.json()._tag).toBe("Unauthorized")
    }
    expect((await req("/healthz")).status).toBe(200)
  })

  it("413 for a Content-Length over the limit; a chunked body over it is cut off", async () => {
    const big = JSON.stringify({ source: ECHO + " ".repeat(5000) })
    const r = await post("/v1/runs", JSON.parse(big), ACME)
    expect(r.status).toBe(413)
    expect(r.json()).toEqual({ _tag: "PayloadTooLarge", message: "the request body exceeds 4096 bytes" })
    // A chunked body (no Content-Length) is cut off while being read: the connection is closed, nothing is run.
    const before = ((await req("/v1/runs?limit=1000", { key: ACME })).json().runs as Array<unknown>).length
    const chunked = await rawChunkedPost(server.url, "/v1/runs", ACME, 10, 1000)
    expect(chunked).toBe("")
    const within = await rawChunkedPost(server.url, "/v1/programs/check", ACME, 1, 20)
    expect(within.split("\r\n")[0]).toBe("HTTP/1.1 400 Bad Request")
    expect(((await req("/v1/runs?limit=1000", { key: ACME })).json().runs as Array<unknown>).length).toBe(before)
  })
})

describe("workspaces", () => {
  it("never show one workspace's run to another (404 everywhere)", async () => {
    const { runId } = (await post("/v1/runs", { source: ECHO, inputs: { name: "a" } }, ACME)).json() as {
      runId: string
    }
    await waitEnded(server.url, runId, ACME)
    const expected = { _tag: "NotFound", message: `no run ${runId}` }
    expect((await req(`/v1/runs/${runId}`, { key: BETA })).json()).toEqual(expected)
    expect((await req(`/v1/runs/${runId}/events`, { key: BETA })).status).toBe(404)
    expect((await post(`/v1/runs/${runId}/cancel`, {}, BETA)).json()).toEqual(expected)
    expect((await post(`/v1/runs/${runId}/feedback`, { key: "k", reward: 1 }, BETA)).json()).toEqual(expected)
    expect((await post(`/v1/runs/${runId}/replay`, {}, BETA)).json()).toEqual(expected)
    const list = (await req("/v1/runs", { key: BETA })).json() as { runs: Array<{ runId: string }> }
    expect(list.runs.map((r) => r.runId)).not.toContain(runId)
    expect((await req(`/v1/runs/${runId}`, { key: ACME })).status).toBe(200)
  })

  it("runsPerMinute: the third run in a minute is 429 with Retry-After", async () => {
    expect((await post("/v1/runs", { source: ECHO, inputs: { name: "1" } }, TIGHT)).status).toBe(202)
    expect((await post("/v1/runs", { source: ECHO, inputs: { name: "2" } }, TIGHT)).status).toBe(202)
    const r = await post("/v1/runs", { source: ECHO, inputs: { name: "3" } }, TIGHT)
    expect(r.status).toBe(429)
    const retry = Number(r.headers.get("retry-after"))
    expect(retry).toBeGreaterThanOrEqual(1)
    expect(retry).toBeLessThanOrEqual(60)
    expect(r.json()).toEqual({
      _tag: "TooManyRequests",
      message: "workspace tight started 2 runs in the last minute (its runsPerMinute quota)",
      retryAfter: retry
    })
  })
})

describe("runs", () => {
  it("Idempotency-Key: same body → same run, different body → 409", async () => {
    const a = await post("/v1/runs", { source: ECHO, inputs: { name: "x" } }, ACME, { "idempotency-key": "k-1" })
    const b = await post("/v1/runs", { inputs: { name: "x" }, source: ECHO }, ACME, { "idempotency-key": "k-1" })
    expect(a.status).toBe(202)
    expect(b.status).toBe(202)
    expect(b.json().runId).toBe(a.json().runId)
    const c = await post("/v1/runs", { source: ECHO, inputs: { name: "y" } }, ACME, { "idempotency-key": "k-1" })
    expect(c.status).toBe(409)
    expect(c.json()).toEqual({
      _tag: "Conflict",
      message: "this Idempotency-Key was used with a different request body"
    })
    // Keys are per workspace.
    const d = await post("/v1/runs", { source: ECHO, inputs: { name: "y" } }, BETA, { "idempotency-key": "k-1" })
    expect(d.status).toBe(202)
  })

  it("cancel records the cancellation; cancelling again is 409", async () => {
    const { runId } = (await post("/v1/runs", { source: SLOW }, ACME)).json() as { runId: string }
    // Wait until the sleep is in flight.
    for (let i = 0; i < 200; i++) {
      const ev = await req(`/v1/runs/${runId}`, { key: ACME })
      if (ev.json().status === "running") break
      await new Promise((r) => setTimeout(r, 10))
    }
    await new Promise((r) => setTimeout(r, 100))
    const c = await post(`/v1/runs/${runId}/cancel`, {}, ACME)
    expect(c.status).toBe(202)
    expect(c.json()).toEqual({ runId, status: "cancelled" })
    const run = (await req(`/v1/runs/${runId}`, { key: ACME })).json()
    expect(run.status).toBe("cancelled")
    const events = (await req(`/v1/runs/${runId}/events`, { key: ACME })).text
    expect(events).toContain("event: RunCancelled")
    const again = await post(`/v1/runs/${runId}/cancel`, {}, ACME)
    expect(again.json()).toEqual({ _tag: "Conflict", message: `run ${runId} is already cancelled` })
  })

  it("replays a completed run exactly; feedback without a choice is 400", async () => {
    const { runId } = (await post("/v1/runs", { source: ECHO, inputs: { name: "r" } }, ACME)).json() as {
      runId: string
    }
    await waitEnded(server.url, runId, ACME)
    const rep = await post(`/v1/runs/${runId}/replay`, {}, ACME)
    expect(rep.status).toBe(200)
    expect(rep.json()).toMatchObject({ runId, exact: true, status: "completed", output: "r" })
    const fb = await post(`/v1/runs/${runId}/feedback`, { key: "k", reward: 1 }, ACME)
    expect(fb.json()).toEqual({ _tag: "BadRequest", message: `run ${runId} made no choice under key "k"` })
  })

  it("feedback rewards the choices a run made", async () => {
    const src = `program main() {
  c = choose "tone" {
    a: { return tool std.echo(value: "A") }
    b: { return tool std.echo(value: "B") }
  }
  return c
}`
    const created = await post("/v1/runs", { source: src }, ACME)
    expect(created.status).toBe(202)
    const runId = created.json().runId as string
    await waitEnded(server.url, runId, ACME)
    const fb = await post(`/v1/runs/${runId}/feedback`, { key: "tone", reward: 1 }, ACME)
    expect(fb.json()).toEqual({ rewarded: 1 })
  })

  it("serves OpenAPI with every endpoint, and docs", async () => {
    const spec = (await req("/openapi.json")).json() as { paths: Record<string, unknown> }
    expect(Object.keys(spec.paths).sort()).toEqual([
      "/healthz",
      "/metrics",
      "/v1/chat/completions",
      "/v1/deployments",
      "/v1/deployments/{name}",
      "/v1/deployments/{name}/canary",
      "/v1/deployments/{name}/history",
      "/v1/deployments/{name}/promote",
      "/v1/deployments/{name}/rollback",
      "/v1/deployments/{name}/runs",
      "/v1/evals",
      "/v1/evals/{id}",
      "/v1/evals/{id}/calibration",
      "/v1/evals/{id}/compare/{candidate}",
      "/v1/evals/{id}/results",
      "/v1/flags",
      "/v1/flags/{name}",
      "/v1/models",
      "/v1/programs/check",
      "/v1/programs/plan",
      "/v1/runs",
      "/v1/runs/{id}",
      "/v1/runs/{id}/cancel",
      "/v1/runs/{id}/events",
      "/v1/runs/{id}/feedback",
      "/v1/runs/{id}/program",
      "/v1/runs/{id}/replay",
      "/v1/runs/{id}/signals/{name}",
      "/v1/schedules",
      "/v1/schedules/{id}",
      "/v1/schedules/{id}/pause",
      "/v1/schedules/{id}/resume",
      "/v1/schema/program",
      "/v1/tools"
    ])
    expect((await req("/docs")).status).toBe(200)
    const metrics = await req("/metrics", { key: ACME })
    expect(metrics.status).toBe(200)
    expect(metrics.text).not.toContain("workspace=\"beta\"")
  })
})

describe("secrets", () => {
  it("the canary key and env secret never appear in any response", async () => {
    // Use the canary as a key, in bad headers, in ids and bodies.
    await req("/v1/runs", { key: CANARY })
    await req(`/v1/runs/${CANARY}`, { key: "wrong" + CANARY })
    await post("/v1/runs", { source: `program main() { return ${CANARY} }` }, ACME)
    await req(`/v1/runs/x`, { headers: { authorization: CANARY } })
    const joined = seen.join("\n")
    expect(seen.length).toBeGreaterThan(40)
    // The program text echoed in a violation is the caller's own input, not a secret of the server:
    // the canary may appear only inside that one excerpt, never as a key or an env value elsewhere.
    const withoutEcho = seen.filter((s) => !s.includes("unbound-ref")).join("\n")
    expect(withoutEcho).not.toContain(CANARY)
    expect(joined).not.toContain(ACME)
    expect(joined).not.toContain(BETA)
  })
})
