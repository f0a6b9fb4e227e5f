/**
 * Deployments over real HTTP (issue 20): a canary of a deliberately worse
 * version (a scripted program that fails on half its inputs) is rolled back
 * by its own traffic, a better one (it never fails, the current one fails on
 * a third) is promoted; routing by a sticky input key keeps a key on one
 * version; flags reach a program's `flags` parameter; every decision is in
 * the history with its evidence; bad requests are typed 400/404s.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { call, startServer, testConfig, waitEnded } from "../support/server.js"
import type { TestServer } from "../support/server.js"

/** Never fails. */
const GOOD = `program main(n: number, user: string = "") {
  return n * 2
}
`
/** Fails on even inputs (half of them). */
const WORSE = `program main(n: number, user: string = "") {
  r = if n % 2 == 0 { return tool std.fail(kind: "Permanent", message: "scripted failure") } else { return n * 2 }
  return r
}
`
/** Fails on inputs divisible by 3 (a third of them). */
const FLAKY = `program main(n: number, user: string = "") {
  r = if n % 3 == 0 { return tool std.fail(kind: "Permanent", message: "scripted failure") } else { return n * 2 }
  return r
}
`

let server: TestServer
beforeAll(async () => {
  server = await startServer(testConfig({}, { drainMs: 0 }))
}, 120_000)
afterAll(() => server?.close(), 60_000)

const json = async (res: Response) => (await res.json()) as Record<string, unknown>
const put = (name: string, body: unknown) =>
  call(server.url, `/v1/deployments/${name}`, { method: "PUT", body: JSON.stringify(body) })
const runOf = (name: string, inputs: Record<string, unknown>) =>
  call(server.url, `/v1/deployments/${name}/runs`, { method: "POST", body: JSON.stringify({ inputs }) })
const getDeployment = async (name: string) => json(await call(server.url, `/v1/deployments/${name}`))
const historyOf = async (name: string) =>
  ((await json(await call(server.url, `/v1/deployments/${name}/history`)))["events"]) as Array<
    Record<string, unknown>
  >

/** Sends batches of runs (waiting for each batch to end) until the deployment has no candidate. */
const driveUntilDecided = async (name: string, maxRuns: number) => {
  const roles: Array<{ n: number; role: string }> = []
  let n = 1
  while (n <= maxRuns) {
    const batch: Array<string> = []
    for (let i = 0; i < 10; i++, n++) {
      const res = await runOf(name, { n, user: `user-${n}` })
      expect(res.status).toBe(202)
      const body = await json(res)
      roles.push({ n, role: body["role"] as string })
      batch.push(body["runId"] as string)
    }
    for (const id of batch) await waitEnded(server.url, id)
    await new Promise((r) => setTimeout(r, 260))
    if ((await getDeployment(name))["candidate"] === null) return roles
  }
  throw new Error(`deployment ${name} was not decided within ${maxRuns} runs`)
}

const canary = { minRuns: 12, metrics: ["errors", "latency"], latencyToleranceMs: 250, alpha: 0.05 }

describe("deployments", () => {
  it("rolls back a worse candidate automatically, with its evidence in the history", async () => {
    const created = await put("checkout", { source: GOOD, sticky: { from: "input", field: "user" } })
    expect(created.status).toBe(200)
    const base = await json(created)
    expect(base).toMatchObject({ name: "checkout", candidate: null, percent: 0, version: 1 })
    const good = (base["current"] as { hash: string }).hash
    const started = await json(await put("checkout", { candidate: { source: WORSE }, percent: 50, canary }))
    expect(started).toMatchObject({ percent: 50, version: 2, current: { hash: good } })
    const worse = (started["candidate"] as { hash: string }).hash
    expect(worse).not.toBe(good)

    const roles = await driveUntilDecided("checkout", 160)
    expect(roles.some((r) => r.role === "candidate")).toBe(true)
    const after = await getDeployment("checkout")
    expect(after).toMatchObject({ candidate: null, percent: 0, current: { hash: good } })
    const events = await historyOf("checkout")
    expect(events.map((e) => e["kind"])).toEqual(["rolled-back", "rollout-started", "created"])
    const decision = events[0]!
    expect(decision).toMatchObject({ actor: "canary", from: { hash: worse } })
    const evidence = decision["evidence"] as { action: string; metrics: Array<Record<string, unknown>> }
    expect(evidence.action).toBe("rollback")
    const errors = evidence.metrics.find((m) => m["metric"] === "errors")!
    expect(errors).toMatchObject({ worse: true })
    expect(errors["meanB"] as number).toBeGreaterThan(errors["meanA"] as number)
    expect(errors["adjustedPValue"] as number).toBeLessThanOrEqual(0.05)

    // After the rollback every request runs the current version.
    const res = await json(await runOf("checkout", { n: 2, user: "anyone" }))
    expect(res).toMatchObject({ role: "current", programHash: good })
  }, 120_000)

  it("promotes a better candidate automatically", async () => {
    const flaky = await json(await put("search", { source: FLAKY }))
    const started = await json(
      await put("search", {
        candidate: { source: GOOD },
        percent: 50,
        canary,
        sticky: { from: "input", field: "user" }
      })
    )
    const good = (started["candidate"] as { hash: string }).hash
    await driveUntilDecided("search", 160)
    const after = await getDeployment("search")
    expect(after).toMatchObject({ candidate: null, current: { hash: good } })
    const events = await historyOf("search")
    expect(events[0]).toMatchObject({
      kind: "promoted",
      actor: "canary",
      from: { hash: (flaky["current"] as { hash: string }).hash },
      to: { hash: good }
    })
    const evidence = events[0]!["evidence"] as { metrics: Array<Record<string, unknown>> }
    expect(evidence.metrics.find((m) => m["metric"] === "errors")).toMatchObject({ better: true, worse: false })
  }, 120_000)

  it(
    "routes by a sticky key: the same key always gets the same version, about the percentage of keys move",
    async () => {
      await put("sticky", { source: GOOD, sticky: { from: "header", name: "X-User" } })
      await put("sticky", { candidate: { source: FLAKY }, percent: 30 })
      const roleOf = async (user: string) => {
        const res = await call(server.url, "/v1/deployments/sticky/runs", {
          method: "POST",
          headers: { "x-user": user },
          body: JSON.stringify({ inputs: { n: 1 } })
        })
        expect(res.status).toBe(202)
        return (await json(res))["role"] as string
      }
      const first: Array<string> = []
      for (let i = 0; i < 40; i++) first.push(await roleOf(`u${i}`))
      for (let i = 0; i < 40; i += 8) expect(await roleOf(`u${i}`)).toBe(first[i])
      const share = first.filter((r) => r === "candidate").length / first.length
      expect(share).toBeGreaterThan(0.1)
      expect(share).toBeLessThan(0.55)
      // Raising the percentage only moves keys to the candidate.
      await put("sticky", { percent: 80 })
      for (let i = 0; i < 40; i += 4) if (first[i] === "candidate") expect(await roleOf(`u${i}`)).toBe("candidate")
      const events = await historyOf("sticky")
      expect(events[0]).toMatchObject({ kind: "route-changed", percent: 80 })
    },
    120_000
  )

  it("flags: set, evaluated per key, passed to a program's flags parameter", async () => {
    expect((await call(server.url, "/v1/flags/newUi", { method: "PUT", body: "{\"enabled\":true}" })).status).toBe(200)
    await call(server.url, "/v1/flags/half", { method: "PUT", body: "{\"percent\":50}" })
    const listed = await json(await call(server.url, "/v1/flags?key=user-7"))
    expect((listed["flags"] as Array<{ name: string }>).map((f) => f.name)).toEqual(["half", "newUi"])
    const evaluated = listed["evaluated"] as Record<string, boolean>
    expect(evaluated["newUi"]).toBe(true)
    const again = await json(await call(server.url, "/v1/flags?key=user-7"))
    expect(again["evaluated"]).toEqual(evaluated)
    await put("flagged", {
      source: `program main(flags: any = null) {
  return flags
}
`,
      sticky: { from: "header", name: "X-User" }
    })
    const res = await call(server.url, "/v1/deployments/flagged/runs", {
      method: "POST",
      headers: { "x-user": "user-7" },
      body: "{}"
    })
    const run = await waitEnded(server.url, (await json(res))["runId"] as string)
    expect(run["output"]).toEqual(evaluated)
    expect((await call(server.url, "/v1/flags/half", { method: "DELETE" })).status).toBe(200)
    expect((await call(server.url, "/v1/flags/half", { method: "DELETE" })).status).toBe(404)
    expect((await call(server.url, "/v1/flags/bad", { method: "PUT", body: "{\"percent\":120}" })).status).toBe(400)
  }, 60_000)

  it("refuses bad requests with typed errors", async () => {
    const missing = await put("nothing-yet", { percent: 10 })
    expect(missing.status).toBe(400)
    expect((await json(missing))["message"]).toContain("give its program")
    const broken = await put("broken", { source: "program main( {" })
    expect(broken.status).toBe(400)
    expect(((await json(broken))["violations"] as Array<unknown>).length).toBeGreaterThan(0)
    expect((await put("checkout", { percent: 150 })).status).toBe(400)
    expect((await put("checkout", { extra: 1 })).status).toBe(400)
    expect((await put("bad name!", { source: GOOD })).status).toBe(400)
    expect((await call(server.url, "/v1/deployments/none")).status).toBe(404)
    expect((await runOf("none", {})).status).toBe(404)
    expect((await call(server.url, "/v1/deployments/checkout/promote", { method: "POST" })).status).toBe(400)
    const wrongInputs = await runOf("checkout", { n: "three" })
    expect(wrongInputs.status).toBe(400)
    // A rule without evals is refused with the field to give.
    await put("ruled", { source: GOOD })
    await put("ruled", { candidate: { source: FLAKY }, rule: { gate: "delta>=0", maxCostRatio: 1.1 } })
    const refused = await call(server.url, "/v1/deployments/ruled/promote", { method: "POST", body: "{}" })
    expect(refused.status).toBe(400)
    expect((await json(refused))["message"]).toContain("baselineEval")
    const check = await json(await call(server.url, "/v1/deployments/ruled/canary", { method: "POST" }))
    expect(check["message"]).toContain("no canary")
    const rolled = await json(
      await call(server.url, "/v1/deployments/ruled/rollback", { method: "POST", body: "{\"reason\":\"not today\"}" })
    )
    expect(rolled).toMatchObject({ candidate: null })
    const events = await historyOf("ruled")
    expect(events[0]).toMatchObject({ kind: "rolled-back", actor: "api", reason: "not today" })
    const listed = await json(await call(server.url, "/v1/deployments"))
    expect((listed["deployments"] as Array<{ name: string }>).map((d) => d.name)).toContain("checkout")
  }, 60_000)
})
