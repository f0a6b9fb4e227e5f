/**
 * The core run flow of the server on PostgreSQL (when
 * `TRELLIS_TEST_DATABASE_URL` is set): submit, follow, complete, list,
 * cancel, replay — the same as on PGlite.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Store } from "../../src/store/index.js"
import { layerFreshPostgres, testDatabaseUrl } from "../support/db.js"
import { call, startServer, testConfig, waitEnded } from "../support/server.js"
import type { TestServer } from "../support/server.js"

const url = testDatabaseUrl()

describe.skipIf(url === undefined)("the server on PostgreSQL", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer(testConfig(), { store: Store.layerOn(layerFreshPostgres(url!)) })
  }, 30_000)
  afterAll(() => server?.close())

  const post = async (path: string, body: unknown) => {
    const r = await call(server.url, path, { method: "POST", body: JSON.stringify(body) })
    return { status: r.status, body: (await r.json()) as Record<string, unknown> }
  }

  it("runs, streams, lists, cancels and replays", async () => {
    const created = await post("/v1/runs", {
      source: "program main(n: number) { a = tool std.echo(value: n) return a }",
      inputs: { n: 5 }
    })
    expect(created.status).toBe(202)
    const runId = created.body.runId as string
    const events = await (await call(server.url, `/v1/runs/${runId}/events`)).text()
    expect([...events.matchAll(/^event: (\w+)$/gm)].at(-1)?.[1]).toBe("RunCompleted")
    expect(await waitEnded(server.url, runId)).toMatchObject({ status: "completed", output: 5 })
    const list = (await (await call(server.url, "/v1/runs?status=completed")).json()) as {
      runs: Array<{ runId: string }>
    }
    expect(list.runs.map((r) => r.runId)).toContain(runId)
    expect((await post(`/v1/runs/${runId}/replay`, {})).body).toMatchObject({ exact: true, status: "completed" })

    const slow = (await post("/v1/runs", { source: "program main() { s = tool std.sleep(ms: 20000) return s }" })).body
      .runId as string
    for (let i = 0; i < 200; i++) {
      const r = (await (await call(server.url, `/v1/runs/${slow}`)).json()) as { status: string }
      if (r.status === "running") break
      await new Promise((res) => setTimeout(res, 10))
    }
    await new Promise((res) => setTimeout(res, 100))
    expect((await post(`/v1/runs/${slow}/cancel`, {})).body).toEqual({ runId: slow, status: "cancelled" })
  })
})
