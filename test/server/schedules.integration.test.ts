/**
 * Schedules over real HTTP on PGlite (issue 18): create, list, get, pause,
 * resume, delete; fires start ordinary runs linked to their schedule
 * (`scheduleId`, `GET /v1/runs?scheduleId=`); a workspace never sees or
 * touches another's schedules; bad input is a 400 naming the field; and a
 * restarted server applies the missed-run policy to what fell due while it
 * was down.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { hashKey } from "../../src/server/config.js"
import { Store } from "../../src/store/index.js"
import { call, startServer, testConfig, waitEnded } from "../support/server.js"
import type { TestServer } from "../support/server.js"

const A = "alpha-key-1"
const B = "beta-key-2"
const ECHO = "program main(name: string) { g = tool std.echo(value: name) return g }"
const config = testConfig({
  workspaces: [{ name: "alpha", keyHashes: [hashKey(A)] }, { name: "beta", keyHashes: [hashKey(B)] }]
})

let server: TestServer

const post = (path: string, body: unknown, key: string) =>
  call(server.url, path, { method: "POST", key, body: JSON.stringify(body) })
const get = (path: string, key: string) => call(server.url, path, { key })
const json = async (r: Response) => (await r.json()) as Record<string, unknown>

type RunView = {
  readonly runId: string
  readonly status: string
  readonly scheduleId?: string
  readonly output?: unknown
}

/** Polls `GET /v1/runs?scheduleId=` until it lists at least `n` runs. */
const runsOf = async (url: string, scheduleId: string, key: string, n: number, timeoutMs = 15_000) => {
  const until = Date.now() + timeoutMs
  for (;;) {
    const r = await call(url, `/v1/runs?scheduleId=${scheduleId}`, { key })
    const runs = ((await r.json()) as { runs: ReadonlyArray<RunView> }).runs
    if (runs.length >= n || Date.now() > until) return runs
    await new Promise((res) => setTimeout(res, 100))
  }
}

beforeAll(async () => {
  server = await startServer(config)
}, 120_000)
afterAll(() => server?.close(), 60_000)

describe("schedules over HTTP", () => {
  let scheduleId = ""

  it("a created schedule fires ordinary runs linked to it", async () => {
    const created = await post("/v1/schedules", {
      cron: "* * * * * *",
      source: ECHO,
      inputs: { name: "nightly" },
      overlap: "allow"
    }, A)
    expect(created.status).toBe(201)
    const body = await json(created)
    scheduleId = String(body.scheduleId)
    expect(body).toMatchObject({ cron: "* * * * * *", timezone: "UTC", overlap: "allow", paused: false, pending: 0 })
    expect(body.missed).toEqual({ policy: "skip" })
    expect(typeof body.nextFireAt).toBe("number")

    const runs = await runsOf(server.url, scheduleId, A, 2)
    expect(runs.length).toBeGreaterThanOrEqual(2)
    expect(runs.every((r) => r.scheduleId === scheduleId)).toBe(true)
    const ended = await waitEnded(server.url, runs[0]!.runId, A)
    expect(ended).toMatchObject({ status: "completed", output: "nightly", scheduleId })
    const one = await json(await get(`/v1/runs/${runs[0]!.runId}`, A))
    expect(one.scheduleId).toBe(scheduleId)

    const listed = await json(await get("/v1/schedules", A))
    expect((listed.schedules as ReadonlyArray<{ scheduleId: string }>).map((s) => s.scheduleId)).toContain(scheduleId)
    const again = await json(await get(`/v1/schedules/${scheduleId}`, A))
    expect(again.lastRunId).not.toBeNull()
  }, 60_000)

  it("another workspace never sees or touches it", async () => {
    expect((await get(`/v1/schedules/${scheduleId}`, B)).status).toBe(404)
    const listed = await json(await get("/v1/schedules", B))
    expect(listed.schedules).toEqual([])
    expect((await post(`/v1/schedules/${scheduleId}/pause`, {}, B)).status).toBe(404)
    expect((await post(`/v1/schedules/${scheduleId}/resume`, {}, B)).status).toBe(404)
    expect((await call(server.url, `/v1/schedules/${scheduleId}`, { method: "DELETE", key: B })).status).toBe(404)
    const runs = await json(await get(`/v1/runs?scheduleId=${scheduleId}`, B))
    expect(runs.runs).toEqual([])
    // Still there, still firing, for its owner.
    const own = await json(await get(`/v1/schedules/${scheduleId}`, A))
    expect(own.paused).toBe(false)
  })

  it("pause stops the fires, resume starts them again from now", async () => {
    const paused = await json(await post(`/v1/schedules/${scheduleId}/pause`, {}, A))
    expect(paused).toMatchObject({ paused: true, nextFireAt: null })
    // Let a fire in progress settle, then count.
    await new Promise((res) => setTimeout(res, 300))
    const before = (await runsOf(server.url, scheduleId, A, 0)).length
    await new Promise((res) => setTimeout(res, 1500))
    expect((await runsOf(server.url, scheduleId, A, 0)).length).toBe(before)
    const resumed = await json(await post(`/v1/schedules/${scheduleId}/resume`, {}, A))
    expect(resumed.paused).toBe(false)
    expect(Number(resumed.nextFireAt)).toBeGreaterThan(Date.now() - 1000)
    expect((await runsOf(server.url, scheduleId, A, before + 1)).length).toBeGreaterThan(before)
  }, 30_000)

  it("delete removes it; its runs keep their link", async () => {
    const runs = await runsOf(server.url, scheduleId, A, 1)
    const deleted = await call(server.url, `/v1/schedules/${scheduleId}`, { method: "DELETE", key: A })
    expect(deleted.status).toBe(200)
    expect(await deleted.json()).toEqual({ scheduleId, deleted: true })
    expect((await get(`/v1/schedules/${scheduleId}`, A)).status).toBe(404)
    expect((await call(server.url, `/v1/schedules/${scheduleId}`, { method: "DELETE", key: A })).status).toBe(404)
    expect((await json(await get(`/v1/runs/${runs[0]!.runId}`, A))).scheduleId).toBe(scheduleId)
  })

  it("bad input is a 400 that names the field", async () => {
    const bad = async (body: unknown) => {
      const r = await post("/v1/schedules", body, A)
      expect(r.status).toBe(400)
      return (await r.json()) as {
        _tag: string
        message: string
        violations?: ReadonlyArray<{ code: string; path?: ReadonlyArray<string>; span?: unknown }>
      }
    }
    const cron = await bad({ cron: "61 * * * *", source: ECHO, inputs: { name: "x" } })
    expect(cron.violations?.[0]).toMatchObject({ code: "schedule.cron", path: ["cron"] })
    expect(cron.message).toMatch(/minute: 61/)
    const zone = await bad({ cron: "@daily", timezone: "Mars/Olympus", source: ECHO, inputs: { name: "x" } })
    expect(zone.violations?.[0]).toMatchObject({ code: "schedule.timezone", path: ["timezone"] })
    const overlap = await bad({ cron: "@daily", source: ECHO, inputs: { name: "x" }, overlap: "sometimes" })
    expect(JSON.stringify(overlap)).toMatch(/overlap/)
    const missed = await bad({ cron: "@daily", source: ECHO, inputs: { name: "x" }, missed: { policy: "later" } })
    expect(JSON.stringify(missed)).toMatch(/missed/)
    const max = await bad({ cron: "@daily", source: ECHO, inputs: { name: "x" }, missed: { policy: "skip", max: 3 } })
    expect(max.violations?.[0]?.path).toEqual(["missed", "max"])
    const program = await bad({ cron: "@daily", source: "program main() {\n  return nope\n}" })
    expect(program.violations?.[0]?.span).toBeDefined()
    const inputs = await bad({ cron: "@daily", source: ECHO, inputs: {} })
    expect(inputs.violations?.[0]?.path).toEqual(["inputs"])
    const extra = await bad({ cron: "@daily", source: ECHO, inputs: { name: "x" }, color: "blue" })
    expect(JSON.stringify(extra)).toMatch(/color/)
    expect((await json(await get("/v1/schedules", A))).schedules).toEqual([])
  })

  it("is declared in the OpenAPI document", async () => {
    const spec = (await (await call(server.url, "/openapi.json")).json()) as { paths: Record<string, unknown> }
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining([
      "/v1/schedules",
      "/v1/schedules/{id}",
      "/v1/schedules/{id}/pause",
      "/v1/schedules/{id}/resume"
    ]))
  })
})

describe("after a restart", () => {
  it("the missed-run policy applies to what fell due while the server was down", async () => {
    const dir = mkdtempSync(join(tmpdir(), "trellis-schedules-"))
    try {
      const first = await startServer(config, { store: Store.layerPglite(dir) })
      // Three occurrences 6-8 s from now, then none for a minute: they all fall due while no server runs.
      const at = Math.floor(Date.now() / 1000)
      const seconds = [6, 7, 8].map((d) => (at + d) % 60).join(",")
      const created = await call(first.url, "/v1/schedules", {
        method: "POST",
        key: A,
        body: JSON.stringify({
          cron: `${seconds} * * * * *`,
          source: ECHO,
          inputs: { name: "caught up" },
          overlap: "allow",
          missed: { policy: "catch-up", max: 1 }
        })
      })
      const { scheduleId } = (await created.json()) as { scheduleId: string }
      await first.close()
      await new Promise((res) => setTimeout(res, Math.max(0, (at + 10) * 1000 - Date.now())))
      const second = await startServer(config, { store: Store.layerPglite(dir) })
      try {
        // The latest occurrence is seconds old, within the grace (on time); of the two before it, catch-up with
        // max 1 runs the later one. (skip or run-once would start one run, catch-up with a larger max three.)
        const runs = await runsOf(second.url, scheduleId, A, 2)
        await new Promise((res) => setTimeout(res, 1000))
        expect(await runsOf(second.url, scheduleId, A, 0)).toHaveLength(2)
        const ended = await waitEnded(second.url, runs[0]!.runId, A)
        expect(ended).toMatchObject({ status: "completed", output: "caught up", scheduleId })
        const s = (await (await call(second.url, `/v1/schedules/${scheduleId}`, { key: A })).json()) as {
          lastFireAt: number
          nextFireAt: number
        }
        expect(s.lastFireAt).toBe((at + 8) * 1000)
        expect(s.nextFireAt).toBeGreaterThan(Date.now())
      } finally {
        await second.close()
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 120_000)
})
