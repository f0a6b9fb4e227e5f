/**
 * Issue 14, findings 4, 6, 7 and 8, over real HTTP on loopback: fair run
 * slots across workspaces, default quotas, bounded durations, per-run limits
 * on work, value size and wall time (`ResourceExhausted`), `/healthz`
 * answering while a hostile program runs; open mode's Host/Origin and
 * content-type checks and security headers; the SSRF guard on an
 * IPv4-translated loopback; authentication before the body, and a bounded
 * body read time.
 */
import { Either } from "effect"
import { request } from "node:http"
import { connect } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { hashKey, parseApiKeys, resolveConfig } from "../../src/server/config.js"
import { call, startServer, testConfig, waitEnded } from "../support/server.js"
import type { TestServer } from "../support/server.js"

const A = "alpha-key-1"
const B = "beta-key-2"
const SLEEP = `program main() { s = tool std.sleep(ms: 600000) return s }`
const ECHO = `program main() { e = tool std.echo(value: "hi") return e }`
const NESTED = `program main() {
  xs = map i in range(1000) {
    ys = map j in range(1000) {
      zs = map k in range(100) { return k }
      return zs
    }
    return ys
  }
  return xs
}`
const DOUBLING = `program main() {
  a = range(1000000)
  b = concat(a, a)
  c = concat(b, b)
  d = concat(c, c)
  e = concat(d, d)
  f = concat(e, e)
  return len(f)
}`
const SHARED = `program main() {
  a = range(1000000)
  b = [a, a]
  c = [b, b]
  d = [c, c]
  e = [d, d]
  f = [e, e]
  g = [f, f]
  return g
}`

const post = (url: string, key: string | undefined, body: unknown) =>
  call(url, "/v1/runs", { method: "POST", ...(key === undefined ? {} : { key }), body: JSON.stringify(body) })

const submit = async (url: string, key: string | undefined, source: string, inputs: Record<string, unknown> = {}) => {
  const r = await post(url, key, { source, inputs })
  expect(r.status).toBe(202)
  return ((await r.json()) as { runId: string }).runId
}

/** A raw HTTP/1.1 exchange: writes `head` (and later `body`, if given, after `delayMs`); the response text and when it came. */
const raw = (
  url: string,
  head: string,
  options: { readonly body?: string; readonly delayMs?: number; readonly waitMs?: number } = {}
) =>
  new Promise<{ readonly text: string; readonly ms: number }>((resolve) => {
    const u = new URL(url)
    const started = Date.now()
    const socket = connect(Number(u.port), u.hostname)
    let text = ""
    let ms = -1
    const done = () => resolve({ text, ms })
    socket.on("data", (d) => {
      if (ms < 0) ms = Date.now() - started
      text += d.toString("utf8")
    })
    socket.on("error", () => {})
    socket.on("close", done)
    socket.write(head)
    if (options.body !== undefined) setTimeout(() => socket.write(options.body!), options.delayMs ?? 0)
    setTimeout(() => socket.destroy(), options.waitMs ?? 8000)
  })

describe("keyed server", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer(testConfig(
      { workspaces: [{ name: "alpha", keyHashes: [hashKey(A)] }, { name: "beta", keyHashes: [hashKey(B)] }] },
      { concurrentRuns: 4, drainMs: 100, maxRunNodes: 20_000, bodyReadMs: 1000 }
    ))
  }, 120_000)
  afterAll(() => server?.close(), 60_000)

  it("finding 4: one workspace's long runs do not keep another's queued (fair slots)", async () => {
    const sleepers = await Promise.all(Array.from({ length: 6 }, () => submit(server.url, B, SLEEP)))
    const runId = await submit(server.url, A, ECHO)
    const run = await waitEnded(server.url, runId, A, 30_000)
    expect(run.status).toBe("completed")
    for (const id of sleepers) await call(server.url, `/v1/runs/${id}/cancel`, { method: "POST", key: B })
  }, 90_000)

  it(
    "finding 4: absurd literal durations are a 400 with a location; computed ones fail the run with a typed error",
    async () => {
      for (
        const source of [
          `program main() { s = tool std.sleep(ms: 1e12) return s }`,
          `program main() { s = tool std.sleep(ms: 5) with { timeout: "1000000h" } return s }`
        ]
      ) {
        const r = await post(server.url, A, { source })
        expect(r.status).toBe(400)
        const body = (await r.json()) as { violations: Array<{ message: string; span?: unknown }> }
        expect(body.violations[0]!.message).toMatch(/exceeds the maximum/)
        expect(body.violations[0]!.span).toBeDefined()
      }
      const runId = await submit(
        server.url,
        A,
        `program main(n: number) { s = tool std.sleep(ms: n * 1000) return s }`,
        { n: 2 ** 31 }
      )
      const run = await waitEnded(server.url, runId, A, 30_000)
      expect(run.status).toBe("failed")
      expect((run.error as { kind: string }).kind).toBe("Permanent")
    },
    60_000
  )

  it(
    "finding 4: work, value size and memory limits fail the run with ResourceExhausted; /healthz stays fast meanwhile",
    async () => {
      const nested = await submit(server.url, B, NESTED)
      let slowest = 0
      for (let i = 0; i < 10; i++) {
        const t = Date.now()
        expect((await call(server.url, "/healthz")).status).toBe(200)
        slowest = Math.max(slowest, Date.now() - t)
      }
      const run = await waitEnded(server.url, nested, B, 60_000)
      expect(slowest).toBeLessThan(1000)
      expect(run.status).toBe("failed")
      expect(run.error).toMatchObject({ kind: "ResourceExhausted" })
      for (const source of [DOUBLING, SHARED]) {
        const id = await submit(server.url, B, source)
        const r = await waitEnded(server.url, id, B, 60_000)
        expect(r.status).toBe("failed")
        expect(r.error).toMatchObject({ kind: "ResourceExhausted" })
      }
    },
    120_000
  )

  it("finding 7: http.get of an IPv4-translated loopback address is refused before connecting", async () => {
    const port = new URL(server.url).port
    const id = await submit(server.url, A, `program main(u: string) { r = tool http.get(url: u) return r }`, {
      u: `http://[::ffff:0:7f00:1]:${port}/healthz`
    })
    const run = await waitEnded(server.url, id, A, 30_000)
    expect(run.status).toBe("failed")
    expect(JSON.stringify(run.error)).toMatch(/IPv4-translated form of a loopback address/)
  }, 60_000)

  it("finding 8: a body request without a valid key is refused on its headers, before any body byte", async () => {
    const u = new URL(server.url)
    const head =
      `POST /v1/runs HTTP/1.1\r\nHost: ${u.host}\r\nAuthorization: Bearer wrong\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n`
    const r = await raw(server.url, head, { waitMs: 5000 })
    expect(r.text.split("\r\n")[0]).toBe("HTTP/1.1 401 Unauthorized")
    expect(r.text).toContain("\"_tag\":\"Unauthorized\"")
  }, 30_000)

  it("finding 8: a body that does not arrive in time is a 408", async () => {
    const u = new URL(server.url)
    const head =
      `POST /v1/programs/check HTTP/1.1\r\nHost: ${u.host}\r\nAuthorization: Bearer ${A}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"source":`
    const r = await raw(server.url, head, { waitMs: 8000 })
    expect(r.text.split("\r\n")[0]).toBe("HTTP/1.1 408 Request Timeout")
    expect(r.ms).toBeLessThan(7500)
  }, 30_000)
})

describe("default quotas of TRELLIS_API_KEYS workspaces", () => {
  it("finding 4: a development key's workspace gets the default quotas", async () => {
    const dev = Either.getOrThrow(parseApiKeys(`dev=${A}`))
    const config = Either.getOrThrow(resolveConfig({ limits: { defaultQuotas: { runsPerMinute: 2 } } }, dev))
    expect(config.workspaces[0]!.quotas).toEqual({ runsPerMinute: 2 })
    const server = await startServer(config)
    try {
      expect((await post(server.url, A, { source: ECHO })).status).toBe(202)
      expect((await post(server.url, A, { source: ECHO })).status).toBe(202)
      expect((await post(server.url, A, { source: ECHO })).status).toBe(429)
    } finally {
      await server.close()
    }
  }, 120_000)
})

describe("open mode", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer(testConfig({}))
  }, 120_000)
  afterAll(() => server?.close(), 60_000)

  /** A request with explicit Host/Origin headers (fetch cannot set Host). */
  const withHeaders = (method: string, path: string, headers: Record<string, string>, body?: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const u = new URL(server.url)
      const req = request({ host: u.hostname, port: u.port, method, path, headers }, (res) => {
        let text = ""
        res.on("data", (d: Buffer) => (text += d.toString("utf8")))
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }))
      })
      req.on("error", reject)
      req.end(body)
    })

  it("finding 6: a JSON body needs Content-Type application/json (no simple cross-origin POST)", async () => {
    const body = JSON.stringify({ source: ECHO })
    const plain = await call(server.url, "/v1/runs", {
      method: "POST",
      body,
      headers: { "content-type": "text/plain" }
    })
    expect(plain.status).toBe(415)
    expect(await plain.json()).toMatchObject({ _tag: "UnsupportedMediaType" })
    const none = await fetch(`${server.url}/v1/runs`, { method: "POST", body: new TextEncoder().encode(body) })
    expect(none.status).toBe(415)
    expect((await post(server.url, undefined, { source: ECHO })).status).toBe(202)
  })

  it("finding 6: a foreign Host (DNS rebinding) or Origin is refused", async () => {
    const u = new URL(server.url)
    expect((await withHeaders("GET", "/v1/runs", { host: "attacker.example" })).status).toBe(403)
    expect((await withHeaders("GET", "/v1/runs", { host: `attacker.example:${u.port}` })).status).toBe(403)
    const evil = await withHeaders("POST", "/v1/runs", {
      host: u.host,
      origin: "http://evil.example",
      "content-type": "application/json"
    }, JSON.stringify({ source: ECHO }))
    expect(evil.status).toBe(403)
    expect(JSON.parse(evil.body)).toMatchObject({ _tag: "Forbidden" })
    expect((await withHeaders("GET", "/healthz", { host: u.host, origin: `http://${u.host}` })).status).toBe(200)
    expect((await withHeaders("GET", "/healthz", { host: `localhost:${u.port}` })).status).toBe(200)
  })

  it("finding 6: /docs and /openapi.json carry security headers", async () => {
    for (const path of ["/docs", "/openapi.json"]) {
      const r = await fetch(server.url + path)
      expect(r.status).toBe(200)
      expect(r.headers.get("x-content-type-options")).toBe("nosniff")
      expect(r.headers.get("x-frame-options")).toBe("DENY")
      expect(r.headers.get("content-security-policy")).toContain("frame-ancestors 'none'")
    }
  })
})
