/**
 * Exact Okapi BM25 in SQL, the same statements on PGlite and PostgreSQL.
 * The analyzer is a PostgreSQL text search configuration (`english`:
 * Snowball English stemmer and stop words, the default; `simple`: lowercase,
 * no stemming, no stop words; any other installed configuration by name).
 * Each chunk (its heading and text) is analyzed once at ingestion into
 * `retrieval_postings (term, chunk_id, tf)`, its analyzed length into
 * `retrieval_chunks.bm25_length`, and the collection statistics (number of
 * chunks N, total length) into `retrieval_bm25_stats`, all in the ingestion's
 * transaction. A query is analyzed the same way; each term's document
 * frequency is counted over the postings' primary key (term, chunk_id), and
 *
 *   score(q, d) = Σ_t w_t · ln(1 + (N − df_t + 0.5) / (df_t + 0.5))
 *                 · tf · (k1 + 1) / (tf + k1 · (1 − b + b · dl / avgdl))
 *
 * with w_t the term's count in the query (or its RM3 weight), dl the chunk's
 * analyzed length and avgdl = total length / N.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { SqlClient } from "@effect/sql/SqlClient"
import { Effect } from "effect"
import { databaseError, RetrievalError } from "./errors.js"
import type { Ranked } from "./fusion.js"

/** BM25 parameters. */
export interface Bm25Params {
  /** Term-frequency saturation. */
  readonly k1: number
  /** Length normalization, from 0 (none) to 1 (full). */
  readonly b: number
}

/**
 * The default BM25 parameters: tuned by `scripts/tune-retrieval.ts` on the
 * training data (cranfield and the SciFact train split), chunk-level BM25
 * with the `english` analyzer; see docs/retrieval.md for the grid.
 */
export const DEFAULT_BM25: Bm25Params = { k1: 1.5, b: 0.5 }

/** The default analyzer: PostgreSQL's `english` configuration (Snowball stemmer, stop words). */
export const DEFAULT_ANALYZER = "english"

/** How the sparse stage ranks: exact BM25 over the postings, or `ts_rank_cd` over the `tsvector` (always `english`). */
export type Sparse =
  | { readonly kind: "bm25"; readonly k1: number; readonly b: number }
  | { readonly kind: "ts_rank" }

/** The default sparse ranking: BM25 with the tuned parameters. */
export const DEFAULT_SPARSE: Sparse = { kind: "bm25", ...DEFAULT_BM25 }

/** What is wrong with a sparse setting (empty when valid). */
export const sparseProblems = (s: Sparse): ReadonlyArray<string> => {
  if (s.kind === "ts_rank") return []
  if (s.kind !== "bm25") {
    return [`unknown sparse ranking "${String((s as { kind: unknown }).kind)}": use bm25 or ts_rank`]
  }
  const problems: Array<string> = []
  if (!Number.isFinite(s.k1) || s.k1 < 0 || s.k1 > 10) problems.push(`bm25 k1 must be from 0 to 10, got ${s.k1}`)
  if (!Number.isFinite(s.b) || s.b < 0 || s.b > 1) problems.push(`bm25 b must be from 0 to 1, got ${s.b}`)
  return problems
}

/** What is wrong with an analyzer name (syntax only; `checkAnalyzer` asks the database). */
export const analyzerProblems = (analyzer: string): ReadonlyArray<string> =>
  typeof analyzer === "string" && /^[a-z_][a-z0-9_]{0,62}$/.test(analyzer)
    ? []
    : [`the analyzer must be a text search configuration name (e.g. english, simple), got ${JSON.stringify(analyzer)}`]

/** Fails with `bad-config` when the database has no text search configuration of that name. */
export const checkAnalyzer = (analyzer: string): Effect.Effect<void, RetrievalError, SqlClient> =>
  Effect.gen(function*() {
    const syntax = analyzerProblems(analyzer)
    if (syntax.length > 0) return yield* new RetrievalError({ reason: "bad-config", message: syntax.join("; ") })
    const sql = yield* SqlClient
    const rows = yield* sql<{ name: string }>`SELECT cfgname AS name FROM pg_ts_config ORDER BY cfgname`
    if (rows.some((r) => r.name === analyzer)) return
    return yield* new RetrievalError({
      reason: "bad-config",
      message: `unknown analyzer "${analyzer}": this database has the text search configurations ${
        rows.map((r) => r.name).join(", ")
      }`
    })
  }).pipe(Effect.catchTag("SqlError", databaseError("cannot read the text search configurations")))

/** The analyzer the postings were built with. */
const recordedAnalyzer = Effect.flatMap(
  SqlClient,
  (sql) => sql<{ analyzer: string }>`SELECT analyzer FROM retrieval_bm25_stats WHERE id = 1`
).pipe(Effect.map((rows) => rows[0]?.analyzer))

/**
 * Makes the postings match `analyzer`: checks it exists and, when the
 * postings were built with another one, rebuilds every posting, length and
 * the statistics in one transaction. Returns whether it rebuilt.
 */
export const ensureAnalyzer = (analyzer: string): Effect.Effect<boolean, RetrievalError, SqlClient> =>
  Effect.gen(function*() {
    yield* checkAnalyzer(analyzer)
    const sql = yield* SqlClient
    if ((yield* recordedAnalyzer) === analyzer) return false
    yield* sql.withTransaction(Effect.gen(function*() {
      yield* sql`DELETE FROM retrieval_postings`
      yield* sql`INSERT INTO retrieval_postings (term, chunk_id, tf)
        SELECT t.lexeme, c.id, cardinality(t.positions)
        FROM retrieval_chunks c, unnest(to_tsvector(${analyzer}::regconfig, c.heading || ' ' || c.text)) t`
      yield* sql`UPDATE retrieval_chunks c SET bm25_length = coalesce(
        (SELECT sum(p.tf) FROM retrieval_postings p WHERE p.chunk_id = c.id), 0)::int`
      yield* sql`INSERT INTO retrieval_bm25_stats (id, analyzer, chunks, total_length)
        SELECT 1, ${analyzer}, count(*), coalesce(sum(bm25_length), 0) FROM retrieval_chunks
        ON CONFLICT (id) DO UPDATE SET analyzer = EXCLUDED.analyzer, chunks = EXCLUDED.chunks,
          total_length = EXCLUDED.total_length`
    }))
    return true
  }).pipe(
    Effect.catchTag("SqlError", databaseError(`cannot index the chunks with the analyzer ${analyzer}`)),
    Effect.withSpan("retrieval.bm25.analyzer", { attributes: { "retrieval.analyzer": analyzer } })
  )

/**
 * Removes the chunks of these documents from the statistics (call in the
 * transaction, before deleting them; their postings go with them by cascade).
 */
export const unindexDocuments = (documentIds: ReadonlyArray<string>) =>
  Effect.flatMap(
    SqlClient,
    (sql) =>
      sql`UPDATE retrieval_bm25_stats s SET chunks = s.chunks - old.n, total_length = s.total_length - old.len
      FROM (SELECT count(*) AS n, coalesce(sum(bm25_length), 0) AS len FROM retrieval_chunks
            WHERE document_id IN ${sql.in(documentIds)}) old
      WHERE s.id = 1`
  )

/**
 * Writes the postings and lengths of these documents' chunks with the
 * recorded analyzer and adds them to the statistics (call in the
 * transaction, after inserting the chunks).
 */
export const indexDocuments = (documentIds: ReadonlyArray<string>) =>
  Effect.flatMap(SqlClient, (sql) =>
    Effect.gen(function*() {
      yield* sql`INSERT INTO retrieval_postings (term, chunk_id, tf)
        SELECT t.lexeme, c.id, cardinality(t.positions)
        FROM retrieval_chunks c,
          unnest(to_tsvector((SELECT analyzer FROM retrieval_bm25_stats WHERE id = 1)::regconfig, c.heading || ' ' || c.text)) t
        WHERE c.document_id IN ${sql.in(documentIds)}`
      yield* sql`UPDATE retrieval_chunks c SET bm25_length = coalesce(
        (SELECT sum(p.tf) FROM retrieval_postings p WHERE p.chunk_id = c.id), 0)::int
        WHERE c.document_id IN ${sql.in(documentIds)}`
      yield* sql`UPDATE retrieval_bm25_stats s SET chunks = s.chunks + new.n, total_length = s.total_length + new.len
        FROM (SELECT count(*) AS n, coalesce(sum(bm25_length), 0) AS len FROM retrieval_chunks
              WHERE document_id IN ${sql.in(documentIds)}) new
        WHERE s.id = 1`
    }))

/** A weighted query term. */
export interface QueryTerm {
  readonly term: string
  readonly weight: number
}

/** The query's terms under the recorded analyzer, weighted by their count in the query, in order of first occurrence. */
export const analyzeQuery = (query: string): Effect.Effect<ReadonlyArray<QueryTerm>, RetrievalError, SqlClient> =>
  Effect.flatMap(SqlClient, (sql) =>
    sql<{ term: string; weight: number }>`
      SELECT t.lexeme AS term, cardinality(t.positions)::float8 AS weight
      FROM unnest(to_tsvector((SELECT analyzer FROM retrieval_bm25_stats WHERE id = 1)::regconfig, ${query})) t
      ORDER BY t.positions[1]`).pipe(
      Effect.map((rows) => rows.map((r) => ({ term: r.term, weight: Number(r.weight) }))),
      Effect.mapError(databaseError("cannot analyze the query"))
    )

/**
 * The BM25 statement: `$1` terms, `$2` their weights, `$3` k1, `$4` b,
 * `$5` the limit. Document frequencies come from the postings' primary key,
 * N and avgdl from the statistics row; ties are broken by chunk id.
 */
export const BM25_SQL = `WITH q AS (
  SELECT t.term, sum(t.weight)::float8 AS weight FROM unnest($1::text[], $2::float8[]) AS t(term, weight) GROUP BY t.term
), s AS (
  SELECT chunks::float8 AS n, CASE WHEN chunks > 0 THEN total_length::float8 / chunks ELSE 1 END AS avgdl
  FROM retrieval_bm25_stats WHERE id = 1
), w AS (
  SELECT q.term, q.weight * ln(1 + (s.n - df.df + 0.5) / (df.df + 0.5)) AS idf
  FROM q CROSS JOIN s CROSS JOIN LATERAL (
    SELECT count(*)::float8 AS df FROM retrieval_postings p WHERE p.term = q.term
  ) df
  WHERE df.df > 0
)
SELECT p.chunk_id AS id,
  sum(w.idf * p.tf * ($3::float8 + 1) / (p.tf + $3::float8 * (1 - $4::float8 + $4::float8 * c.bm25_length / s.avgdl)))::float8 AS score
FROM w
JOIN retrieval_postings p ON p.term = w.term
JOIN retrieval_chunks c ON c.id = p.chunk_id
CROSS JOIN s
GROUP BY p.chunk_id
ORDER BY score DESC, p.chunk_id
LIMIT $5`

/** Ranks chunks by BM25 for weighted terms, best first. */
export const bm25Rank = (
  terms: ReadonlyArray<QueryTerm>,
  params: Bm25Params,
  limit: number
): Effect.Effect<ReadonlyArray<Ranked>, RetrievalError, PgClient.PgClient> =>
  terms.length === 0 ?
    Effect.succeed([]) :
    Effect.flatMap(PgClient.PgClient, (sql) =>
      sql.unsafe<{ id: string; score: number }>(BM25_SQL, [
        terms.map((t) => t.term),
        terms.map((t) => t.weight),
        params.k1,
        params.b,
        limit
      ])).pipe(
        Effect.map((rows): ReadonlyArray<Ranked> => rows.map((r) => ({ id: r.id, score: Number(r.score) }))),
        Effect.mapError(databaseError("BM25 search failed"))
      )
