/**
 * The HTTP API as an integrator meets it, with maintained tools: the
 * OpenAPI document validated by @apidevtools/swagger-parser and loaded into
 * Ajv (2020 dialect); TypeScript types generated from it by
 * openapi-typescript and an openapi-fetch client driving check → submit →
 * poll → list → program → cancel → replay, every real response (errors
 * included) validated against the documented schema of its status; the
 * `eventsource` client ending cleanly after a run's terminal event (204 on
 * the reconnect) and resuming mid-stream; the official `openai` client
 * getting OpenAI-shaped errors from the gateway; `/metrics` passing the
 * exposition-format linter.
 */
import SwaggerParser from "@apidevtools/swagger-parser"
import { Ajv2020 } from "ajv/dist/2020.js"
import { EventSource } from "eventsource"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import OpenAI from "openai"
import createClient from "openapi-fetch"
import openapiTS, { astToString } from "openapi-typescript"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { hashKey } from "../../src/server/config.js"
import { lint } from "../support/promlint.js"
import { startServer, testConfig } from "../support/server.js"
import type { TestServer } from "../support/server.js"

const KEY = "conformance-key-1"
const ECHO = "program main(name: string) { g = tool std.echo(value: name) return g }"
const SLOW = "program main() { s = tool std.sleep(ms: 20000) return s }"
const STEPS = `program main(n: number) {
  a = tool std.sleep(ms: 200)
  b = tool std.echo(value: n) with { after: [a] }
  c = tool std.sleep(ms: 200) with { after: [b] }
  d = tool std.echo(value: n) with { after: [c] }
  return d
}`

type Spec = {
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>>
}

let server: TestServer
let spec: Spec
let ajv: Ajv2020
const checked: Array<string> = []

/** Validates a real response against the schema the document gives its operation and status. */
const conforms = (method: string, template: string, status: number, contentType: string | null, body: unknown) => {
  const responses = spec.paths[template]?.[method.toLowerCase()]?.responses
  expect(responses, `${method} ${template} is documented`).toBeDefined()
  const documented = responses![String(status)]
  expect(documented, `${method} ${template} documents ${status}`).toBeDefined()
  checked.push(`${method} ${template} ${status}`)
  if (documented!.content === undefined) {
    expect(body === undefined || body === "" || body === null).toBe(true)
    return
  }
  const type = Object.keys(documented!.content).find((t) => (contentType ?? "").startsWith(t.split(";")[0]!))
  expect(type, `${method} ${template} ${status} answers a documented content type (${contentType})`).toBeDefined()
  if (!type!.includes("json")) return
  const pointer = `trellis#/paths/${
    template.replace(/~/g, "~0").replace(/\//g, "~1")
  }/${method.toLowerCase()}/responses/${status}/content/${type!.replace(/\//g, "~1")}/schema`
  const validate = ajv.getSchema(pointer)
  expect(validate, pointer).toBeDefined()
  const ok = validate!(body)
  expect(
    ok,
    `${method} ${template} ${status}: ${JSON.stringify(validate!.errors)} for ${JSON.stringify(body).slice(0, 300)}`
  ).toBe(true)
}

/** A fetch whose response is validated against the document. */
const raw = async (
  method: string,
  path: string,
  template: string,
  init: RequestInit & { key?: string | null } = {}
) => {
  const headers = new Headers(init.headers)
  if (init.key !== null) headers.set("authorization", `Bearer ${init.key ?? KEY}`)
  const r = await fetch(server.url + path, { ...init, method, headers })
  const text = await r.text()
  const body = text === "" ? undefined : (JSON.parse(text) as unknown)
  if (template !== "") conforms(method, template, r.status, r.headers.get("content-type"), body)
  return { status: r.status, headers: r.headers, body: body as Record<string, unknown> }
}

interface Loose {
  GET: (path: string, init?: object) => Promise<{ data?: unknown; error?: unknown; response: Response }>
  POST: (path: string, init?: object) => Promise<{ data?: unknown; error?: unknown; response: Response }>
}

beforeAll(async () => {
  server = await startServer(testConfig(
    { workspaces: [{ name: "acme", keyHashes: [hashKey(KEY)] }] },
    { maxBodyBytes: 65_536, sseHeartbeatMs: 500 }
  ))
  const document = (await (await fetch(`${server.url}/openapi.json`)).json()) as Spec
  spec = document
  ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false })
  ajv.addSchema(structuredClone(document) as object, "trellis")
}, 240_000)
afterAll(() => server?.close())

describe("the OpenAPI document", () => {
  it("is valid OpenAPI, loads into Ajv 2020, and says the server's version", async () => {
    await SwaggerParser.validate(structuredClone(spec) as never)
    const health = await raw("GET", "/healthz", "/healthz", { key: null })
    expect((spec as unknown as { info: { version: string } }).info.version).toBe(health.body["version"])
    const ops = Object.values(spec.paths).flatMap((p) => Object.values(p)) as Array<{ summary?: string }>
    expect(ops.every((op) => typeof op.summary === "string" && op.summary.length > 0)).toBe(true)
  })

  it("generates a TypeScript client (openapi-typescript)", async () => {
    const ast = await openapiTS(structuredClone(spec) as never)
    const text = astToString(ast)
    const dir = mkdtempSync(join(tmpdir(), "trellis-openapi-"))
    writeFileSync(join(dir, "schema.d.ts"), text)
    expect(text).toContain("\"/v1/runs/{id}/replay\"")
    expect(text).toMatch(/limit\?: number/)
  })
})

describe("a generated client drives the API; every response matches its documented schema", () => {
  it("check → submit → poll → list → program → cancel → replay", async () => {
    const api = createClient({ baseUrl: server.url, headers: { authorization: `Bearer ${KEY}` } }) as unknown as Loose
    const see = async (
      method: string,
      template: string,
      call: Promise<{ data?: unknown; error?: unknown; response: Response }>
    ) => {
      const r = await call
      conforms(method, template, r.response.status, r.response.headers.get("content-type"), r.data ?? r.error)
      return r
    }
    const check = await see("POST", "/v1/programs/check", api.POST("/v1/programs/check", { body: { source: ECHO } }))
    expect((check.data as { ok: boolean }).ok).toBe(true)
    const created = await see(
      "POST",
      "/v1/runs",
      api.POST("/v1/runs", { body: { source: ECHO, inputs: { name: "Ada" } } })
    )
    const runId = (created.data as { runId: string }).runId
    let status = "queued"
    for (let i = 0; i < 400 && (status === "queued" || status === "running"); i++) {
      const got = await see("GET", "/v1/runs/{id}", api.GET("/v1/runs/{id}", { params: { path: { id: runId } } }))
      status = (got.data as { status: string }).status
      if (status === "queued" || status === "running") await new Promise((r) => setTimeout(r, 25))
    }
    expect(status).toBe("completed")
    const page = await see("GET", "/v1/runs", api.GET("/v1/runs", { params: { query: { limit: 10 } } }))
    expect((page.data as { runs: Array<unknown> }).runs.length).toBeGreaterThan(0)
    await see("GET", "/v1/runs/{id}/program", api.GET("/v1/runs/{id}/program", { params: { path: { id: runId } } }))
    const slow = await see("POST", "/v1/runs", api.POST("/v1/runs", { body: { source: SLOW } }))
    const slowId = (slow.data as { runId: string }).runId
    await new Promise((r) => setTimeout(r, 300))
    const cancelled = await see(
      "POST",
      "/v1/runs/{id}/cancel",
      api.POST("/v1/runs/{id}/cancel", { params: { path: { id: slowId } } })
    )
    expect(cancelled.response.status).toBe(202)
    const again = await see(
      "POST",
      "/v1/runs/{id}/cancel",
      api.POST("/v1/runs/{id}/cancel", { params: { path: { id: slowId } } })
    )
    expect(again.response.status).toBe(409)
    // replay with no body at all (the generated client sends none)
    const replayed = await see(
      "POST",
      "/v1/runs/{id}/replay",
      api.POST("/v1/runs/{id}/replay", { params: { path: { id: runId } } })
    )
    expect(replayed.response.status).toBe(200)
    expect((replayed.data as { exact: boolean }).exact).toBe(true)
    const live = await see(
      "POST",
      "/v1/runs/{id}/replay",
      api.POST("/v1/runs/{id}/replay", { params: { path: { id: runId } }, body: { live: false } })
    )
    expect(live.response.status).toBe(200)
  }, 60_000)

  it("errors: each with a JSON body of its documented shape", async () => {
    const extra = await raw("POST", "/v1/runs", "/v1/runs", {
      body: JSON.stringify({ source: ECHO, inputs: { name: "x" }, input: {} }),
      headers: { "content-type": "application/json" }
    })
    expect(extra.status).toBe(400)
    expect(JSON.stringify(extra.body)).toContain("input")
    const malformed = await raw("POST", "/v1/runs", "/v1/runs", {
      body: "{\"source\": ",
      headers: { "content-type": "application/json" }
    })
    expect(malformed.status).toBe(400)
    expect(malformed.body).toEqual({ _tag: "BadRequest", message: "the request body is not valid JSON" })
    const text = await raw("POST", "/v1/programs/check", "/v1/programs/check", {
      body: "program main() { return 1 }",
      headers: { "content-type": "text/plain" }
    })
    expect(text.status).toBe(415)
    const unauthorized = await raw("GET", "/v1/runs", "/v1/runs", { key: "wrong" })
    expect(unauthorized.status).toBe(401)
    const missing = await raw("GET", "/v1/runs/nope", "/v1/runs/{id}")
    expect(missing.status).toBe(404)
    const limit = await raw("GET", "/v1/runs?limit=abc", "/v1/runs")
    expect(limit.status).toBe(400)
    const big = await raw("POST", "/v1/runs", "/v1/runs", {
      body: JSON.stringify({ source: "x".repeat(70_000) }),
      headers: { "content-type": "application/json" }
    })
    expect(big.status).toBe(413)
    // No operation: the API's error shape, 404 for an unknown path, 405 + Allow for another method.
    const route = await raw("GET", "/v1/nothing/here", "", {})
    const unknown = await raw("GET", "/nothing", "")
    expect(unknown.status).toBe(404)
    expect(unknown.body).toMatchObject({ _tag: "NotFound" })
    expect(route.status).toBe(404)
    const method = await raw("DELETE", "/v1/runs/abc", "")
    expect(method.status).toBe(405)
    expect(method.headers.get("allow")).toBe("GET, HEAD")
    expect(method.body).toMatchObject({ _tag: "MethodNotAllowed" })
  }, 60_000)
})

const TERMINAL = ["RunCompleted", "RunFailed", "RunCancelled"]
const TYPES = [
  "RunStarted",
  "NodeReady",
  "NodeStarted",
  "ToolCalled",
  "ToolReturned",
  "NodeCompleted",
  "NodeFailed",
  ...TERMINAL
]

describe("SSE with the eventsource client", () => {
  const submit = async (source: string, inputs: Record<string, unknown> = {}) =>
    (await raw("POST", "/v1/runs", "/v1/runs", {
      body: JSON.stringify({ source, inputs }),
      headers: { "content-type": "application/json" }
    })).body["runId"] as string

  /** Follows a run until the EventSource closes by itself; `cut` ends the first response after that many frames. */
  const follow = (runId: string, cut?: number) =>
    new Promise<{ ids: Array<number>; requests: Array<string | null>; statuses: Array<number>; before: Array<number> }>(
      (resolve, reject) => {
        const ids: Array<number> = []
        const before: Array<number> = []
        const requests: Array<string | null> = []
        const statuses: Array<number> = []
        const es = new EventSource(`${server.url}/v1/runs/${runId}/events`, {
          fetch: async (input, init) => {
            const headers = new Headers(init?.headers as ConstructorParameters<typeof Headers>[0])
            headers.set("authorization", `Bearer ${KEY}`)
            requests.push(headers.get("last-event-id"))
            before.push(ids[ids.length - 1] ?? -1)
            const r = await fetch(input, { ...init, headers } as RequestInit)
            statuses.push(r.status)
            if (cut === undefined || requests.length > 1 || r.body === null) return r
            // The first connection drops after `cut` event frames.
            const reader = r.body.getReader()
            let frames = 0
            const body = new ReadableStream<Uint8Array>({
              async pull(controller) {
                const { done, value } = await reader.read()
                if (done) return controller.close()
                controller.enqueue(value)
                frames += (new TextDecoder().decode(value).match(/^id: /gm) ?? []).length
                if (frames >= cut) {
                  await reader.cancel()
                  controller.close()
                }
              }
            })
            return new Response(body, { status: r.status, headers: r.headers })
          }
        })
        for (const t of TYPES) es.addEventListener(t, (e) => ids.push(Number(e.lastEventId)))
        const timer = setTimeout(() => {
          es.close()
          reject(new Error(`the EventSource did not stop (${JSON.stringify({ ids, requests, statuses })})`))
        }, 20_000)
        es.onerror = () => {
          if (es.readyState === EventSource.CLOSED) {
            clearTimeout(timer)
            resolve({ ids, requests, statuses, before })
          }
        }
      }
    )

  it("ends cleanly after the terminal event: the reconnect past the end is a 204", async () => {
    const runId = await submit(ECHO, { name: "Ada" })
    const got = await follow(runId)
    expect(got.ids).toEqual(got.ids.map((_, i) => i))
    expect(got.statuses).toEqual([200, 204])
    expect(got.requests).toEqual([null, String(got.ids[got.ids.length - 1])])
    const headers = { authorization: `Bearer ${KEY}`, "last-event-id": "2" }
    const partial = await fetch(`${server.url}/v1/runs/${runId}/events`, { headers })
    expect(partial.status).toBe(200)
    expect(await partial.text()).not.toMatch(/^id: [012]$/m)
  }, 60_000)

  it("resumes mid-stream with Last-Event-ID: no gap, no repeat", async () => {
    const runId = await submit(STEPS, { n: 3 })
    const got = await follow(runId, 3)
    // The reconnect names the last event the first connection delivered, before the run's end.
    expect(got.requests[1]).toBe(String(got.before[1]))
    expect(got.before[1]!).toBeGreaterThanOrEqual(2)
    expect(got.before[1]!).toBeLessThan(got.ids[got.ids.length - 1]!)
    expect(got.ids).toEqual(got.ids.map((_, i) => i))
    expect(got.statuses.slice(0, 2)).toEqual([200, 200])
    expect(got.statuses[got.statuses.length - 1]).toBe(204)
  }, 60_000)
})

describe("the gateway with the official openai client", () => {
  const client = (key = KEY) => new OpenAI({ baseURL: `${server.url}/v1`, apiKey: key, maxRetries: 0 })
  const failure = async (p: Promise<unknown>) => {
    const e = await p.then(() => undefined, (err: unknown) => err)
    expect(e).toBeInstanceOf(OpenAI.APIError)
    return e as InstanceType<typeof OpenAI.APIError>
  }

  it("lists models and answers", async () => {
    const models = await client().models.list()
    expect(models.data.map((m) => m.id)).toContain("local/echo")
    const done = await client().chat.completions.create({
      model: "local/echo",
      messages: [{ role: "user", content: "hi there" }]
    })
    expect(done.choices[0]!.message.content).toBe("hi there")
  })

  it("streams usage only when asked", async () => {
    const chunksOf = async (include: boolean | undefined) => {
      const stream = await client().chat.completions.create({
        model: "local/echo",
        messages: [{ role: "user", content: "one two three four" }],
        stream: true,
        ...(include === undefined ? {} : { stream_options: { include_usage: include } })
      })
      const out: Array<{ choices: Array<unknown>; usage?: unknown }> = []
      for await (const c of stream) out.push(c as never)
      return out
    }
    const without = await chunksOf(false)
    expect(without.some((c) => c.usage !== undefined && c.usage !== null)).toBe(false)
    expect((await chunksOf(undefined)).some((c) => c.usage !== undefined && c.usage !== null)).toBe(false)
    const withUsage = await chunksOf(true)
    const last = withUsage[withUsage.length - 1]!
    expect(last.choices).toEqual([])
    expect(last.usage).toMatchObject({ total_tokens: expect.any(Number) })
    expect(withUsage.slice(0, -1).every((c) => c.usage === null)).toBe(true)
  })

  it("gets OpenAI-shaped errors for every failure", async () => {
    const auth = await failure(
      client("wrong").chat.completions.create({ model: "local/echo", messages: [{ role: "user", content: "x" }] })
    )
    expect([auth.status, auth.code, auth.type]).toEqual([401, "invalid_api_key", "authentication_error"])
    const models401 = await failure(client("wrong").models.list())
    expect(models401.status).toBe(401)
    expect(models401.code).toBe("invalid_api_key")
    const model = await failure(
      client().chat.completions.create({ model: "nope/none", messages: [{ role: "user", content: "x" }] })
    )
    expect([model.status, model.code]).toEqual([404, "model_not_found"])
    const n = await failure(
      client().chat.completions.create({ model: "local/echo", n: 2, messages: [{ role: "user", content: "x" }] })
    )
    expect([n.status, n.param]).toEqual([400, "n"])
    const bad = await failure(client().chat.completions.create({ model: "local/echo", messages: [] }))
    expect(bad.status).toBe(400)
    expect(bad.message).not.toMatch(/no body/)
    const embeddings = await failure(client().embeddings.create({ model: "local/echo", input: "x" }))
    expect([embeddings.status, embeddings.code]).toEqual([404, "unknown_url"])
    const retrieve = await failure(client().models.retrieve("local"))
    expect(retrieve.status).toBe(404)
    expect(retrieve.message).not.toMatch(/no body/)
    const big = await failure(
      client().chat.completions.create({
        model: "local/echo",
        messages: [{ role: "user", content: "x".repeat(70_000) }]
      })
    )
    expect([big.status, big.code]).toEqual([413, "payload_too_large"])
    const media = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      body: "{}",
      headers: { authorization: `Bearer ${KEY}`, "content-type": "text/plain" }
    })
    expect(media.status).toBe(415)
    expect(await media.json()).toMatchObject({ error: { code: "unsupported_media_type" } })
  })
})

describe("/metrics", () => {
  it("passes the exposition-format linter and records 404/405/413/415 with their statuses", async () => {
    const r = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${KEY}` } })
    const text = await r.text()
    expect(lint(text)).toEqual([])
    for (const status of ["400", "404", "405", "413", "415"]) {
      expect(text).toMatch(
        new RegExp(`^trellis_http_request_duration_seconds_count\\{[^}]*status="${status}"[^}]*\\} \\d+$`, "m")
      )
    }
    expect(text).not.toMatch(/status="500"/)
  })
})
