/**
 * Sparse-only retrieval on every test backend (PGlite, and PostgreSQL when
 * TRELLIS_TEST_DATABASE_URL is set — that server has no pgvector): the
 * tables migrate, sparse ingestion and search work, and on a server without
 * pgvector every dense or hybrid request fails with one clear error.
 */
import { SqlClient } from "@effect/sql/SqlClient"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { layerLocal } from "../../src/retrieval/embedderLocal.js"
import { VECTOR_UNAVAILABLE_MESSAGE } from "../../src/retrieval/errors.js"
import { layerLexical } from "../../src/retrieval/rerank.js"
import { layer as retrievalLayer, Retrieval } from "../../src/retrieval/service.js"
import { Database } from "../../src/store/sql.js"
import { testBackends } from "../support/db.js"

const docs = [
  { id: "1", title: "Slipstream", text: "An experimental study of a wing in a propeller slipstream." },
  { id: "2", title: "Slabs", text: "Heat conduction in composite slabs with mixed boundary conditions." }
]

for (const backend of testBackends()) {
  describe(backend.name, () => {
    const TestLayer = Layer.provideMerge(
      retrievalLayer().pipe(Layer.provide(Layer.merge(layerLocal(), layerLexical()))),
      backend.layer
    )
    layer(TestLayer, { timeout: "60 seconds" })((it) => {
      it.effect("sparse-only ingestion and search work", () =>
        Effect.gen(function*() {
          const r = yield* Retrieval
          const report = yield* r.ingest(docs, { sparseOnly: true })
          expect(report).toMatchObject({ documents: 2, added: 2, chunks: 2, embedder: null })
          expect(yield* r.ingest(docs, { sparseOnly: true })).toMatchObject({ unchanged: 2, added: 0 })
          const result = yield* r.search("propeller slipstream wing", { mode: "sparse", k: 5 })
          expect(result.hits.map((h) => h.documentId)).toEqual(["1"])
          expect(result.hits[0]!.lineage.embedder).toBeNull()
          expect(result.hits[0]!.scores.rerank).toBeGreaterThan(0)
        }))

      it.effect("dense and hybrid need pgvector", () =>
        Effect.gen(function*() {
          const db = yield* Database
          const r = yield* Retrieval
          if (db.vectorAvailable) {
            expect(backend.name).toBe("pglite")
            return
          }
          const sql = yield* SqlClient
          const tables = yield* sql<
            { n: number }
          >`SELECT count(*)::int AS n FROM pg_tables WHERE tablename LIKE 'retrieval_vectors_%'`
          expect(tables[0]!.n).toBe(0)
          for (const mode of ["dense", "hybrid"] as const) {
            const e = yield* Effect.flip(r.search("wing", { mode }))
            expect(e).toMatchObject({
              _tag: "RetrievalError",
              reason: "vector-unavailable",
              message: VECTOR_UNAVAILABLE_MESSAGE
            })
          }
          const e = yield* Effect.flip(r.ingest(docs))
          expect(e.message).toBe(
            "the PostgreSQL server has no pgvector extension (vector); dense and hybrid search need it — use --sparse-only or a server with pgvector"
          )
        }))
    })
  })
}
