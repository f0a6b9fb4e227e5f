/**
 * The OpenAI-compatible embedder against a fake `/v1/embeddings` server on
 * 127.0.0.1 (real HTTP): batching, auth, order by index, retry on 5xx,
 * and clear errors for bad answers. `it.live`: real sockets need the real clock
 * (the retry backoff is 1 ms here).
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { Embedder } from "../../src/retrieval/embedder.js"
import { layerOpenAi } from "../../src/retrieval/embedderOpenAi.js"
import type { OpenAiEmbedderOptions } from "../../src/retrieval/embedderOpenAi.js"

interface Seen {
  readonly auth: string | undefined
  readonly body: { model: string; input: Array<string>; dimensions?: number }
}
const seen: Array<Seen> = []
let failNext = 0
let mode: "ok" | "short" | "reversed" = "ok"
let server: Http.Server
let baseUrl = ""

beforeAll(async () => {
  server = Http.createServer((req, res) => {
    let data = ""
    req.on("data", (c) => (data += c))
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/v1/embeddings") {
        res.writeHead(404).end()
        return
      }
      const body = JSON.parse(data) as Seen["body"]
      seen.push({ auth: req.headers.authorization, body })
      if (failNext > 0) {
        failNext--
        res.writeHead(503).end("busy")
        return
      }
      const dim = mode === "short" ? 2 : 3
      const items = body.input.map((t, index) => ({
        index,
        embedding: Array.from({ length: dim }, (_, i) => (i === 0 ? t.length : 0))
      }))
      res.writeHead(200, { "content-type": "application/json" }).end(
        JSON.stringify({ data: mode === "reversed" ? items.reverse() : items, model: body.model })
      )
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

const embedWith = (options: Partial<OpenAiEmbedderOptions>, texts: ReadonlyArray<string>) =>
  Effect.flatMap(Embedder, (e) => e.embed(texts)).pipe(
    Effect.provide(
      layerOpenAi({ baseUrl, model: "m", dimension: 3, maxBatch: 2, retryBase: "1 millis", ...options }).pipe(
        Layer.provide(FetchHttpClient.layer)
      )
    )
  )

describe("the OpenAI-compatible embedder", () => {
  it.live("batches, authenticates, orders by index and normalizes", () =>
    Effect.gen(function*() {
      seen.length = 0
      mode = "reversed"
      const vectors = yield* embedWith({ apiKey: Redacted.make("sk-test") }, ["a", "bb", "ccc"])
      expect(vectors).toEqual([[1, 0, 0], [1, 0, 0], [1, 0, 0]])
      expect(seen.map((s) => s.body.input)).toEqual([["a", "bb"], ["ccc"]])
      expect(seen.every((s) => s.auth === "Bearer sk-test" && s.body.model === "m" && s.body.dimensions === undefined))
        .toBe(true)
    }))

  it.live("retries a 503 and succeeds", () =>
    Effect.gen(function*() {
      seen.length = 0
      mode = "ok"
      failNext = 1
      const vectors = yield* embedWith({}, ["x"])
      expect(vectors).toEqual([[1, 0, 0]])
      expect(seen).toHaveLength(2)
    }))

  it.live("gives up after the retries with a clear error", () =>
    Effect.gen(function*() {
      mode = "ok"
      failNext = 10
      const e = yield* Effect.flip(embedWith({ retries: 2 }, ["x"]))
      failNext = 0
      expect(e.message).toBe(`embeddings at ${baseUrl}/embeddings: HTTP 503`)
    }))

  it.live("refuses vectors of the wrong dimension", () =>
    Effect.gen(function*() {
      mode = "short"
      const e = yield* Effect.flip(embedWith({}, ["x"]))
      mode = "ok"
      expect(e).toMatchObject({
        reason: "embedder",
        message: `embeddings at ${baseUrl}/embeddings: model m returned 2 dimensions, configured 3`
      })
    }))
})
