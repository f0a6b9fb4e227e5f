/**
 * The `Retrieval` service: ingestion and search over one store, with one
 * embedder and (optionally) a reranker. `layer(settings)` migrates the
 * retrieval tables when it is built; `layerDefault` wires the usual stack
 * (local or OpenAI-compatible embedder, lexical reranker) over a SQL layer.
 */
import type { PgClient } from "@effect/sql-pg"
import { SqlClient } from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Context, Effect, Layer, Stream } from "effect"
import { Database } from "../store/sql.js"
import { analyzerProblems, DEFAULT_ANALYZER, DEFAULT_SPARSE, ensureAnalyzer, sparseProblems } from "./bm25.js"
import type { Sparse } from "./bm25.js"
import { DEFAULT_CHUNKING, strategyProblems } from "./chunk.js"
import type { ChunkStrategy } from "./chunk.js"
import { Embedder } from "./embedder.js"
import type { EmbedderShape } from "./embedder.js"
import { layerLocal } from "./embedderLocal.js"
import { layerEmbedderFromEnv as embedderFromEnv, layerRerankerFromEnv } from "./embedderSelect.js"
import { databaseError, RetrievalError } from "./errors.js"
import { DEFAULT_FUSION, fusionProblems } from "./fusion.js"
import type { Fusion } from "./fusion.js"
import { ingest } from "./ingest.js"
import type { IngestOptions, IngestReport } from "./ingest.js"
import { layerLexical, Reranker } from "./rerank.js"
import type { LexicalOptions } from "./rerank.js"
import { rm3Problems } from "./rm3.js"
import type { Rm3 } from "./rm3.js"
import { DEFAULT_HNSW, hnswProblems, migrate } from "./schema.js"
import type { HnswParams } from "./schema.js"
import { search, searchModes } from "./search.js"
import type { SearchMode, SearchOptions, SearchResult } from "./search.js"
import type { DocumentInput } from "./textNormalize.js"

const isStream = <E, R>(
  u: Iterable<DocumentInput> | Stream.Stream<DocumentInput, E, R>
): u is Stream.Stream<DocumentInput, E, R> => typeof u === "object" && u !== null && Stream.StreamTypeId in u

/** Settings of the service. */
export interface RetrievalSettings {
  /** @default recursive, 1,000 code units, no overlap */
  readonly chunking: ChunkStrategy
  /** Used when the vector table of the embedder's dimension is first created. @default m 16, ef_construction 64 */
  readonly hnsw: HnswParams
  /** Documents per ingestion group (one transaction each). @default 64 */
  readonly groupSize: number
  /** @default alpha blend, dense weight 0.2 (tuned on the training data) */
  readonly fusion: Fusion
  /** The BM25 analyzer: a PostgreSQL text search configuration (`english`, `simple`, …); changing it re-indexes. @default "english" */
  readonly analyzer: string
  /** The sparse ranking. @default BM25, k1 1.5, b 0.5 */
  readonly sparse: Sparse
  /** RM3 query expansion of the sparse stage, or false. @default false */
  readonly rm3: Rm3 | false
}

/** The default settings. */
export const DEFAULT_SETTINGS: RetrievalSettings = {
  chunking: DEFAULT_CHUNKING,
  hnsw: DEFAULT_HNSW,
  groupSize: 64,
  fusion: DEFAULT_FUSION,
  analyzer: DEFAULT_ANALYZER,
  sparse: DEFAULT_SPARSE,
  rm3: false
}

/** The retrieval service. */
export interface RetrievalShape {
  readonly settings: RetrievalSettings
  readonly embedder: EmbedderShape
  /** Whether dense and hybrid search can run here (pgvector present). */
  readonly vectorAvailable: boolean
  /** Ingests documents (an array or a stream); see `ingest.ts`. */
  readonly ingest: <E = never, R = never>(
    documents: Iterable<DocumentInput> | Stream.Stream<DocumentInput, E, R>,
    options?: IngestOptions
  ) => Effect.Effect<IngestReport, E | RetrievalError, R>
  /** Searches; see `search.ts`. */
  readonly search: (query: string, options?: SearchOptions) => Effect.Effect<SearchResult, RetrievalError>
  /** Runs one query in several modes, sharing the stages they have in common (same results as `search` per mode). */
  readonly searchModes: (
    query: string,
    modes: ReadonlyArray<SearchMode>,
    options?: Omit<SearchOptions, "mode">
  ) => Effect.Effect<Partial<Record<SearchMode, SearchResult>>, RetrievalError>
  /** How many documents and chunks the store holds. */
  readonly stats: Effect.Effect<{ readonly documents: number; readonly chunks: number }, RetrievalError>
}

/** Retrieval over the store in context. */
export class Retrieval extends Context.Tag("trellis/Retrieval")<Retrieval, RetrievalShape>() {}

/** What is wrong with the settings (empty when valid). */
const settingsProblems = (s: RetrievalSettings, dimension: number): ReadonlyArray<string> => [
  ...strategyProblems(s.chunking),
  ...hnswProblems(dimension, s.hnsw),
  ...fusionProblems(s.fusion),
  ...analyzerProblems(s.analyzer),
  ...sparseProblems(s.sparse),
  ...(s.rm3 === false ? [] : rm3Problems(s.rm3)),
  ...(Number.isInteger(s.groupSize) && s.groupSize >= 1
    ? []
    : [`groupSize must be a positive integer, got ${s.groupSize}`])
]

/**
 * The service over the SQL client, `Database` and `Embedder` in context; a
 * `Reranker` in context at build time becomes the rerank stage. Migrates
 * the retrieval tables; fails with `bad-config` on invalid settings.
 */
export const layer = (
  settings: Partial<RetrievalSettings> = {}
): Layer.Layer<Retrieval, RetrievalError, SqlClient | PgClient.PgClient | Database | Embedder> =>
  Layer.effect(
    Retrieval,
    Effect.gen(function*() {
      const s: RetrievalSettings = { ...DEFAULT_SETTINGS, ...settings }
      const embedder = yield* Embedder
      const problems = settingsProblems(s, embedder.dimension)
      if (problems.length > 0) return yield* new RetrievalError({ reason: "bad-config", message: problems.join("; ") })
      yield* migrate
      yield* ensureAnalyzer(s.analyzer)
      const context = yield* Effect.context<SqlClient | PgClient.PgClient | Database>()
      const db = yield* Database
      const reranker = yield* Effect.serviceOption(Reranker)
      const searchContext = { embedder, reranker, fusion: s.fusion, sparse: s.sparse, rm3: s.rm3 }
      const stats = Effect.flatMap(SqlClient, (sql) =>
        sql<{ documents: number; chunks: number }>`SELECT (SELECT count(*) FROM retrieval_documents)::int AS documents,
          (SELECT count(*) FROM retrieval_chunks)::int AS chunks`).pipe(
          Effect.map((rows) => ({ documents: rows[0]?.documents ?? 0, chunks: rows[0]?.chunks ?? 0 })),
          Effect.mapError(databaseError("cannot count the documents")),
          Effect.provide(context)
        )
      return {
        settings: s,
        embedder,
        vectorAvailable: db.vectorAvailable,
        ingest: <E, R>(
          documents: Iterable<DocumentInput> | Stream.Stream<DocumentInput, E, R>,
          options?: IngestOptions
        ) =>
          ingest(isStream(documents) ? documents : Stream.fromIterable(documents), embedder, s, options).pipe(
            Effect.provide(context)
          ),
        search: (query, options) =>
          search(searchContext, query, options).pipe(Effect.provide(context)),
        searchModes: (query, modes, options) =>
          searchModes(searchContext, query, modes, options).pipe(Effect.provide(context)),
        stats
      } satisfies RetrievalShape
    })
  )

/** Options of `layerDefault`. */
export interface DefaultStackOptions {
  readonly settings?: Partial<RetrievalSettings>
  /** The local embedder's dimension when no OpenAI-compatible endpoint is configured. @default 384 */
  readonly dimension?: number
  /** Use the OpenAI-compatible embedder configured in the environment (see `openAiOptionsFromEnv`) when there is one. @default true */
  readonly embedderFromEnv?: boolean
  /** The lexical reranker's options, or false for no rerank stage. @default the reranker of `TRELLIS_RERANKER` (lexical when unset) */
  readonly reranker?: LexicalOptions | false
}

/** The embedder the environment asks for (`TRELLIS_EMBEDDER`, else OpenAI-compatible when configured, else the offline default); see `embedderSelect.ts`. */
export const layerEmbedderFromEnv: (dimension?: number) => Layer.Layer<Embedder, RetrievalError> = embedderFromEnv

/**
 * The whole stack over a SQL layer (e.g. `layerFromEnv` or `layerPglite(MEMORY)`):
 * `Retrieval` with its embedder and the lexical reranker; the SQL services
 * are provided, not exposed.
 */
export const layerDefault = <E>(
  sqlLayer: Layer.Layer<SqlClient | PgClient.PgClient | Database, E>,
  options: DefaultStackOptions = {}
): Layer.Layer<Retrieval | Database, E | RetrievalError | SqlError> => {
  const embedder = options.embedderFromEnv === false
    ? layerLocal(options.dimension === undefined ? {} : { dimension: options.dimension })
    : layerEmbedderFromEnv(options.dimension)
  const reranker = options.reranker === false
    ? Layer.empty
    : options.reranker === undefined
    ? layerRerankerFromEnv()
    : layerLexical(options.reranker)
  const service = layer(options.settings ?? {}).pipe(Layer.provide(Layer.merge(embedder, reranker)))
  return Layer.provideMerge(service, sqlLayer)
}
