/**
 * The workspace `concurrentRuns` quota counts the runs every server on one
 * PostgreSQL database has running (skipped without
 * `TRELLIS_TEST_DATABASE_URL`): a run executing on server A fills a quota of
 * 1, so server B refuses the next one (429) until it ends.
 */
import { Redacted } from "effect"
import Pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { hashKey } from "../../src/server/config.js"
import { Store } from "../../src/store/index.js"
import { testDatabaseUrl } from "../support/db.js"
import { call, startServer, testConfig, waitEnded } from "../support/server.js"
import type { TestServer } from "../support/server.js"

const KEY = "id-quota-key"
const SLOW = "program main(ms: number) { s = tool std.sleep(ms: ms) return s }"

const post = async (server: TestServer, body: unknown) => {
  const r = await call(server.url, "/v1/runs", { method: "POST", body: JSON.stringify(body), key: KEY })
  return { status: r.status, body: (await r.json()) as Record<string, unknown> }
}

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

describe.skipIf(url === undefined)("concurrentRuns across two servers on one PostgreSQL database", () => {
  const name = `id_quota_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`
  let a: TestServer
  let b: TestServer
  beforeAll(async () => {
    await admin(url!, `CREATE DATABASE ${name}`)
    const u = new URL(url!)
    u.pathname = `/${name}`
    const config = () =>
      testConfig({ workspaces: [{ name: "solo", keyHashes: [hashKey(KEY)], quotas: { concurrentRuns: 1 } }] })
    a = await startServer(config(), { store: Store.layerPostgres(Redacted.make(u.toString())) })
    b = await startServer(config(), { store: Store.layerPostgres(Redacted.make(u.toString())) })
  }, 60_000)
  afterAll(async () => {
    await a?.close()
    await b?.close()
    await admin(url!, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  }, 60_000)

  it("a run on A counts against the quota on B", async () => {
    const first = await post(a, { source: SLOW, inputs: { ms: 1500 } })
    expect(first.status).toBe(202)
    const runId = first.body.runId as string
    for (let i = 0; i < 200; i++) {
      const r = (await (await call(b.url, `/v1/runs/${runId}`, { key: KEY })).json()) as { status: string }
      if (r.status === "running") break
      await new Promise((res) => setTimeout(res, 10))
    }
    const refused = await post(b, { source: SLOW, inputs: { ms: 1 } })
    expect(refused.status).toBe(429)
    expect(refused.body.message).toBe("workspace solo has 1 runs queued or running (its concurrentRuns quota)")
    expect(await waitEnded(a.url, runId, KEY)).toMatchObject({ status: "completed" })
    const after = await post(b, { source: SLOW, inputs: { ms: 1 } })
    expect(after.status).toBe(202)
    expect(await waitEnded(b.url, after.body.runId as string, KEY)).toMatchObject({ status: "completed" })
  })
})
