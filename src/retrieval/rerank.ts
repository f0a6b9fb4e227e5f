/**
 * The rerank hook: a `Reranker` service rescoring the fused candidates of a
 * query. Shipped: a lexical reranker scoring each candidate chunk with
 * BM25 (k1, b) over PostgreSQL's own English lexemes (the chunk's
 * `tsvector`, so stemming matches the sparse stage), heading lexemes
 * counting `headingBoost` times, document frequencies counted through the
 * GIN index over all chunks, and chunk lengths in tokens. The final score
 * is the BM25 score; the fused rank breaks ties.
 */
import { SqlClient } from "@effect/sql/SqlClient"
import { Context, Effect, Layer } from "effect"
import { databaseError } from "./errors.js"
import type { RetrievalError } from "./errors.js"

/** A candidate given to a reranker. */
export interface RerankCandidate {
  readonly chunkId: string
  readonly text: string
  readonly heading: string
}

/** A reranker: scores candidates for a query (one score per candidate, same order; higher is better). */
export interface RerankerShape {
  readonly name: string
  /** The weight the first stage's score keeps beside this reranker's by default (`SearchOptions.rerankBlend`). @default 0 */
  readonly blend?: number
  readonly rerank: (
    query: string,
    candidates: ReadonlyArray<RerankCandidate>
  ) => Effect.Effect<ReadonlyArray<number>, RetrievalError>
}

/** The optional rerank stage of search. */
export class Reranker extends Context.Tag("trellis/Reranker")<Reranker, RerankerShape>() {}

/** Options of the lexical reranker. */
export interface LexicalOptions {
  /** BM25 term-frequency saturation. @default 1.2 */
  readonly k1?: number
  /** BM25 length normalization. @default 0.75 */
  readonly b?: number
  /** How many times a heading (title/section) occurrence counts. @default 2 */
  readonly headingBoost?: number
  /** The weight the first stage's score keeps beside the BM25 score. @default DEFAULT_LEXICAL_BLEND */
  readonly blend?: number
}

/**
 * The lexical reranker's default blend: its BM25 score (min-max-normalized
 * over the candidates) weighs 1 − this, the first stage's score this; tuned
 * by `scripts/tune-retrieval.ts` on the training data (docs/retrieval.md).
 */
export const DEFAULT_LEXICAL_BLEND = 0.35

/** The lexical (BM25) reranker over the retrieval tables. */
const makeLexical = (options: LexicalOptions = {}): Effect.Effect<RerankerShape, never, SqlClient> =>
  Effect.map(SqlClient, (sql) => {
    const k1 = options.k1 ?? 1.2
    const b = options.b ?? 0.75
    const boost = options.headingBoost ?? 2
    return {
      name: `lexical-bm25(k1=${k1},b=${b},heading=${boost})`,
      blend: options.blend ?? DEFAULT_LEXICAL_BLEND,
      rerank: (query, candidates) => {
        if (candidates.length === 0) return Effect.succeed([])
        const ids = candidates.map((c) => c.chunkId)
        return sql<{ id: string; score: number }>`
          WITH q AS MATERIALIZED (
            SELECT DISTINCT lexeme FROM unnest(to_tsvector('english', ${query})) WHERE position(E'\\\\' IN lexeme) = 0
          ), stats AS MATERIALIZED (
            SELECT count(*)::float8 AS n, greatest(avg(token_count), 1)::float8 AS avgdl FROM retrieval_chunks
          ), idf AS MATERIALIZED (
            SELECT d.lexeme, ln(1 + (stats.n - d.df + 0.5) / (d.df + 0.5)) AS idf
            FROM (SELECT q.lexeme, (SELECT count(*) FROM retrieval_chunks c WHERE c.tsv @@ quote_literal(q.lexeme)::tsquery)::float8 AS df FROM q) d, stats
          ), tf AS MATERIALIZED (
            SELECT c.id, c.token_count::float8 AS dl, t.lexeme,
              (cardinality(t.positions) + (${boost}::float8 - 1) * cardinality(array_positions(t.weights, 'A')))::float8 AS tf
            FROM retrieval_chunks c, unnest(c.tsv) t
            WHERE c.id IN ${sql.in(ids)} AND t.lexeme IN (SELECT lexeme FROM q)
          )
          SELECT tf.id, sum(idf.idf * tf.tf * (${k1}::float8 + 1) / (tf.tf + ${k1}::float8 * (1 - ${b}::float8 + ${b}::float8 * tf.dl / stats.avgdl)))::float8 AS score
          FROM tf JOIN idf ON idf.lexeme = tf.lexeme CROSS JOIN stats
          GROUP BY tf.id`.pipe(
          Effect.map((rows) => {
            const byId = new Map(rows.map((r) => [r.id, Number(r.score)]))
            return candidates.map((c) => byId.get(c.chunkId) ?? 0)
          }),
          Effect.mapError(databaseError("the lexical reranker failed")),
          Effect.withSpan("retrieval.rerank.lexical", { attributes: { "retrieval.candidates": candidates.length } })
        )
      }
    }
  })

/** The lexical reranker as the `Reranker` service. */
export const layerLexical = (options: LexicalOptions = {}): Layer.Layer<Reranker, never, SqlClient> =>
  Layer.effect(Reranker, makeLexical(options))
