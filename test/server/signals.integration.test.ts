/**
 * Durable waits over real HTTP on loopback (SPEC §11): a run parks
 * (`waiting`, listed by `?status=waiting`); `POST /v1/runs/:id/signals/:name`
 * answers 202 and wakes it; a repeated signal id changes nothing; a bad
 * payload is a 400; an unknown or another workspace's run a 404, an ended
 * run a 409 (nothing changes); a durable sleep wakes by its own timer; a
 * waiting run can be cancelled; the SSE stream carries Waiting and
 * Signalled; the endpoint is in /openapi.json.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { hashKey } from "../../src/server/config.js"
import { call, startServer, testConfig, waitEnded } from "../support/server.js"
import type { TestServer } from "../support/server.js"

const A = "alpha-key-1"
const B = "beta-key-2"
const APPROVE = `program main(total: number) {
  ok = wait "approve": { approved: boolean } { amount: total } with { timeout: "1h" }
  return if ok.approved { return total } else { return 0 }
}`

let server: TestServer

const submit = async (source: string, inputs: Record<string, unknown> = {}, key = A) => {
  const created = await call(server.url, "/v1/runs", { method: "POST", key, body: JSON.stringify({ source, inputs }) })
  expect(created.status).toBe(202)
  return ((await created.json()) as { runId: string }).runId
}

const signal = (runId: string, name: string, body: unknown, key = A) =>
  call(server.url, `/v1/runs/${runId}/signals/${name}`, { method: "POST", key, body: JSON.stringify(body) })

const waitStatus = async (runId: string, want: string, key = A) => {
  const until = Date.now() + 20_000
  while (Date.now() < until) {
    const body = (await (await call(server.url, `/v1/runs/${runId}`, { key })).json()) as Record<string, unknown>
    if (body["status"] === want) return body
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error(`run ${runId} never became ${want}`)
}

beforeAll(async () => {
  server = await startServer(testConfig({
    workspaces: [{ name: "alpha", keyHashes: [hashKey(A)] }, { name: "beta", keyHashes: [hashKey(B)] }]
  }))
}, 120_000)
afterAll(() => server?.close(), 60_000)

describe("signals", () => {
  it("approve: the run waits, a signal (202) wakes it, a repeated id changes nothing", async () => {
    const runId = await submit(APPROVE, { total: 7 })
    await waitStatus(runId, "waiting")
    const listed = (await (await call(server.url, "/v1/runs?status=waiting", { key: A })).json()) as {
      runs: Array<{ runId: string }>
    }
    expect(listed.runs.map((r) => r.runId)).toContain(runId)
    const sent = await signal(runId, "approve", { payload: { approved: true }, signalId: "once" })
    expect(sent.status).toBe(202)
    expect(await sent.json()).toMatchObject({ runId, name: "approve", signalId: "once", accepted: true })
    expect(await waitStatus(runId, "completed")).toMatchObject({ status: "completed", output: 7 })
    const again = await signal(runId, "approve", { payload: { approved: false }, signalId: "once" })
    expect(again.status).toBe(409)
    const text = await (await call(server.url, `/v1/runs/${runId}/events`, { key: A })).text()
    const types = text.split("\n").filter((l) => l.startsWith("data:")).map((l) => JSON.parse(l.slice(5)).type)
    expect(types).toContain("Waiting")
    expect(types).toContain("Signalled")
  })

  it("reject, a bad payload (400), a foreign or unknown run (404)", async () => {
    const runId = await submit(APPROVE, { total: 9 })
    await waitStatus(runId, "waiting")
    expect((await signal(runId, "approve", { payload: { approved: "yes" } })).status).toBe(400)
    expect((await signal(runId, "unknown", { payload: {} })).status).toBe(400)
    expect((await signal(runId, "approve", { payload: { approved: false } }, B)).status).toBe(404)
    expect((await signal("no-such-run", "approve", { payload: {} })).status).toBe(404)
    expect(((await (await call(server.url, `/v1/runs/${runId}`, { key: A })).json()) as { status: string }).status)
      .toBe(
        "waiting"
      )
    expect((await signal(runId, "approve", { payload: { approved: false } })).status).toBe(202)
    expect(await waitStatus(runId, "completed")).toMatchObject({ status: "completed", output: 0 })
  })

  it("a durable sleep wakes by its own timer", async () => {
    const runId = await submit(`program main() { nap = wait for "300ms"\n return "woke" }`)
    const run = await waitEnded(server.url, runId, A)
    if (run["status"] === "waiting") {
      expect(await waitStatus(runId, "completed")).toMatchObject({ output: "woke" })
    } else expect(run).toMatchObject({ status: "completed", output: "woke" })
  })

  it("a waiting run can be cancelled", async () => {
    const runId = await submit(APPROVE, { total: 1 })
    await waitStatus(runId, "waiting")
    const cancelled = await call(server.url, `/v1/runs/${runId}/cancel`, { method: "POST", key: A })
    expect(cancelled.status).toBe(202)
    expect(await waitStatus(runId, "cancelled")).toMatchObject({ status: "cancelled" })
  })

  it("is declared in the OpenAPI document", async () => {
    const doc = (await (await call(server.url, "/openapi.json")).json()) as { paths: Record<string, unknown> }
    expect(Object.keys(doc.paths)).toContain("/v1/runs/{id}/signals/{name}")
  })
})
