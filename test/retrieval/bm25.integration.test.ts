/**
 * Exact BM25 on every test backend (PGlite, and PostgreSQL when
 * TRELLIS_TEST_DATABASE_URL is set): the scores the store computes from its
 * postings equal an Okapi BM25 computed here, independently, from the
 * documents' words, to 1e-9 — after ingestion, after a document is replaced
 * (statistics, lengths and document frequencies follow), for several k1 and
 * b. The analyzer is named and settable: `simple` keeps every word,
 * `english` stems and drops stop words, switching re-indexes, and an unknown
 * one is refused with the list of configurations.
 */
import { SqlClient } from "@effect/sql/SqlClient"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { analyzeQuery, bm25Rank, DEFAULT_BM25, ensureAnalyzer } from "../../src/retrieval/bm25.js"
import { layerLocal } from "../../src/retrieval/embedderLocal.js"
import { layer as retrievalLayer, Retrieval } from "../../src/retrieval/service.js"
import { testBackends } from "../support/db.js"

/** Words only (lowercase letters, single spaces): the `simple` analyzer's tokens are exactly the words. */
const corpus = [
  {
    id: "d1",
    title: "wing lift",
    text: "the lift of a wing in a propeller slipstream grows with the slipstream speed"
  },
  { id: "d2", title: "heat", text: "heat conduction in composite slabs heat flow heat transfer" },
  { id: "d3", title: "shells", text: "buckling of thin cylindrical shells under axial compression" },
  { id: "d4", title: "wing flutter", text: "flutter of a swept wing at high speed with a propeller" },
  {
    id: "d5",
    title: "boundary layer",
    text: "the boundary layer on a flat plate in a supersonic stream the layer thickness grows along the plate"
  },
  { id: "d6", title: "slipstream", text: "slipstream" }
]

/** Independent Okapi BM25 over word lists (Lucene's idf), summed over the query's words. */
const referenceBm25 = (
  docs: ReadonlyArray<{ id: string; title: string; text: string }>,
  query: string,
  k1: number,
  b: number
): Map<string, number> => {
  const tokens = docs.map((d) => ({ id: d.id, words: `${d.title} ${d.text}`.split(" ") }))
  const n = tokens.length
  const avgdl = tokens.reduce((s, d) => s + d.words.length, 0) / n
  const out = new Map<string, number>()
  for (const d of tokens) {
    let score = 0
    let matched = false
    for (const q of query.split(" ")) {
      const tf = d.words.filter((w) => w === q).length
      if (tf === 0) continue
      matched = true
      const df = tokens.filter((x) => x.words.includes(q)).length
      const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5))
      score += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * d.words.length / avgdl))
    }
    if (matched) out.set(`${d.id}#0`, score)
  }
  return out
}

const storeScores = (query: string, k1: number, b: number) =>
  Effect.gen(function*() {
    const terms = yield* analyzeQuery(query)
    const ranked = yield* bm25Rank(terms, { k1, b }, 1000)
    return new Map(ranked.map((r) => [r.id, r.score]))
  })

const expectClose = (got: Map<string, number>, want: Map<string, number>) => {
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort())
  for (const [id, s] of want) expect(Math.abs(got.get(id)! - s)).toBeLessThan(1e-9)
}

const QUERIES = ["wing slipstream", "heat", "the layer grows", "propeller speed speed", "slipstream slipstream wing"]
const PARAMS = [{ k1: 0.9, b: 0.4 }, { k1: 1.2, b: 0.75 }, { k1: 2, b: 0 }, { k1: 0, b: 1 }]

for (const backend of testBackends()) {
  describe(`BM25 on ${backend.name}`, () => {
    const settings = { analyzer: "simple", chunking: { kind: "fixed" as const, size: 4000, overlap: 0 } }
    const TestLayer = Layer.provideMerge(retrievalLayer(settings).pipe(Layer.provide(layerLocal())), backend.layer)
    layer(TestLayer, { timeout: "60 seconds" })((it) => {
      it.effect("scores equal an independent BM25 to 1e-9, before and after a document is replaced", () =>
        Effect.gen(function*() {
          const r = yield* Retrieval
          yield* r.ingest(corpus, { sparseOnly: true })
          for (const q of QUERIES) {
            for (const p of PARAMS) expectClose(yield* storeScores(q, p.k1, p.b), referenceBm25(corpus, q, p.k1, p.b))
          }
          const changed = corpus.map((d) =>
            d.id === "d2"
              ? { ...d, text: "wing wing wing and heat in a long slipstream experiment with many words" }
              : d
          )
          expect(yield* r.ingest(changed, { sparseOnly: true })).toMatchObject({ replaced: 1, unchanged: 5 })
          for (const q of QUERIES) {
            for (const p of PARAMS) expectClose(yield* storeScores(q, p.k1, p.b), referenceBm25(changed, q, p.k1, p.b))
          }
          const sql = yield* SqlClient
          const stats = yield* sql<{ chunks: string; total_length: string }>`SELECT chunks::text, total_length::text
            FROM retrieval_bm25_stats`
          const words = changed.reduce((s, d) => s + `${d.title} ${d.text}`.split(" ").length, 0)
          expect(stats[0]).toEqual({ chunks: "6", total_length: String(words) })
          // The sparse stage of search (default k1 and b) is the same ranking.
          const hits = (yield* r.search("wing slipstream", { mode: "sparse", k: 3 })).hits
          const want = [...referenceBm25(changed, "wing slipstream", DEFAULT_BM25.k1, DEFAULT_BM25.b)].sort((a, b) =>
            b[1] - a[1]
          ).slice(0, 3)
          expect(hits.map((h) => h.chunkId)).toEqual(want.map(([id]) => id))
          for (const [i, h] of hits.entries()) expect(Math.abs(h.scores.sparse!.score - want[i]![1])).toBeLessThan(1e-9)
          expect(hits[0]!.scores.final).toBe(hits[0]!.scores.sparse!.score)
        }))

      it.effect("the analyzer is settable: english stems and drops stop words, switching re-indexes", () =>
        Effect.gen(function*() {
          expect((yield* analyzeQuery("the running wings")).map((t) => t.term)).toEqual(["the", "running", "wings"])
          expect(yield* ensureAnalyzer("english")).toBe(true)
          expect(yield* ensureAnalyzer("english")).toBe(false)
          expect(yield* analyzeQuery("the running wings of the wing")).toEqual([
            { term: "run", weight: 1 },
            { term: "wing", weight: 2 }
          ])
          const sql = yield* SqlClient
          const the = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM retrieval_postings WHERE term = 'the'`
          expect(the[0]!.n).toBe(0)
          const grows = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM retrieval_postings WHERE term = 'grow'`
          expect(grows[0]!.n).toBe(2)
          const unknown = yield* Effect.flip(ensureAnalyzer("klingon"))
          expect(unknown).toMatchObject({ reason: "bad-config" })
          expect(unknown.message).toContain("unknown analyzer \"klingon\"")
          expect(unknown.message).toContain("english")
          expect(yield* Effect.flip(ensureAnalyzer("x'; drop table y"))).toMatchObject({ reason: "bad-config" })
          yield* ensureAnalyzer("simple")
        }))

      it.effect("ts_rank stays available, and bad k1 or b is refused", () =>
        Effect.gen(function*() {
          const r = yield* Retrieval
          const res = yield* r.search("slipstream", { mode: "sparse", sparse: { kind: "ts_rank" } })
          expect(res.stages[0]!.detail).toContain("ts_rank_cd")
          expect(res.hits.length).toBeGreaterThan(0)
          const bad = yield* Effect.flip(r.search("wing", { mode: "sparse", sparse: { kind: "bm25", k1: -1, b: 2 } }))
          expect(bad).toMatchObject({ reason: "bad-config" })
          expect(bad.message).toContain("k1 must be from 0 to 10, got -1")
          expect(bad.message).toContain("b must be from 0 to 1, got 2")
        }))
    })
  })
}
