/**
 * Issue 14, findings 1 and 2, over real HTTP on loopback with two keyed
 * workspaces: idempotency records, result-cache entries and bandit state
 * belong to one workspace. A key reused with other arguments is a typed
 * conflict (the run fails, the failure is in its trace), never a replay of
 * another call's result.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { hashKey } from "../../src/server/config.js"
import { call, startServer, testConfig, waitEnded } from "../support/server.js"
import type { TestServer } from "../support/server.js"

const A = "alpha-key-1"
const B = "beta-key-2"
const IDEM = `program main(v: string) { x = tool std.echo(value: v) with { idempotencyKey: "order-1" } return x }`
const CACHED = `program main(v: string) { x = tool std.echo(value: v) with { cache: { ttl: "60s" } } return x }`
const CHOOSE = `program main() {
  c = choose "tone" {
    a: { return tool std.echo(value: "A") }
    b: { return tool std.echo(value: "B") }
  }
  return c
}`

let server: TestServer

type Event = { readonly type: string; readonly data: Record<string, unknown> }

/** Submits a run, waits for its end; the run and its events. */
const runOf = async (key: string, source: string, inputs: Record<string, unknown> = {}) => {
  const created = await call(server.url, "/v1/runs", { method: "POST", key, body: JSON.stringify({ source, inputs }) })
  expect(created.status).toBe(202)
  const { runId } = (await created.json()) as { runId: string }
  const run = await waitEnded(server.url, runId, key)
  const text = await (await call(server.url, `/v1/runs/${runId}/events`, { key })).text()
  const events = text.split("\n").filter((l) => l.startsWith("data:")).map((l) => JSON.parse(l.slice(5)) as Event)
  return { runId, run, events }
}

const returned = (events: ReadonlyArray<Event>) => events.find((e) => e.type === "ToolReturned")?.data

beforeAll(async () => {
  server = await startServer(testConfig({
    workspaces: [{ name: "alpha", keyHashes: [hashKey(A)] }, { name: "beta", keyHashes: [hashKey(B)] }]
  }))
}, 120_000)
afterAll(() => server?.close(), 60_000)

describe("idempotency records", () => {
  it("are scoped by workspace: B never gets A's result under the same key", async () => {
    const a = await runOf(A, IDEM, { v: "A-SECRET" })
    expect(a.run.output).toBe("A-SECRET")
    const b = await runOf(B, IDEM, { v: "B-VALUE" })
    expect(b.run.status).toBe("completed")
    expect(b.run.output).toBe("B-VALUE")
    expect(returned(b.events)?.source).toBe("tool")
  })

  it("replay a workspace's own record for the same arguments, and a different argument is a typed conflict", async () => {
    const again = await runOf(A, IDEM, { v: "A-SECRET" })
    expect(again.run.output).toBe("A-SECRET")
    expect(returned(again.events)?.source).toBe("idempotency")
    const other = await runOf(A, IDEM, { v: "A-OTHER" })
    expect(other.run.status).toBe("failed")
    const error = other.run.error as { kind: string; message: string }
    expect(error.kind).toBe("Permanent")
    expect(error.message).toMatch(/idempotency conflict: key "order-1" of tool "std.echo"/)
    expect(JSON.stringify(other.run)).not.toContain("A-SECRET")
    // Recorded in the trace like any tool failure.
    expect(other.events.some((e) => e.type === "NodeFailed" && String(e.data.message).includes("idempotency conflict")))
      .toBe(true)
  })
})

describe("the result cache", () => {
  it("is scoped by workspace", async () => {
    const a1 = await runOf(A, CACHED, { v: "shared" })
    expect(returned(a1.events)?.source).toBe("tool")
    const a2 = await runOf(A, CACHED, { v: "shared" })
    expect(returned(a2.events)?.source).toBe("cache")
    const b = await runOf(B, CACHED, { v: "shared" })
    expect(returned(b.events)?.source).toBe("tool")
  })
})

describe("bandit state", () => {
  it("is scoped by workspace: B's feedback does not move A's policy", async () => {
    const version = (events: ReadonlyArray<Event>) => events.find((e) => e.type === "ChoiceMade")?.data.version
    const a1 = await runOf(A, CHOOSE)
    expect(version(a1.events)).toBe(0)
    const b = await runOf(B, CHOOSE)
    for (let i = 0; i < 3; i++) {
      const fb = await call(server.url, `/v1/runs/${b.runId}/feedback`, {
        method: "POST",
        key: B,
        body: JSON.stringify({ key: "tone", reward: 1 })
      })
      expect(await fb.json()).toEqual({ rewarded: 1 })
    }
    const b2 = await runOf(B, CHOOSE)
    expect(version(b2.events)).toBe(3)
    const a2 = await runOf(A, CHOOSE)
    expect(version(a2.events)).toBe(0)
  })
})
