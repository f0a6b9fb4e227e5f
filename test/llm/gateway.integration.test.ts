/**
 * The gateway over real HTTP: the official `openai` client against a real
 * trellis server on 127.0.0.1, fake OpenAI-compatible upstreams behind it.
 */
import type { HttpServer } from "@effect/platform"
import { Effect, Layer, ManagedRuntime } from "effect"
import OpenAI from "openai"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { hashKey } from "../../src/server/config.js"
import type { ServerConfig } from "../../src/server/config.js"
import { layerInMemory, SpanRecorder } from "../../src/server/observability/tracing.js"
import * as Server from "../../src/server/server.js"
import { Store } from "../../src/store/index.js"
import type { Behaviour, FakeUpstream } from "../support/fakeUpstream.js"
import { startFakeUpstream } from "../support/fakeUpstream.js"
import { call, services, testConfig } from "../support/server.js"
import { layerSettings } from "../support/settings.js"

/** A real server on 127.0.0.1:0 whose spans are recorded in memory. */
const startTracedServer = async (config: ServerConfig) => {
  const runtime = ManagedRuntime.make(
    Server.layer({ config, port: 0, host: "127.0.0.1", resumeOnStart: false }).pipe(
      Layer.provide(services(Store.layerPglite("memory://"))),
      // The provider keys (apiKeyEnv) come from these settings, not from process.env.
      Layer.provide(layerSettings({ TRELLIS_TEST_UPSTREAM_KEY: "upstream-secret-1" })),
      Layer.provideMerge(layerInMemory())
    )
  )
  const url = await runtime.runPromise(Effect.flatMap(Effect.context<HttpServer.HttpServer>(), Server.urlOf))
  return {
    url,
    spans: () => runtime.runPromise(Effect.flatMap(SpanRecorder, (r) => r.spans)),
    close: () => runtime.dispose()
  }
}

let primary: FakeUpstream
let backup: FakeUpstream
let server: Awaited<ReturnType<typeof startTracedServer>>
let client: OpenAI
let behaviour: (body: Record<string, unknown>, index: number) => Behaviour = () => ({ kind: "ok" })

const user = (content: string) => [{ role: "user" as const, content }]

beforeAll(async () => {
  primary = await startFakeUpstream("vllm", (b, i) => behaviour(b, i))
  backup = await startFakeUpstream("backup")
  server = await startTracedServer(testConfig({
    workspaces: [
      { name: "acme", keyHashes: [hashKey("acme-key")], quotas: { tokensPerMinute: 1_000_000 } },
      { name: "tiny", keyHashes: [hashKey("tiny-key")], quotas: { tokensPerMinute: 10 } }
    ],
    providers: [
      {
        name: "vllm",
        kind: "openai-compatible",
        baseUrl: primary.baseUrl,
        models: ["qwen"],
        capabilities: ["stream", "tools", "json"],
        timeoutMs: 3000,
        retry: { times: 1, baseMs: 5 },
        pricing: { inputPer1M: 1, outputPer1M: 2 }
      },
      {
        name: "backup",
        kind: "openai-compatible",
        baseUrl: backup.baseUrl,
        models: ["small"],
        capabilities: ["stream"],
        retry: { times: 0 }
      },
      { name: "plain", kind: "openai-compatible", baseUrl: backup.baseUrl, models: ["m"], capabilities: [] },
      {
        name: "keyed",
        kind: "openai-compatible",
        baseUrl: backup.baseUrl,
        models: ["k"],
        apiKeyEnv: "TRELLIS_TEST_UPSTREAM_KEY"
      }
    ],
    fallbacks: { "vllm/qwen": ["backup/small"] }
  }))
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "acme-key", maxRetries: 0 })
})

afterAll(async () => {
  await server?.close()
  await primary?.close()
  await backup?.close()
})

beforeEach(() => {
  behaviour = () => ({ kind: "ok" })
})

describe("POST /v1/chat/completions", () => {
  it("answers a plain request through the routed provider", async () => {
    const before = primary.requests.length
    const r = await client.chat.completions.create({
      model: "vllm/qwen",
      messages: user("plain hello"),
      temperature: 0.3
    })
    expect(r.choices[0]!.message.content).toBe("vllm: plain hello")
    expect(r.model).toBe("vllm/qwen")
    expect(r.usage?.total_tokens).toBeGreaterThan(0)
    const sent = primary.requests[before]!
    expect(sent.body.model).toBe("qwen")
    expect(sent.body.temperature).toBe(0.3) // parameters pass through
    expect(sent.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/) // the trace continues upstream
    expect(sent.headers.authorization).toBeUndefined() // no apiKeyEnv, no key
  })

  it("streams: the first chunk arrives before the upstream finished", async () => {
    behaviour = () => ({ kind: "ok", chunks: 6, intervalMs: 120 })
    const done = primary.completed()
    const stream = await client.chat.completions.create({
      model: "vllm/qwen",
      messages: user("stream slowly please"),
      stream: true
    })
    let first = true
    let text = ""
    let model = ""
    for await (const chunk of stream) {
      if (first) {
        first = false
        expect(primary.completed()).toBe(done) // upstream still sending
      }
      text += chunk.choices[0]?.delta.content ?? ""
      model = chunk.model
    }
    expect(text).toBe("vllm: stream slowly please")
    expect(model).toBe("vllm/qwen")
    expect(primary.completed()).toBe(done + 1)
  })

  it("records a span per stream with one event per chunk", async () => {
    behaviour = () => ({ kind: "ok", chunks: 5 })
    let n = 0
    for await (
      const _ of await client.chat.completions.create({
        model: "vllm/qwen",
        messages: user("trace my chunks"),
        stream: true
      })
    ) n++
    const spans = await server.spans()
    const span = spans.filter((s) => s.name === "llm.gateway.stream").at(-1)!
    expect(span.attributes["llm.route"]).toBe("vllm/qwen")
    const events = span.events.filter((e) => e.name === "llm.chunk")
    expect(events.length).toBe(n)
    expect(events.map((e) => e.attributes?.["index"])).toEqual(Array.from({ length: n }, (_, i) => i))
  })

  it("a client leaving a non-streamed request aborts the upstream request", async () => {
    behaviour = () => ({ kind: "hang" })
    const controller = new AbortController()
    const seen = primary.waitAbort(5000)
    const pending = call(server.url, "/v1/chat/completions", {
      method: "POST",
      key: "acme-key",
      body: JSON.stringify({ model: "vllm/qwen", messages: user("hang then leave") }),
      signal: controller.signal
    }).catch((e: unknown) => e)
    await new Promise((r) => setTimeout(r, 100))
    controller.abort()
    await pending
    const abort = await seen
    expect(abort.index).toBe(primary.requests.length - 1)
  })

  it("aborting mid-stream closes the upstream request", async () => {
    behaviour = () => ({ kind: "ok", chunks: 100, intervalMs: 40 })
    const controller = new AbortController()
    const stream = await client.chat.completions.create(
      { model: "vllm/qwen", messages: user("abort me midway through this"), stream: true },
      { signal: controller.signal }
    )
    const seen = primary.waitAbort(5000)
    let n = 0
    let abortedAt = 0
    // The client ends the iteration (or throws an abort error) once aborted.
    await (async () => {
      for await (const _ of stream) {
        if (++n === 3) {
          abortedAt = Date.now()
          controller.abort()
        }
      }
    })().catch((e: unknown) => expect(String(e)).toMatch(/abort/i))
    const abort = await seen
    expect(n).toBe(3)
    // The upstream would have needed ~4 s more; it noticed the close promptly (the bench measures the delay).
    expect(abort.at - abortedAt).toBeLessThan(1000)
    expect(primary.aborts.length).toBeGreaterThan(0)
  })

  it("honours 429 Retry-After and retries on the same route", async () => {
    let n = 0
    behaviour = () => (n++ === 0 ? { kind: "status", status: 429, retryAfter: "1" } : { kind: "ok" })
    const before = primary.requests.length
    const r = await client.chat.completions.create({ model: "vllm/qwen", messages: user("rate limited once") })
    expect(r.choices[0]!.message.content).toBe("vllm: rate limited once")
    const attempts = primary.requests.slice(before)
    expect(attempts.length).toBe(2)
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(1000)
  })

  it("falls back to the next route when the first keeps failing", async () => {
    behaviour = () => ({ kind: "status", status: 500 })
    const before = primary.requests.length
    const r = await client.chat.completions.create({ model: "vllm/qwen", messages: user("need a fallback") })
    expect(r.choices[0]!.message.content).toBe("backup: need a fallback")
    expect(r.model).toBe("backup/small")
    expect(primary.requests.length - before).toBe(2) // first attempt + 1 retry
  })

  it("an upstream refusing its key (401) is not retried: the fallback answers", async () => {
    behaviour = () => ({ kind: "status", status: 401 })
    const before = primary.requests.length
    const r = await client.chat.completions.create({ model: "vllm/qwen", messages: user("bad upstream key") })
    expect(r.model).toBe("backup/small")
    expect(primary.requests.length - before).toBe(1)
  })

  it("sends the key of apiKeyEnv as a bearer token upstream", async () => {
    const before = backup.requests.length
    await client.chat.completions.create({ model: "keyed/k", messages: user("with a key") })
    expect(backup.requests[before]!.headers.authorization).toBe("Bearer upstream-secret-1")
    // An upstream quoting the key in its error: the key never reaches the client.
    backup.setBehaviour(() => ({
      kind: "status",
      status: 401,
      message: "Incorrect API key provided: upstream-secret-1"
    }))
    try {
      const r = await call(server.url, "/v1/chat/completions", {
        method: "POST",
        key: "acme-key",
        body: JSON.stringify({ model: "keyed/k", messages: user("leak?") })
      })
      expect(r.status).toBe(502)
      const text = await r.text()
      expect(text).toContain("Incorrect API key provided")
      expect(text).not.toContain("upstream-secret-1")
    } finally {
      backup.setBehaviour(() => ({ kind: "ok" }))
    }
  })

  it("a fallback that lacks a needed capability is skipped: the route's own error is returned", async () => {
    behaviour = () => ({ kind: "status", status: 500 })
    const e = await client.chat.completions
      .create({
        model: "vllm/qwen",
        messages: user("tools needed"),
        tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }]
      })
      .catch((x: unknown) => x)
    expect(e).toBeInstanceOf(OpenAI.APIError)
    expect((e as InstanceType<typeof OpenAI.APIError>).status).toBe(502)
  })

  it("refuses a request needing a capability the provider lacks with 400 naming it", async () => {
    const e = await client.chat.completions
      .create({
        model: "plain/m",
        messages: user("x"),
        tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }]
      })
      .catch((x: unknown) => x) as InstanceType<typeof OpenAI.APIError>
    expect(e.status).toBe(400)
    expect(e.code).toBe("capability_missing")
    expect(e.message).toContain("\"tools\"")
    const s = await client.chat.completions.create({ model: "plain/m", messages: user("x"), stream: true }).catch((
      x: unknown
    ) => x) as InstanceType<typeof OpenAI.APIError>
    expect(s.status).toBe(400)
    expect(s.message).toContain("\"stream\"")
  })

  it("unknown models are 404 model_not_found; malformed bodies 400 in OpenAI's error shape", async () => {
    const e = await client.chat.completions.create({ model: "nope/x", messages: user("x") }).catch((x: unknown) =>
      x
    ) as InstanceType<typeof OpenAI.APIError>
    expect(e.status).toBe(404)
    expect(e.code).toBe("model_not_found")
    const r = await call(server.url, "/v1/chat/completions", {
      method: "POST",
      key: "acme-key",
      body: JSON.stringify({ model: "vllm/qwen", messages: [] })
    })
    expect(r.status).toBe(400)
    const body = (await r.json()) as { error: { message: string; type: string; code: string } }
    expect(body.error.type).toBe("invalid_request_error")
    expect(body.error.message).toContain("messages")
    const bad = await call(server.url, "/v1/chat/completions", { method: "POST", key: "acme-key", body: "{not json" })
    expect(bad.status).toBe(400)
    const noKey = await call(server.url, "/v1/chat/completions", {
      method: "POST",
      body: JSON.stringify({ model: "local/echo", messages: user("x") })
    })
    expect(noKey.status).toBe(401)
  })

  it("serves repeated requests from the cache; Cache-Control: no-cache skips it", async () => {
    const before = primary.requests.length
    const body = { model: "vllm/qwen", messages: user("cache me") }
    const a = await client.chat.completions.create(body).withResponse()
    const b = await client.chat.completions.create(body).withResponse()
    expect(a.response.headers.get("x-trellis-cache")).toBe("miss")
    expect(b.response.headers.get("x-trellis-cache")).toBe("hit")
    expect(b.data.choices[0]!.message.content).toBe(a.data.choices[0]!.message.content)
    expect(primary.requests.length - before).toBe(1)
    // A streaming request for the same thing replays the cached answer.
    let text = ""
    for await (const c of await client.chat.completions.create({ ...body, stream: true })) {
      text += c.choices[0]?.delta.content ?? ""
    }
    expect(text).toBe("vllm: cache me")
    expect(primary.requests.length - before).toBe(1)
    const c = await client.chat.completions.create(body, { headers: { "Cache-Control": "no-cache" } }).withResponse()
    expect(c.response.headers.get("x-trellis-cache")).toBe("miss")
    expect(primary.requests.length - before).toBe(2)
    // Another workspace does not see acme's cache.
    const other = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "tiny-key", maxRetries: 0 })
    const d = await other.chat.completions.create(body).withResponse()
    expect(d.response.headers.get("x-trellis-cache")).toBe("miss")
  })

  it("enforces the workspace's tokens-per-minute quota with 429 and Retry-After", async () => {
    const tiny = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "tiny-key", maxRetries: 0 })
    // "tiny" may already have used tokens in the cache test; spend more than 10 either way.
    await tiny.chat.completions.create({ model: "vllm/qwen", messages: user("spend my whole quota of tokens now") })
      .catch(() => undefined)
    const e = await tiny.chat.completions.create({ model: "vllm/qwen", messages: user("one more") }).catch((
      x: unknown
    ) => x) as InstanceType<typeof OpenAI.APIError>
    expect(e.status).toBe(429)
    expect(e.code).toBe("quota_exceeded")
    expect(Number(e.headers?.get("retry-after"))).toBeGreaterThanOrEqual(1)
    // acme is not affected.
    const ok = await client.chat.completions.create({ model: "vllm/qwen", messages: user("acme still fine") })
    expect(ok.choices[0]!.message.content).toBe("vllm: acme still fine")
  })

  it("local/echo answers with no provider configured, streaming or not", async () => {
    const r = await client.chat.completions.create({ model: "local/echo", messages: user("echo this") })
    expect(r.choices[0]!.message.content).toBe("echo this")
    let text = ""
    for await (
      const c of await client.chat.completions.create({
        model: "local/echo",
        messages: user("echo this streamed"),
        stream: true
      })
    ) {
      text += c.choices[0]?.delta.content ?? ""
    }
    expect(text).toBe("echo this streamed")
  })

  it("records LLM tokens in /metrics by provider, model and workspace", async () => {
    const r = await call(server.url, "/metrics", { key: "acme-key" })
    const text = await r.text()
    expect(text).toMatch(/trellis_llm_tokens_total\{[^}]*provider="vllm"[^}]*\}/)
    expect(text).toMatch(/trellis_llm_tokens_total\{[^}]*workspace="acme"/)
    expect(text).not.toMatch(/trellis_llm_tokens_total\{[^}]*workspace="tiny"/)
    const cost = /trellis_llm_cost_usd_total\{[^}]*provider="vllm"[^}]*\} ([0-9.e-]+)/.exec(text)
    expect(Number(cost?.[1])).toBeGreaterThan(0)
    expect(text).toMatch(/trellis_llm_requests_total\{[^}]*outcome="cached"/)
    expect(text).toMatch(/trellis_llm_fallbacks_total\{[^}]*to="backup\/small"/)
  })
})
