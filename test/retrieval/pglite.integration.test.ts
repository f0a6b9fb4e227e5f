/**
 * Retrieval on embedded PGlite (with pgvector): ingestion is a no-op on
 * unchanged documents and replaces a changed one's chunks atomically;
 * search returns the evidence package; ef_search < k is refused; EXPLAIN
 * shows the GIN and HNSW indexes in use; the tools work on top.
 */
import { PgClient } from "@effect/sql-pg"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Either, Layer, Stream } from "effect"
import { Embedder } from "../../src/retrieval/embedder.js"
import { layerLocal, makeLocal } from "../../src/retrieval/embedderLocal.js"
import { ingest } from "../../src/retrieval/ingest.js"
import { layerLexical } from "../../src/retrieval/rerank.js"
import { denseSql, SPARSE_SQL, sparseStage } from "../../src/retrieval/search.js"
import { DEFAULT_SETTINGS, layer as retrievalLayer, Retrieval } from "../../src/retrieval/service.js"
import { makeTools } from "../../src/retrieval/tools.js"
import { layerPglite, MEMORY } from "../../src/store/sql.js"
import { invoke } from "../../src/tools/tool.js"

const settings = { ...DEFAULT_SETTINGS, chunking: { kind: "sentence" as const, size: 80, overlap: 0 } }
const TestLayer = Layer.provideMerge(
  retrievalLayer(settings).pipe(Layer.provide(Layer.merge(layerLocal(), layerLexical()))),
  Layer.provideMerge(layerLocal(), layerPglite(MEMORY))
)

const docs = [
  {
    id: "a",
    title: "Wings",
    text: "The aerodynamics of a wing in a propeller slipstream. Lift increases with the slipstream velocity."
  },
  {
    id: "b",
    title: "Heat",
    text: "Heat conduction in composite slabs was solved exactly. The boundary conditions are mixed."
  },
  {
    id: "c",
    title: "Buckling",
    text: "Buckling of thin cylindrical shells under axial compression. Imperfections lower the load."
  }
]

const chunkRows = Effect.flatMap(
  PgClient.PgClient,
  (sql) =>
    sql<
      { id: string; document_id: string; text: string; ingestion_id: string }
    >`SELECT id, document_id, text, ingestion_id FROM retrieval_chunks ORDER BY id`
)

describe("retrieval on PGlite", () => {
  layer(TestLayer, { timeout: "60 seconds" })((it) => {
    it.effect("ingests, and re-ingesting the same documents is a no-op", () =>
      Effect.gen(function*() {
        const r = yield* Retrieval
        const first = yield* r.ingest(docs)
        expect(first).toMatchObject({
          documents: 3,
          added: 3,
          replaced: 0,
          unchanged: 0,
          embedder: "local-hash@1-d384"
        })
        expect(first.chunks).toBe(6)
        const before = yield* chunkRows
        const again = yield* r.ingest(docs.map((d) => ({ ...d, text: `  ${d.text}\r\n` })))
        expect(again).toMatchObject({ documents: 3, added: 0, replaced: 0, unchanged: 3, chunks: 0 })
        expect(yield* chunkRows).toEqual(before)
      }))

    it.effect("a changed document replaces its chunks; a failed replacement leaves the old ones", () =>
      Effect.gen(function*() {
        const r = yield* Retrieval
        const before = yield* chunkRows
        const changed = { ...docs[1]!, text: "Heat transfer in porous walls. Transpiration cooling works." }
        // An embedder returning vectors of the wrong length fails inside the write transaction.
        const broken = {
          ...makeLocal(),
          embed: (texts: ReadonlyArray<string>) => Effect.succeed(texts.map(() => [1, 0, 0]))
        }
        const failed = yield* Effect.either(ingest(Stream.make(changed), broken, settings))
        expect(Either.isLeft(failed)).toBe(true)
        expect(yield* chunkRows).toEqual(before)
        const report = yield* r.ingest([changed])
        expect(report).toMatchObject({ added: 0, replaced: 1, unchanged: 0, chunks: 1 })
        const after = yield* chunkRows
        expect(after.filter((c) => c.document_id === "b").map((c) => [c.id, c.text, c.ingestion_id])).toEqual([
          ["b#0", "Heat transfer in porous walls. Transpiration cooling works.", report.ingestionId]
        ])
        expect(after.filter((c) => c.document_id !== "b")).toEqual(before.filter((c) => c.document_id !== "b"))
      }))

    it.effect("search returns the evidence package with offsets, scores of every stage and lineage", () =>
      Effect.gen(function*() {
        const r = yield* Retrieval
        const sql = yield* PgClient.PgClient
        const result = yield* r.search("wing slipstream lift", { k: 3 })
        expect(result.mode).toBe("hybrid")
        expect(result.stages.map((s) => s.stage)).toEqual(["sparse", "dense", "fuse", "rerank"])
        const top = result.hits[0]!
        expect(top.documentId).toBe("a")
        expect(top.title).toBe("Wings")
        expect(top.scores.sparse).not.toBeNull()
        expect(top.scores.dense).not.toBeNull()
        expect(top.scores.fused).toBeGreaterThan(0)
        // The lexical reranker's score blended with the fused score (both min-max-normalized over the candidates).
        expect(result.stages.at(-1)!.detail).toMatch(/blended with the first stage \(weight 0\.35\)$/)
        expect(top.scores.rerank).toBeGreaterThan(0)
        expect(top.scores.final).toBeGreaterThan(0)
        expect(top.scores.final).toBeLessThanOrEqual(1)
        const finals = result.hits.map((h) => h.scores.final)
        expect(finals).toEqual([...finals].sort((x, y) => y - x))
        const plain = yield* r.search("wing slipstream lift", { k: 3, rerankBlend: 0 })
        expect(plain.hits[0]!.scores.rerank).toBe(plain.hits[0]!.scores.final)
        expect(top.lineage.embedder).toEqual({ name: "local-hash", version: "1-d384" })
        expect(top.lineage.ingestionId).toMatch(/^ing_/)
        for (const hit of result.hits) {
          const [doc] = yield* sql<{ text: string }>`SELECT text FROM retrieval_documents WHERE id = ${hit.documentId}`
          expect(doc!.text.slice(hit.start, hit.end)).toBe(hit.text)
        }
      }))

    it.effect("one query in several modes equals separate searches", () =>
      Effect.gen(function*() {
        const r = yield* Retrieval
        const all = yield* r.searchModes("heat in slabs", ["sparse", "dense", "hybrid"], { k: 4 })
        for (const mode of ["sparse", "dense", "hybrid"] as const) {
          const one = yield* r.search("heat in slabs", { mode, k: 4 })
          expect(all[mode]!.hits.map((h) => [h.chunkId, h.scores])).toEqual(one.hits.map((h) => [h.chunkId, h.scores]))
        }
        expect(all.sparse!.hits[0]!.scores.dense).toBeNull()
        expect(all.dense!.hits[0]!.scores.sparse).toBeNull()
      }))

    it.effect("refuses ef_search < k, and bad queries", () =>
      Effect.gen(function*() {
        const r = yield* Retrieval
        const e = yield* Effect.flip(r.search("wing", { mode: "dense", k: 10, efSearch: 5 }))
        expect(e.message).toBe("ef_search (5) must be at least k (10): HNSW returns at most ef_search neighbours")
        expect((yield* Effect.flip(r.search("  "))).message).toBe("the query is empty")
        const ok = yield* r.search("wing", { mode: "dense", k: 2, efSearch: 2 })
        expect(ok.hits).toHaveLength(2)
      }))

    it.effect("EXPLAIN shows the GIN index serving the sparse query and HNSW serving the dense one", () =>
      Effect.gen(function*() {
        const sql = yield* PgClient.PgClient
        const embedder = yield* Embedder
        const vector = `[${(yield* embedder.embed(["wing slipstream"]))[0]!.join(",")}]`
        const plans = yield* sql.withTransaction(Effect.gen(function*() {
          yield* sql.unsafe("SET LOCAL enable_seqscan = off")
          yield* sql.unsafe("SET LOCAL hnsw.ef_search = 40")
          const sparse = yield* sql.unsafe<{ "QUERY PLAN": string }>(`EXPLAIN ${SPARSE_SQL}`, ["wing slipstream", 10])
          const dense = yield* sql.unsafe<{ "QUERY PLAN": string }>(`EXPLAIN ${denseSql(384)}`, [
            vector,
            10,
            "local-hash@1-d384"
          ])
          return {
            sparse: sparse.map((r) => r["QUERY PLAN"]).join("\n"),
            dense: dense.map((r) => r["QUERY PLAN"]).join("\n")
          }
        }))
        expect(plans.sparse).toContain("Bitmap Index Scan on retrieval_chunks_tsv")
        expect(plans.dense).toContain("Index Scan using retrieval_vectors_384_hnsw")
        // The stage's own query runs and agrees with the plan's shape.
        const hits = yield* sparseStage("wing slipstream", 10)
        expect(hits[0]!.id).toBe("a#0")
      }))

    it.effect("the tools ingest and search", () =>
      Effect.gen(function*() {
        const r = yield* Retrieval
        const [ingestTool, searchTool] = makeTools(r)
        const ingested = yield* invoke(ingestTool, {
          documents: [{ id: "d", text: "Supersonic flutter of panels at high Mach numbers." }]
        })
        expect(ingested).toMatchObject({ documents: 1, added: 1, chunks: 1 })
        const hits = yield* invoke(searchTool, { query: "panel flutter", k: 1, documents: true })
        expect(hits).toMatchObject([{ rank: 1, documentId: "d", chunkId: "d#0", start: 0, end: 50 }])
        const bad = yield* Effect.flip(invoke(searchTool, { query: "x", k: 3, efSearch: 2, mode: "dense" }))
        expect(bad).toMatchObject({
          _tag: "Permanent",
          message: "ef_search (2) must be at least k (3): HNSW returns at most ef_search neighbours"
        })
      }))
  })
})
