/**
 * `http.get(url)`: an HTTP(S) GET through @effect/platform's HttpClient,
 * behind the SSRF guard of `httpGuard.ts`. Each hop (the first request and
 * every redirect) is checked, and the connection is pinned to the addresses
 * that were checked, so a DNS answer cannot change between check and connect.
 * Each request carries the W3C `traceparent` (and `b3`) header of its
 * `http.client` span, a child of the current span: @effect/platform's
 * HttpClient adds them (test/server/observability/http.integration.test.ts checks it).
 */
import type { HttpClientError } from "@effect/platform"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Chunk, Clock, Context, Effect, Schema, Stream } from "effect"
import { isIPv6 } from "node:net"
import type { LookupFunction } from "node:net"
import { Permanent, RateLimited, Transient } from "../errors.js"
import type { ToolError } from "../errors.js"
import { make } from "../tool.js"
import { checkHost, HttpAllowlist, HttpResolver } from "./httpGuard.js"

/** Limits of `http.get`. */
export interface HttpGetOptions {
  /** Largest response body read, in bytes; a larger one fails `Permanent`. @default 5_242_880 */
  readonly maxBytes: number
  /** Redirects followed (each one re-checked by the guard). @default 5 */
  readonly maxRedirects: number
}

/** The limits `http.get` applies; override with `Effect.provideService` / `Layer.succeed`. */
export class HttpGetConfig extends Context.Reference<HttpGetConfig>()("trellis/HttpGetConfig", {
  defaultValue: (): HttpGetOptions => ({ maxBytes: 5 * 1024 * 1024, maxRedirects: 5 })
}) {}

/** The wait a `Retry-After` header asks for, in ms (delay-seconds or an HTTP date); undefined when absent or unreadable. */
export const parseRetryAfter = (value: string | undefined, nowMs: number): number | undefined => {
  if (value === undefined) return undefined
  const text = value.trim()
  if (/^\d+$/.test(text)) return Number(text) * 1000
  const at = Date.parse(text)
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs)
}

/** A lookup that answers with the already-checked addresses only (no second DNS query). */
const pinnedLookup = (addresses: ReadonlyArray<string>): LookupFunction => (hostname, options, callback) => {
  const wanted = options.family === 4 || options.family === "IPv4"
    ? 4
    : options.family === 6 || options.family === "IPv6"
    ? 6
    : 0
  const entries = addresses
    .map((address) => ({ address, family: isIPv6(address) ? 6 : 4 }))
    .filter((e) => wanted === 0 || e.family === wanted)
  const first = entries[0]
  if (first === undefined) {
    const error: NodeJS.ErrnoException = new Error(`no checked address of family ${wanted} for ${hostname}`)
    error.code = "ENOTFOUND"
    callback(error, "", 0)
  } else if (options.all === true) {
    callback(null, entries)
  } else {
    callback(null, first.address, first.family)
  }
}

const describe = (e: unknown): string => (e instanceof Error ? e.message : String(e))

const fromClientError = (url: string) => (e: HttpClientError.HttpClientError): ToolError => {
  const cause = e.cause === undefined ? "" : `: ${describe(e.cause)}`
  switch (e.reason) {
    case "InvalidUrl":
    case "Encode":
      return new Permanent({ message: `GET ${url} failed (${e.reason})${cause}` })
    case "Transport":
    case "Decode":
    case "EmptyBody":
    case "StatusCode":
      return new Transient({ message: `GET ${url} failed (${e.reason})${cause}` })
  }
}

/** The error for a non-success status (429 and 503 with Retry-After → RateLimited, 408/5xx → Transient, 4xx → Permanent). */
export const statusError = (url: string, status: number, retryAfter: string | undefined, nowMs: number): ToolError => {
  const message = `GET ${url} returned ${status}`
  const wait = parseRetryAfter(retryAfter, nowMs)
  if (status === 429 || (status === 503 && wait !== undefined)) {
    return wait === undefined ? new RateLimited({ message }) : new RateLimited({ message, retryAfterMs: wait })
  }
  if (status === 408 || status >= 500) return new Transient({ message })
  return new Permanent({ message })
}

/** The output of `http.get`. */
export const HttpResponse = Schema.Struct({
  url: Schema.String,
  status: Schema.Number,
  headers: Schema.Record({ key: Schema.String, value: Schema.String }),
  body: Schema.String
})

/** A response whose body is kept as bytes. */
export interface BytesResponse {
  readonly url: string
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: Uint8Array
}

type Hop =
  | { readonly _tag: "Redirect"; readonly location: string }
  | { readonly _tag: "Done"; readonly value: BytesResponse }

const readCapped = (url: string, stream: Stream.Stream<Uint8Array, HttpClientError.ResponseError>, maxBytes: number) =>
  Stream.runFoldEffect(
    Stream.mapError(stream, fromClientError(url)),
    { parts: Chunk.empty<Uint8Array>(), size: 0 },
    (acc, part): Effect.Effect<{ readonly parts: Chunk.Chunk<Uint8Array>; readonly size: number }, ToolError> => {
      const size = acc.size + part.length
      return size > maxBytes
        ? Effect.fail(new Permanent({ message: `GET ${url}: response body exceeds ${maxBytes} bytes` }))
        : Effect.succeed({ parts: Chunk.append(acc.parts, part), size })
    }
  ).pipe(
    Effect.map(({ parts, size }) => {
      const bytes = new Uint8Array(size)
      let offset = 0
      for (const part of parts) {
        bytes.set(part, offset)
        offset += part.length
      }
      return bytes
    })
  )

const hop = (url: URL, headers: Readonly<Record<string, string>>, addresses: ReadonlyArray<string>, maxBytes: number) =>
  Effect.scoped(
    Effect.gen(function*() {
      const agent = yield* NodeHttpClient.makeAgent({ lookup: pinnedLookup(addresses) })
      const client = yield* Effect.provideService(NodeHttpClient.make, NodeHttpClient.HttpAgent, agent)
      const href = url.href
      const response = yield* Effect.mapError(client.get(url, { headers }), fromClientError(href))
      const location = response.headers["location"]
      if (response.status >= 300 && response.status < 400 && location !== undefined) {
        return { _tag: "Redirect", location } satisfies Hop
      }
      if (response.status >= 400) {
        const now = yield* Clock.currentTimeMillis
        return yield* Effect.fail(statusError(href, response.status, response.headers["retry-after"], now))
      }
      const contentLength = Number(response.headers["content-length"])
      if (Number.isFinite(contentLength) && contentLength > maxBytes) {
        return yield* Effect.fail(new Permanent({ message: `GET ${href}: response body exceeds ${maxBytes} bytes` }))
      }
      const body = yield* readCapped(href, response.stream, maxBytes)
      const value: BytesResponse = { url: href, status: response.status, headers: { ...response.headers }, body }
      return { _tag: "Done", value } satisfies Hop
    })
  )

/** Parses and checks a URL: http or https only. */
const parseUrl = (text: string, base?: URL): Effect.Effect<URL, Permanent> => {
  let url: URL
  try {
    url = new URL(text, base)
  } catch {
    return Effect.fail(new Permanent({ message: `invalid URL ${JSON.stringify(text)}` }))
  }
  return url.protocol === "http:" || url.protocol === "https:"
    ? Effect.succeed(url)
    : Effect.fail(
      new Permanent({ message: `refused scheme "${url.protocol.slice(0, -1)}" in ${url.href}: only http and https` })
    )
}

/** GETs a URL (following redirects, each re-checked) and returns status, headers and the body as bytes. */
export const getBytes = (
  target: string,
  headers: Readonly<Record<string, string>> = {},
  limits: Partial<HttpGetOptions> = {}
): Effect.Effect<BytesResponse, ToolError> =>
  Effect.gen(function*() {
    const allowlist = yield* HttpAllowlist
    const resolver = yield* HttpResolver
    const config = { ...yield* HttpGetConfig, ...limits }
    const requestHeaders = { "user-agent": "trellis", ...headers }
    let url = yield* parseUrl(target)
    for (let redirects = 0;; redirects++) {
      const addresses = yield* checkHost(url.hostname, allowlist, resolver)
      const result = yield* hop(url, requestHeaders, addresses, config.maxBytes)
      if (result._tag === "Done") return result.value
      if (redirects >= config.maxRedirects) {
        return yield* Effect.fail(
          new Permanent({ message: `GET ${target}: more than ${config.maxRedirects} redirects` })
        )
      }
      url = yield* parseUrl(result.location, url)
    }
  })

/** GETs a URL (following redirects, each re-checked) and returns status, headers and the body as text. */
export const get = (
  target: string,
  headers: Readonly<Record<string, string>> = {}
): Effect.Effect<typeof HttpResponse.Type, ToolError> =>
  Effect.map(getBytes(target, headers), (r) => ({ ...r, body: new TextDecoder().decode(r.body) }))

/** `http.get(url, headers?)`: GET behind the SSRF guard; 5xx/network → Transient, 429 → RateLimited, 4xx → Permanent. */
export const httpGet = make({
  name: "http.get",
  description:
    "Fetches a URL with HTTP GET and returns { url, status, headers, body }. Private, loopback and link-local hosts are refused unless allowlisted.",
  input: Schema.Struct({
    url: Schema.String.annotations({ description: "an http or https URL" }),
    headers: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String }))
  }),
  output: HttpResponse,
  idempotent: true,
  retryable: true,
  limits: { timeout: "30s" },
  handler: (args) => get(args.url, args.headers)
})
