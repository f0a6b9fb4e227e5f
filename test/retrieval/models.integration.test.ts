/**
 * Local models inside retrieval, on PGlite, with tiny models the test writes
 * (`test/support/onnxModel.ts`): the ONNX cross-encoder as the rerank stage
 * (scores equal a reference forward pass over the same weights), the ONNX
 * embedder chosen by `TRELLIS_EMBEDDER` for dense search, and a named model
 * downloaded from a hub (a local HTTP server speaking the hub's layout)
 * into `TRELLIS_HOME/models` with its checksums verified — a wrong checksum
 * or an unreachable hub is an error naming the directory to fill by hand.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { createHash } from "node:crypto"
import * as Fs from "node:fs"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { Embedder } from "../../src/retrieval/embedder.js"
import { layerEmbedderFromEnv, layerRerankerFromEnv } from "../../src/retrieval/embedderSelect.js"
import { DEFAULT_SETTINGS, layer as retrievalLayer, Retrieval } from "../../src/retrieval/service.js"
import { layerPglite, MEMORY } from "../../src/store/sql.js"
import {
  referenceEmbedding,
  referenceScore,
  tinyModel,
  tinyTokenizerJson,
  tinyWeights,
  writeModelDir
} from "../support/onnxModel.js"
import { layerSettings } from "../support/settings.js"

const tmp = Fs.mkdtempSync(Path.join(Os.tmpdir(), "trellis-models-"))
const weights = tinyWeights(8, 3)
const embedDir = writeModelDir(Path.join(tmp, "embed"), weights, { pooling: "mean", normalize: true })
const crossDir = writeModelDir(Path.join(tmp, "cross"), tinyWeights(8, 5), { kind: "cross-encoder" })

const docs = [
  { id: "a", title: "Wings", text: "The lift of a wing in supersonic flow." },
  { id: "b", title: "Heat", text: "Heat of the boundary layer on a flat plate." },
  { id: "c", title: "Jets", text: "The jet and the shock wave in air." }
]

const stack = (env: Record<string, string>) => {
  const sql = layerPglite(MEMORY)
  const models = Layer.merge(layerEmbedderFromEnv(), layerRerankerFromEnv()).pipe(
    Layer.provide(Layer.merge(sql, layerSettings(env)))
  )
  return Layer.provideMerge(
    retrievalLayer({ ...DEFAULT_SETTINGS, chunking: { kind: "sentence", size: 200, overlap: 0 } }),
    Layer.merge(models, sql)
  )
}

describe("ONNX models in retrieval", () => {
  it.effect("TRELLIS_RERANKER=onnx:<dir>: the cross-encoder rescores the candidates (reference scores to 1e-5)", () =>
    Effect.gen(function*() {
      const r = yield* Retrieval
      yield* r.ingest(docs)
      const query = "supersonic wing lift"
      const { hits } = yield* r.search(query, { mode: "hybrid", k: 3 })
      expect(hits.length).toBe(3)
      for (const h of hits) {
        expect(Math.abs(h.scores.rerank! - referenceScore(tinyWeights(8, 5), query, `${h.title}\n${h.text}`)))
          .toBeLessThan(1e-5)
      }
      const scores = hits.map((h) => h.scores.rerank!)
      expect(scores).toEqual([...scores].sort((x, y) => y - x))
    }).pipe(
      Effect.provide(stack({ TRELLIS_EMBEDDER: "hashing:64", TRELLIS_RERANKER: `onnx:${crossDir}` })),
      Effect.timeout("60 seconds")
    ))

  it.effect("TRELLIS_EMBEDDER=onnx:<dir>: dense search with the model's vectors", () =>
    Effect.gen(function*() {
      const r = yield* Retrieval
      const embedder = yield* Embedder
      expect(embedder.name).toBe("onnx/embed")
      yield* r.ingest(docs)
      const query = "heat of a flat plate"
      const { hits } = yield* r.search(query, { mode: "dense", k: 3, distinct: "document" })
      const q = referenceEmbedding(weights, query, "mean", true)
      const expected = docs
        .map((d) => {
          const v = referenceEmbedding(weights, `${d.title}\n${d.text}`, "mean", true)
          return { id: d.id, score: v.reduce((s, x, i) => s + x * q[i]!, 0) }
        })
        .sort((a, b) => b.score - a.score)
      expect(hits.map((h) => h.documentId)).toEqual(expected.map((e) => e.id))
      hits.forEach((h, i) => expect(Math.abs(h.scores.dense!.score - expected[i]!.score)).toBeLessThan(1e-5))
      expect(hits[0]!.lineage.embedder?.name).toBe("onnx/embed")
    }).pipe(
      Effect.provide(stack({ TRELLIS_EMBEDDER: `onnx:${embedDir}`, TRELLIS_RERANKER: "none" })),
      Effect.timeout("60 seconds")
    ))
})

/** A hub serving one model (`acme/tiny`): its file listing and the files; `corrupt` lies about a checksum. */
const hub = (corrupt: boolean) =>
  Effect.acquireRelease(
    Effect.async<{ url: string; requests: Array<string>; close: () => void }>((resume) => {
      const files: Record<string, Uint8Array> = {
        "onnx/model.onnx": tinyModel(weights, "embedding"),
        "tokenizer.json": new TextEncoder().encode(JSON.stringify(tinyTokenizerJson())),
        "1_Pooling/config.json": new TextEncoder().encode(JSON.stringify({ pooling_mode_mean_tokens: true })),
        "modules.json": new TextEncoder().encode(JSON.stringify([{ type: "sentence_transformers.models.Normalize" }])),
        "README.md": new TextEncoder().encode("# tiny")
      }
      const listing = Object.entries(files).map(([path, body]) =>
        path.endsWith(".onnx")
          ? {
            type: "file",
            path,
            size: body.length,
            oid: "0".repeat(40),
            lfs: { oid: corrupt ? "f".repeat(64) : createHash("sha256").update(body).digest("hex") }
          }
          : {
            type: "file",
            path,
            size: body.length,
            oid: createHash("sha1").update(`blob ${body.length}\0`).update(body).digest("hex")
          }
      )
      const requests: Array<string> = []
      const server = Http.createServer((req, res) => {
        requests.push(req.url ?? "")
        const url = new URL(req.url ?? "/", "http://x")
        if (url.pathname === "/api/models/acme/tiny/tree/main") {
          res.setHeader("content-type", "application/json")
          res.end(JSON.stringify([{ type: "directory", path: "onnx", oid: "x", size: 0 }, ...listing]))
          return
        }
        const file = url.pathname.startsWith("/acme/tiny/resolve/main/")
          ? files[url.pathname.slice("/acme/tiny/resolve/main/".length)]
          : undefined
        if (file === undefined) {
          res.statusCode = 404
          res.end()
          return
        }
        res.end(Buffer.from(file))
      })
      server.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed({
          url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
          requests,
          close: () => server.close()
        })))
    }),
    (h) => Effect.sync(h.close)
  )

const embedderFrom = (env: Record<string, string>) =>
  Effect.provide(Embedder, layerEmbedderFromEnv().pipe(Layer.provide(layerSettings(env))))

describe("named models from a hub", () => {
  it.scoped("downloads once into TRELLIS_HOME/models/<name>, verified, then loads from there", () =>
    Effect.gen(function*() {
      const h = yield* hub(false)
      const home = Fs.mkdtempSync(Path.join(tmp, "home-"))
      const env = { TRELLIS_HOME: home, TRELLIS_EMBEDDER: "onnx:acme/tiny", TRELLIS_MODEL_HUB: h.url }
      const embedder = yield* embedderFrom(env)
      const dir = Path.join(home, "models", "acme", "tiny")
      expect(Fs.readdirSync(dir).sort()).toEqual([
        "1_Pooling",
        "checksums.sha256",
        "model.onnx",
        "modules.json",
        "tokenizer.json"
      ])
      expect(Fs.readFileSync(Path.join(dir, "checksums.sha256"), "utf8")).toContain(
        `${createHash("sha256").update(Fs.readFileSync(Path.join(dir, "model.onnx"))).digest("hex")}  model.onnx`
      )
      const [v] = yield* embedder.embed(["the lift of a wing"])
      const ref = referenceEmbedding(weights, "the lift of a wing", "mean", true)
      v!.forEach((x, i) => expect(Math.abs(x - ref[i]!)).toBeLessThan(1e-5))
      const before = h.requests.length
      yield* embedderFrom(env)
      expect(h.requests.length).toBe(before)
    }))

  it.scoped("a checksum that does not match leaves nothing behind and names the directory", () =>
    Effect.gen(function*() {
      const h = yield* hub(true)
      const home = Fs.mkdtempSync(Path.join(tmp, "home-"))
      const e = yield* Effect.flip(
        embedderFrom({ TRELLIS_HOME: home, TRELLIS_EMBEDDER: "onnx:acme/tiny", TRELLIS_MODEL_HUB: h.url })
      )
      const dir = Path.join(home, "models", "acme", "tiny")
      expect(e.display).toBe(
        `${dir}: cannot download the model acme/tiny from ${h.url}: onnx/model.onnx does not match the hub's checksum; ` +
          "without network, put model.onnx and tokenizer.json (and trellis-model.json) into the directory by hand"
      )
      expect(Fs.existsSync(dir) || Fs.existsSync(`${dir}.partial`)).toBe(false)
    }))

  it.effect("an unreachable hub is an error naming the directory", () =>
    Effect.gen(function*() {
      const home = Fs.mkdtempSync(Path.join(tmp, "home-"))
      const e = yield* Effect.flip(
        embedderFrom({
          TRELLIS_HOME: home,
          TRELLIS_EMBEDDER: "onnx:acme/tiny",
          TRELLIS_MODEL_HUB: "http://127.0.0.1:9"
        })
      )
      expect(e.location).toBe(Path.join(home, "models", "acme", "tiny"))
      expect(e.message).toMatch(
        /^cannot download the model acme\/tiny from http:\/\/127\.0\.0\.1:9: cannot list its files/
      )
    }))
})
