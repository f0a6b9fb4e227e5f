/** `POST /v1/programs/plan` over real HTTP (a fake upstream as the model), and llm steps in the server's runs. */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { hashKey } from "../../src/server/config.js"
import { startFakeUpstream } from "../support/fakeUpstream.js"
import type { FakeUpstream } from "../support/fakeUpstream.js"
import { INVALID_PROGRAM, VALID_PROGRAM } from "../support/llmPlanner.js"
import { call, startServer, testConfig, waitEnded } from "../support/server.js"
import type { TestServer } from "../support/server.js"

const KEY = "plan-key-1"
let upstream: FakeUpstream
let server: TestServer
let answers: ReadonlyArray<string> = []

const post = async (path: string, body: unknown) => {
  const r = await call(server.url, path, { method: "POST", body: JSON.stringify(body), key: KEY })
  return { status: r.status, body: (await r.json()) as Record<string, unknown> }
}

beforeAll(async () => {
  upstream = await startFakeUpstream("fake", (body) => {
    const turns = Array.isArray(body.messages)
      ? (body.messages as Array<{ role: string }>).filter((m) => m.role === "assistant").length
      : 0
    return { kind: "ok", text: answers[Math.min(turns, answers.length - 1)]! }
  })
  server = await startServer(testConfig({
    workspaces: [{ name: "acme", keyHashes: [hashKey(KEY)] }],
    providers: [{ name: "fake", kind: "openai-compatible", baseUrl: upstream.baseUrl, models: ["planner"] }]
  }))
}, 30_000)
afterAll(async () => {
  await server.close()
  await upstream.close()
})

describe("POST /v1/programs/plan", () => {
  it("returns a program that passes check, with its hash and DSL text (invalid first answer, valid second)", async () => {
    answers = [INVALID_PROGRAM, VALID_PROGRAM]
    const r = await post("/v1/programs/plan", { task: "Greet someone loudly.", model: "fake/planner" })
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({ rounds: 2 })
    expect(r.body.source).toContain("tool std.echo")
    const checked = await post("/v1/programs/check", { program: r.body.program })
    expect(checked.body).toMatchObject({ ok: true, hash: r.body.hash })
  })

  it("answers 422 with the last violations when the model never fixes the program", async () => {
    answers = [INVALID_PROGRAM]
    // Another task: the router's response cache would otherwise answer the first round from the previous test.
    const r = await post("/v1/programs/plan", { task: "Greet someone quietly.", model: "fake/planner", rounds: 2 })
    expect(r.status).toBe(422)
    expect(r.body).toMatchObject({ _tag: "PlanInvalid", rounds: 2, message: "no valid program after 2 rounds" })
    const codes = (r.body.violations as Array<{ code: string }>).map((v) => v.code).sort()
    expect(codes).toEqual(["unbound-ref", "unknown-tool"])
  })

  it("refuses bad requests with 400: rounds out of range, an unknown model", async () => {
    const rounds = await post("/v1/programs/plan", { task: "x", model: "fake/planner", rounds: 0 })
    expect(rounds.status).toBe(400)
    const unknown = await post("/v1/programs/plan", { task: "x", model: "nowhere/x" })
    expect(unknown.status).toBe(400)
    expect(unknown.body).toMatchObject({ _tag: "BadRequest" })
    expect(String(unknown.body.message)).toContain("nowhere/x")
  })
})

describe("llm steps in the server's runs", () => {
  it("run on local/echo by default and record the route and prompt hash", async () => {
    const source = `
      signature S { "Say it." input q: string output a: string }
      program main() { x = llm S(q: "hi") return x.a }`
    const created = await post("/v1/runs", { source })
    expect(created.status).toBe(202)
    const runId = String(created.body.runId)
    const run = await waitEnded(server.url, runId, KEY)
    expect(run.status).toBe("completed")
    expect(typeof run.output).toBe("string")
    const events = await (await call(server.url, `/v1/runs/${runId}/events`, { key: KEY })).text()
    expect(events).toContain(`"tool":"llm:S"`)
    expect(events).toContain(`"route":"local/echo"`)
    expect(events).toMatch(/"promptHash":"sha256:[0-9a-f]{64}"/)
  })
})
