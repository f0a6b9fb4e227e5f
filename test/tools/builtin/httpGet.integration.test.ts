/** http.get against a real local HTTP server on 127.0.0.1, and its SSRF guard end to end. */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { createServer } from "node:http"
import type { IncomingMessage, Server, ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { parseRetryAfter, statusError } from "../../../src/tools/builtin/httpGet.js"
import {
  HttpAllowlist,
  httpGet,
  HttpGetConfig,
  HttpResolver,
  invoke,
  Permanent,
  RateLimited,
  Transient
} from "../../../src/tools/index.js"
import type { Resolver } from "../../../src/tools/index.js"

let server: Server
let base = ""
let hits: Array<string> = []
const hanging: Array<ServerResponse> = []
let hangingClosed = 0

const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
  "/ok": (_req, res) => {
    res.setHeader("content-type", "text/plain")
    res.setHeader("x-test", "yes")
    res.end("hello")
  },
  "/headers": (req, res) => res.end(JSON.stringify({ ua: req.headers["user-agent"], x: req.headers["x-custom"] })),
  "/missing": (_req, res) => {
    res.statusCode = 404
    res.end("no")
  },
  "/boom": (_req, res) => {
    res.statusCode = 500
    res.end("boom")
  },
  "/busy": (_req, res) => {
    res.statusCode = 429
    res.setHeader("retry-after", "7")
    res.end()
  },
  "/redirect": (_req, res) => {
    res.statusCode = 302
    res.setHeader("location", "/ok")
    res.end()
  },
  "/to-private": (_req, res) => {
    res.statusCode = 301
    res.setHeader("location", "http://10.0.0.1/admin")
    res.end()
  },
  "/to-metadata": (_req, res) => {
    res.statusCode = 307
    res.setHeader("location", "http://[::ffff:169.254.169.254]/latest/meta-data/")
    res.end()
  },
  "/loop": (_req, res) => {
    res.statusCode = 302
    res.setHeader("location", "/loop")
    res.end()
  },
  "/big": (_req, res) => {
    res.setHeader("content-length", "100")
    res.end("x".repeat(100))
  },
  "/big-chunked": (_req, res) => {
    res.write("x".repeat(60))
    res.end("y".repeat(60))
  },
  "/utf8": (_req, res) => res.end(Buffer.from("héllo ✓", "utf8")),
  "/hang": (_req, res) => {
    hanging.push(res)
    res.on("close", () => hangingClosed++)
  }
}

beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push(req.url ?? "")
    const route = routes[req.url ?? ""]
    if (route === undefined) {
      res.statusCode = 404
      res.end()
    } else route(req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  for (const res of hanging) res.destroy()
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

const fixedResolver = (table: Record<string, ReadonlyArray<string>>): Resolver => ({
  resolve: (host) => Effect.succeed(table[host] ?? [])
})

interface Options {
  readonly allow?: ReadonlyArray<string>
  readonly resolver?: Resolver
  readonly maxBytes?: number
}

const get = (url: string, options: Options = {}, headers?: Record<string, string>) =>
  invoke(httpGet, headers === undefined ? { url } : { url, headers }).pipe(
    Effect.provideService(HttpAllowlist, options.allow ?? ["127.0.0.1"]),
    Effect.provideService(HttpResolver, options.resolver ?? fixedResolver({})),
    Effect.provideService(HttpGetConfig, { maxBytes: options.maxBytes ?? 1024, maxRedirects: 3 })
  )

const failure = (url: string, options?: Options) =>
  Effect.map(Effect.flip(get(url, options)), (e) => ({ _tag: e._tag, message: e.message }))

describe("http.get against a local server (127.0.0.1 allowlisted)", () => {
  it.live("returns status, headers and body", () =>
    Effect.gen(function*() {
      const out = yield* get(`${base}/ok`)
      expect(out).toMatchObject({ url: `${base}/ok`, status: 200, body: "hello" })
      expect(out).toHaveProperty(["headers", "x-test"], "yes")
      expect(out).toHaveProperty(["headers", "content-type"], "text/plain")
    }))

  it.live("sends a user agent and the given headers", () =>
    Effect.gen(function*() {
      const out = yield* get(`${base}/headers`, {}, { "x-custom": "42" })
      expect(JSON.parse((out as { body: string }).body)).toEqual({ ua: "trellis", x: "42" })
    }))

  it.live("decodes the body as UTF-8", () =>
    Effect.gen(function*() {
      expect(yield* get(`${base}/utf8`)).toMatchObject({ body: "héllo ✓" })
    }))

  it.live("maps statuses to the taxonomy", () =>
    Effect.gen(function*() {
      expect(yield* Effect.flip(get(`${base}/missing`))).toEqual(
        new Permanent({ message: `GET ${base}/missing returned 404` })
      )
      expect(yield* Effect.flip(get(`${base}/boom`))).toEqual(
        new Transient({ message: `GET ${base}/boom returned 500` })
      )
      expect(yield* Effect.flip(get(`${base}/busy`))).toEqual(
        new RateLimited({ message: `GET ${base}/busy returned 429`, retryAfterMs: 7000 })
      )
    }))

  it.live("follows redirects and reports the final URL", () =>
    Effect.gen(function*() {
      hits = []
      expect(yield* get(`${base}/redirect`)).toMatchObject({ url: `${base}/ok`, status: 200, body: "hello" })
      expect(hits).toEqual(["/redirect", "/ok"])
    }))

  it.live("checks every redirect hop with the guard", () =>
    Effect.gen(function*() {
      expect(yield* failure(`${base}/to-private`)).toEqual({
        _tag: "Permanent",
        message: "refused to fetch from \"10.0.0.1\": 10.0.0.1 is a private address (allowlist the host to permit it)"
      })
      const metadata = yield* failure(`${base}/to-metadata`)
      expect(metadata.message).toContain("an IPv4-mapped form of a cloud metadata address")
      expect(yield* failure(`${base}/loop`)).toEqual({
        _tag: "Permanent",
        message: `GET ${base}/loop: more than 3 redirects`
      })
    }))

  it.live("caps the response size, with or without a Content-Length", () =>
    Effect.gen(function*() {
      expect(yield* failure(`${base}/big`, { maxBytes: 50 })).toEqual({
        _tag: "Permanent",
        message: `GET ${base}/big: response body exceeds 50 bytes`
      })
      expect(yield* failure(`${base}/big-chunked`, { maxBytes: 100 })).toEqual({
        _tag: "Permanent",
        message: `GET ${base}/big-chunked: response body exceeds 100 bytes`
      })
      expect(yield* get(`${base}/big`, { maxBytes: 100 })).toMatchObject({ body: "x".repeat(100) })
    }))

  it.live("a refused connection is Transient", () =>
    Effect.gen(function*() {
      const closed = createServer()
      yield* Effect.promise(() => new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve)))
      const port = (closed.address() as AddressInfo).port
      yield* Effect.promise(() => new Promise<void>((resolve) => closed.close(() => resolve())))
      const e = yield* failure(`http://127.0.0.1:${port}/`)
      expect(e._tag).toBe("Transient")
      expect(e.message).toContain(`GET http://127.0.0.1:${port}/ failed (Transport)`)
    }))

  it.live("interrupting the call closes the connection", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(get(`${base}/hang`))
      while (hanging.length === 0) yield* Effect.sleep("5 millis")
      yield* Fiber.interrupt(fiber)
      while (hangingClosed === 0) yield* Effect.sleep("5 millis")
      expect(hangingClosed).toBe(1)
    }))
})

describe("http.get SSRF guard", () => {
  it.live("refuses loopback when not allowlisted, without connecting", () =>
    Effect.gen(function*() {
      hits = []
      const port = new URL(base).port
      for (
        const url of [
          `${base}/ok`,
          `http://localhost:${port}/ok`,
          `http://[::1]:${port}/ok`,
          `http://2130706433:${port}/ok`,
          `http://0x7f.0.0.1:${port}/ok`,
          `http://[::ffff:127.0.0.1]:${port}/ok`
        ]
      ) {
        const e = yield* failure(url, { allow: [], resolver: fixedResolver({ localhost: ["127.0.0.1", "::1"] }) })
        expect(e._tag).toBe("Permanent")
        expect(e.message).toMatch(/^refused to fetch from /)
      }
      expect(hits).toEqual([])
    }))

  it.live("refuses a DNS name that resolves to a private address", () =>
    Effect.gen(function*() {
      const port = new URL(base).port
      expect(
        yield* failure(`http://evil.test:${port}/ok`, {
          allow: [],
          resolver: fixedResolver({ "evil.test": ["127.0.0.1"] })
        })
      ).toEqual({
        _tag: "Permanent",
        message:
          "refused to fetch from \"evil.test\": it resolves to 127.0.0.1, a loopback address (allowlist the host to permit it)"
      })
    }))

  it.live("connects to exactly the checked addresses (DNS is not asked twice)", () =>
    Effect.gen(function*() {
      // The system resolver cannot resolve app.test: only the pinned, checked address can be used.
      const port = new URL(base).port
      const out = yield* get(`http://app.test:${port}/ok`, {
        allow: ["app.test"],
        resolver: fixedResolver({ "app.test": ["127.0.0.1"] })
      })
      expect(out).toMatchObject({ status: 200, body: "hello" })
    }))

  it.live("refuses non-http schemes and bad URLs", () =>
    Effect.gen(function*() {
      expect(yield* failure("file:///etc/passwd")).toEqual({
        _tag: "Permanent",
        message: "refused scheme \"file\" in file:///etc/passwd: only http and https"
      })
      expect((yield* failure("ftp://example.com/x")).message).toBe(
        "refused scheme \"ftp\" in ftp://example.com/x: only http and https"
      )
      expect(yield* failure("not a url")).toEqual({ _tag: "Permanent", message: "invalid URL \"not a url\"" })
    }))
})

describe("status mapping", () => {
  it("parses Retry-After seconds and dates", () => {
    expect(parseRetryAfter("12", 0)).toBe(12_000)
    expect(parseRetryAfter("Thu, 01 Jan 1970 00:00:10 GMT", 4_000)).toBe(6_000)
    expect(parseRetryAfter("Thu, 01 Jan 1970 00:00:10 GMT", 20_000)).toBe(0)
    expect(parseRetryAfter("soon", 0)).toBeUndefined()
    expect(parseRetryAfter(undefined, 0)).toBeUndefined()
  })

  it("maps statuses", () => {
    expect(statusError("u", 429, undefined, 0)).toEqual(new RateLimited({ message: "GET u returned 429" }))
    expect(statusError("u", 503, "2", 0)).toEqual(
      new RateLimited({ message: "GET u returned 503", retryAfterMs: 2000 })
    )
    expect(statusError("u", 503, undefined, 0)).toEqual(new Transient({ message: "GET u returned 503" }))
    expect(statusError("u", 408, undefined, 0)).toEqual(new Transient({ message: "GET u returned 408" }))
    expect(statusError("u", 403, undefined, 0)).toEqual(new Permanent({ message: "GET u returned 403" }))
  })
})
