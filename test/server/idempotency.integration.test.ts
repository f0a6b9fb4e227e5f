/**
 * `Idempotency-Key` on POST /v1/runs is kept in the store: a key used on one
 * server names the same run on another server of the same PostgreSQL
 * database (skipped without `TRELLIS_TEST_DATABASE_URL`), and on PGlite it
 * outlives a restart of the single server.
 */
import { Redacted } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import Pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Store } from "../../src/store/index.js"
import { testDatabaseUrl } from "../support/db.js"
import { call, startServer, testConfig, waitEnded } from "../support/server.js"
import type { TestServer } from "../support/server.js"

const SLOW = "program main(ms: number) { s = tool std.sleep(ms: ms) return s }"

const post = async (server: TestServer, body: unknown, key: string) => {
  const r = await call(server.url, "/v1/runs", {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "idempotency-key": key }
  })
  return { status: r.status, body: (await r.json()) as Record<string, unknown> }
}

const runIds = async (server: TestServer) =>
  ((await (await call(server.url, "/v1/runs")).json()) as { runs: Array<{ runId: string }> }).runs.map((r) => r.runId)

const admin = async (url: string, text: string) => {
  const client = new Pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(text)
  } finally {
    await client.end()
  }
}

const url = testDatabaseUrl()

describe.skipIf(url === undefined)("two servers on one PostgreSQL database", () => {
  const name = `id_keys_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`
  let a: TestServer
  let b: TestServer
  beforeAll(async () => {
    await admin(url!, `CREATE DATABASE ${name}`)
    const u = new URL(url!)
    u.pathname = `/${name}`
    const store = () => Store.layerPostgres(Redacted.make(u.toString()))
    a = await startServer(testConfig(), { store: store() })
    b = await startServer(testConfig(), { store: store() })
  }, 60_000)
  afterAll(async () => {
    await a?.close()
    await b?.close()
    await admin(url!, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  }, 60_000)

  it("the same key and body on the other server names the same run and starts none", async () => {
    const first = await post(a, { source: SLOW, inputs: { ms: 300 } }, "K")
    expect(first.status).toBe(202)
    const runId = first.body.runId as string
    const again = await post(b, { inputs: { ms: 300 }, source: SLOW }, "K")
    expect(again.status).toBe(202)
    expect(again.body.runId).toBe(runId)
    const other = await post(b, { source: SLOW, inputs: { ms: 1 } }, "K")
    expect(other.status).toBe(409)
    expect(other.body).toEqual({
      _tag: "Conflict",
      message: "this Idempotency-Key was used with a different request body"
    })
    expect(await waitEnded(a.url, runId)).toMatchObject({ status: "completed" })
    // One run in the shared store, seen from both servers; B started nothing.
    expect(await runIds(a)).toEqual([runId])
    expect(await runIds(b)).toEqual([runId])
  })

  it("two servers racing with one key agree on one run", async () => {
    const body = { source: SLOW, inputs: { ms: 50 } }
    const answers = await Promise.all([post(a, body, "race"), post(b, body, "race"), post(a, body, "race")])
    expect(answers.map((r) => r.status)).toEqual([202, 202, 202])
    const ids = new Set(answers.map((r) => r.body.runId))
    expect(ids.size).toBe(1)
    const runId = [...ids][0] as string
    expect(await waitEnded(a.url, runId)).toMatchObject({ status: "completed" })
    // This test's three posts made one run (the first test made the other).
    const listed = await runIds(b)
    expect(listed).toHaveLength(2)
    expect(listed).toContain(runId)
  })
})

describe("one server on PGlite", () => {
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "id-keys-"))
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it("a key outlives a restart of the server (it is in the store)", async () => {
    const first = await startServer(testConfig(), { store: Store.layerPglite(dir) })
    let runId: string
    try {
      const created = await post(first, { source: SLOW, inputs: { ms: 1 } }, "K")
      expect(created.status).toBe(202)
      runId = created.body.runId as string
      expect(await waitEnded(first.url, runId)).toMatchObject({ status: "completed" })
    } finally {
      await first.close()
    }
    const second = await startServer(testConfig(), { store: Store.layerPglite(dir) })
    try {
      const again = await post(second, { source: SLOW, inputs: { ms: 1 } }, "K")
      expect(again.status).toBe(202)
      expect(again.body.runId).toBe(runId)
      expect((await post(second, { source: SLOW, inputs: { ms: 2 } }, "K")).status).toBe(409)
      expect(await runIds(second)).toEqual([runId])
    } finally {
      await second.close()
    }
  }, 60_000)
})
