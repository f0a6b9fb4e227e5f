/**
 * The retrieval tables and their migrations. The core (ingestions,
 * documents, chunks with a generated `tsvector` column and its GIN index)
 * migrates with `@effect/sql`'s Migrator under its own table
 * `trellis_retrieval_migrations`, on every backend. The dense part needs
 * pgvector, so it lives in a separate table per dimension,
 * `retrieval_vectors_<d>` (`vector(d)` column, HNSW index with the
 * configured `m` and `ef_construction`), created by `ensureVectorSpace` only
 * where the `vector` extension is available. A PostgreSQL server without
 * pgvector therefore migrates and serves sparse search, and every dense
 * request fails with one `vector-unavailable` error.
 */
import * as Migrator from "@effect/sql/Migrator"
import { SqlClient } from "@effect/sql/SqlClient"
import { Effect } from "effect"
import { Database } from "../store/sql.js"
import { databaseError, RetrievalError, vectorUnavailable } from "./errors.js"

/** The Migrator's bookkeeping table for retrieval (separate from the store's). */
const MIGRATIONS_TABLE = "trellis_retrieval_migrations"

const core = Effect.gen(function*() {
  const sql = yield* SqlClient
  yield* sql`CREATE TABLE retrieval_ingestions (
    id text PRIMARY KEY,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    source text NOT NULL DEFAULT '',
    embedder text,
    chunking jsonb NOT NULL,
    added integer NOT NULL DEFAULT 0,
    replaced integer NOT NULL DEFAULT 0,
    unchanged integer NOT NULL DEFAULT 0,
    chunks integer NOT NULL DEFAULT 0
  )`
  yield* sql`CREATE TABLE retrieval_documents (
    id text PRIMARY KEY,
    title text NOT NULL,
    text text NOT NULL,
    metadata jsonb NOT NULL,
    content_hash text NOT NULL,
    index_key text NOT NULL,
    ingestion_id text NOT NULL REFERENCES retrieval_ingestions (id),
    updated_at timestamptz NOT NULL DEFAULT now()
  )`
  yield* sql`CREATE TABLE retrieval_chunks (
    id text PRIMARY KEY,
    document_id text NOT NULL REFERENCES retrieval_documents (id) ON DELETE CASCADE,
    ordinal integer NOT NULL,
    start_offset integer NOT NULL,
    end_offset integer NOT NULL,
    section text NOT NULL,
    heading text NOT NULL,
    text text NOT NULL,
    token_count integer NOT NULL DEFAULT 0,
    ingestion_id text NOT NULL REFERENCES retrieval_ingestions (id),
    embedder text,
    tsv tsvector GENERATED ALWAYS AS (
      setweight(to_tsvector('english', heading), 'A') || setweight(to_tsvector('english', text), 'D')
    ) STORED,
    UNIQUE (document_id, ordinal)
  )`
  yield* sql`CREATE INDEX retrieval_chunks_tsv ON retrieval_chunks USING gin (tsv)`
  yield* sql`CREATE INDEX retrieval_chunks_ingestion ON retrieval_chunks (ingestion_id)`
  yield* sql`CREATE TABLE retrieval_vector_spaces (
    dimension integer PRIMARY KEY,
    m integer NOT NULL,
    ef_construction integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
  )`
})

/**
 * Exact BM25: one posting per (term, chunk) with the term frequency under
 * the collection's analyzer (a PostgreSQL text search configuration), each
 * chunk's analyzed length, and the collection statistics (chunks, total
 * length) in one row. Existing chunks are indexed with the default analyzer
 * (`english`).
 */
const bm25 = Effect.gen(function*() {
  const sql = yield* SqlClient
  yield* sql`ALTER TABLE retrieval_chunks ADD COLUMN bm25_length integer NOT NULL DEFAULT 0`
  yield* sql`CREATE TABLE retrieval_postings (
    term text NOT NULL,
    chunk_id text NOT NULL REFERENCES retrieval_chunks (id) ON DELETE CASCADE,
    tf integer NOT NULL,
    PRIMARY KEY (term, chunk_id)
  )`
  yield* sql`CREATE INDEX retrieval_postings_chunk ON retrieval_postings (chunk_id)`
  yield* sql`CREATE TABLE retrieval_bm25_stats (
    id smallint PRIMARY KEY CHECK (id = 1),
    analyzer text NOT NULL,
    chunks bigint NOT NULL,
    total_length bigint NOT NULL
  )`
  yield* sql`INSERT INTO retrieval_postings (term, chunk_id, tf)
    SELECT t.lexeme, c.id, cardinality(t.positions)
    FROM retrieval_chunks c, unnest(to_tsvector('english'::regconfig, c.heading || ' ' || c.text)) t`
  yield* sql`UPDATE retrieval_chunks c SET bm25_length = s.len
    FROM (SELECT chunk_id, sum(tf)::int AS len FROM retrieval_postings GROUP BY chunk_id) s WHERE s.chunk_id = c.id`
  yield* sql`INSERT INTO retrieval_bm25_stats (id, analyzer, chunks, total_length)
    SELECT 1, 'english', count(*), coalesce(sum(bm25_length), 0) FROM retrieval_chunks`
})

/** Runs the retrieval migrations (forward only, numbered). */
export const migrate: Effect.Effect<void, RetrievalError, SqlClient> = Migrator.make({})({
  loader: Migrator.fromRecord({ "1_retrieval_core": core, "2_retrieval_bm25": bm25 }),
  table: MIGRATIONS_TABLE
}).pipe(Effect.asVoid, Effect.mapError(databaseError("cannot migrate the retrieval tables")))

/** HNSW build parameters. */
export interface HnswParams {
  /** Links per node. @default 16 */
  readonly m: number
  /** Candidate list size while building. @default 64 */
  readonly efConstruction: number
}

/** The default HNSW parameters (pgvector's defaults). */
export const DEFAULT_HNSW: HnswParams = { m: 16, efConstruction: 64 }

/** The largest dimension pgvector's HNSW index takes for `vector`. */
const MAX_HNSW_DIMENSION = 2000

/** The name of the vector table of a dimension. */
export const vectorTable = (dimension: number): string => `retrieval_vectors_${dimension}`

/** What is wrong with HNSW parameters and a dimension (empty when valid). */
export const hnswProblems = (dimension: number, p: HnswParams): ReadonlyArray<string> => {
  const problems: Array<string> = []
  if (!Number.isInteger(dimension) || dimension < 1 || dimension > MAX_HNSW_DIMENSION) {
    problems.push(
      `the embedding dimension must be an integer from 1 to ${MAX_HNSW_DIMENSION} (pgvector's HNSW limit), got ${dimension}`
    )
  }
  if (!Number.isInteger(p.m) || p.m < 2 || p.m > 100) {
    problems.push(`hnsw m must be an integer from 2 to 100, got ${p.m}`)
  }
  if (!Number.isInteger(p.efConstruction) || p.efConstruction < 4 || p.efConstruction > 1000) {
    problems.push(`hnsw ef_construction must be an integer from 4 to 1000, got ${p.efConstruction}`)
  } else if (p.efConstruction < 2 * p.m) {
    problems.push(`hnsw ef_construction (${p.efConstruction}) must be at least 2 × m (${2 * p.m})`)
  }
  return problems
}

/**
 * Creates (if missing) the `vector` extension and the vector table of
 * `dimension`, records the HNSW parameters of its index, and returns the
 * parameters in force (a dimension created earlier keeps its own). The
 * index itself is built by `ensureVectorIndex` after the first bulk load
 * (building an HNSW graph over loaded rows is about 3× faster than inserting
 * into it row by row). Fails with `vector-unavailable` on a server without
 * pgvector.
 */
export const ensureVectorSpace = (
  dimension: number,
  params: HnswParams
): Effect.Effect<HnswParams, RetrievalError, SqlClient | Database> =>
  Effect.gen(function*() {
    const db = yield* Database
    if (!db.vectorAvailable) return yield* vectorUnavailable()
    const problems = hnswProblems(dimension, params)
    if (problems.length > 0) return yield* new RetrievalError({ reason: "bad-config", message: problems.join("; ") })
    const sql = yield* SqlClient
    const table = vectorTable(dimension)
    const existing = yield* sql<
      { m: number; ef_construction: number }
    >`SELECT m, ef_construction FROM retrieval_vector_spaces WHERE dimension = ${dimension}`
    if (existing[0] !== undefined) return { m: existing[0].m, efConstruction: existing[0].ef_construction }
    yield* sql.withTransaction(Effect.gen(function*() {
      yield* sql.unsafe(`CREATE EXTENSION IF NOT EXISTS vector`)
      yield* sql.unsafe(`CREATE TABLE IF NOT EXISTS ${table} (
        chunk_id text NOT NULL REFERENCES retrieval_chunks (id) ON DELETE CASCADE,
        embedder text NOT NULL,
        embedding vector(${dimension}) NOT NULL,
        PRIMARY KEY (chunk_id, embedder)
      )`)
      yield* sql`INSERT INTO retrieval_vector_spaces (dimension, m, ef_construction) VALUES (${dimension}, ${params.m}, ${params.efConstruction}) ON CONFLICT (dimension) DO NOTHING`
    }))
    return params
  }).pipe(Effect.catchTag("SqlError", databaseError(`cannot create the vector table for dimension ${dimension}`)))

/** The name of the HNSW index of a dimension's vector table. */
const vectorIndex = (dimension: number): string => `${vectorTable(dimension)}_hnsw`

/** Builds the HNSW index of a dimension's vector table when it does not exist yet, with the recorded `m` and `ef_construction`. */
export const ensureVectorIndex = (dimension: number): Effect.Effect<void, RetrievalError, SqlClient> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient
    const rows = yield* sql<
      { m: number; ef_construction: number }
    >`SELECT m, ef_construction FROM retrieval_vector_spaces WHERE dimension = ${dimension}`
    const p = rows[0]
    if (p === undefined) return
    yield* sql.unsafe(
      `CREATE INDEX IF NOT EXISTS ${vectorIndex(dimension)} ON ${
        vectorTable(dimension)
      } USING hnsw (embedding vector_cosine_ops) WITH (m = ${Number(p.m)}, ef_construction = ${
        Number(p.ef_construction)
      })`
    )
  }).pipe(
    Effect.catchTag("SqlError", databaseError(`cannot build the HNSW index for dimension ${dimension}`)),
    Effect.withSpan("retrieval.hnsw.build", { attributes: { "retrieval.dimension": dimension } })
  )

/** Whether the vector table of a dimension exists (it does once something was ingested densely). */
export const hasVectorSpace = (dimension: number): Effect.Effect<boolean, RetrievalError, SqlClient> =>
  Effect.flatMap(
    SqlClient,
    (sql) => sql<{ n: number }>`SELECT count(*)::int AS n FROM retrieval_vector_spaces WHERE dimension = ${dimension}`
  ).pipe(
    Effect.map((rows) => (rows[0]?.n ?? 0) > 0),
    Effect.mapError(databaseError("cannot read the vector spaces"))
  )
