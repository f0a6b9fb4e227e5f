/**
 * RM3 pseudo-relevance feedback (Lavrenko & Croft's relevance model,
 * interpolated with the query, as in Anserini): the first BM25 pass's top
 * `fbDocs` chunks are taken as relevant; each term's weight is
 * Σ_d score(d) · tf(t, d) / dl(d) over them; the `fbTerms` heaviest terms
 * (with a letter, at least two characters) are L1-normalized and mixed with
 * the L1-normalized query: `originalWeight · q + (1 − originalWeight) · rm`.
 * The expanded, weighted query is then ranked by BM25 again.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { Effect } from "effect"
import { bm25Rank } from "./bm25.js"
import type { Bm25Params, QueryTerm } from "./bm25.js"
import { databaseError } from "./errors.js"
import type { RetrievalError } from "./errors.js"
import type { Ranked } from "./fusion.js"

/** RM3 parameters. */
export interface Rm3 {
  /** Feedback chunks (the first pass's best). @default 10 */
  readonly fbDocs: number
  /** Expansion terms kept. @default 10 */
  readonly fbTerms: number
  /** Weight of the original query in the mix, from 0 to 1. @default 0.5 */
  readonly originalWeight: number
}

/** Anserini's RM3 defaults. */
export const DEFAULT_RM3: Rm3 = { fbDocs: 10, fbTerms: 10, originalWeight: 0.5 }

/** What is wrong with RM3 parameters (empty when valid). */
export const rm3Problems = (r: Rm3): ReadonlyArray<string> => [
  ...(Number.isInteger(r.fbDocs) && r.fbDocs >= 1 && r.fbDocs <= 1000
    ? []
    : [`rm3 fbDocs must be an integer from 1 to 1000, got ${r.fbDocs}`]),
  ...(Number.isInteger(r.fbTerms) && r.fbTerms >= 1 && r.fbTerms <= 1000
    ? []
    : [`rm3 fbTerms must be an integer from 1 to 1000, got ${r.fbTerms}`]),
  ...(Number.isFinite(r.originalWeight) && r.originalWeight >= 0 && r.originalWeight <= 1
    ? []
    : [`rm3 originalWeight must be from 0 to 1, got ${r.originalWeight}`])
]

/** One feedback chunk: its first-pass score, term frequencies and analyzed length. */
export interface Feedback {
  readonly score: number
  readonly tf: ReadonlyMap<string, number>
  readonly length: number
}

const normalizeL1 = (m: Map<string, number>): Map<string, number> => {
  let total = 0
  for (const v of m.values()) total += v
  if (total > 0) { for (const [k, v] of m) m.set(k, v / total) }
  return m
}

/** The expanded query (pure): the relevance model's top terms mixed with the query, heaviest first, ties by term. */
export const expandTerms = (
  query: ReadonlyArray<QueryTerm>,
  feedback: ReadonlyArray<Feedback>,
  rm3: Rm3
): ReadonlyArray<QueryTerm> => {
  const model = new Map<string, number>()
  for (const d of feedback) {
    if (d.length <= 0) continue
    for (const [term, tf] of d.tf) {
      if (term.length < 2 || !/\p{L}/u.test(term)) continue
      model.set(term, (model.get(term) ?? 0) + d.score * tf / d.length)
    }
  }
  const top = normalizeL1(
    new Map([...model].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, rm3.fbTerms))
  )
  const original = normalizeL1(new Map(query.map((t) => [t.term, t.weight])))
  const mixed = new Map<string, number>()
  for (const [t, w] of original) mixed.set(t, rm3.originalWeight * w)
  for (const [t, w] of top) mixed.set(t, (mixed.get(t) ?? 0) + (1 - rm3.originalWeight) * w)
  return [...mixed].filter(([, w]) => w > 0)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([term, weight]) => ({ term, weight }))
}

/** The feedback chunks' postings and lengths. */
const feedbackOf = (first: ReadonlyArray<Ranked>) =>
  Effect.flatMap(PgClient.PgClient, (sql) =>
    sql<{ chunk_id: string; term: string; tf: number; length: number }>`
      SELECT p.chunk_id, p.term, p.tf, c.bm25_length AS length
      FROM retrieval_postings p JOIN retrieval_chunks c ON c.id = p.chunk_id
      WHERE p.chunk_id IN ${sql.in(first.map((r) => r.id))}`).pipe(
      Effect.map((rows) => {
        const byChunk = new Map<string, { tf: Map<string, number>; length: number }>()
        for (const r of rows) {
          const entry = byChunk.get(r.chunk_id) ?? { tf: new Map(), length: Number(r.length) }
          entry.tf.set(r.term, Number(r.tf))
          byChunk.set(r.chunk_id, entry)
        }
        return first.flatMap((r): Array<Feedback> => {
          const e = byChunk.get(r.id)
          return e === undefined ? [] : [{ score: r.score, tf: e.tf, length: e.length }]
        })
      }),
      Effect.mapError(databaseError("cannot read the feedback chunks"))
    )

/** The query expanded by RM3 over a first BM25 pass (the query itself when nothing matches). */
export const expandQuery = (
  terms: ReadonlyArray<QueryTerm>,
  params: Bm25Params,
  rm3: Rm3
): Effect.Effect<ReadonlyArray<QueryTerm>, RetrievalError, PgClient.PgClient> =>
  Effect.gen(function*() {
    const first = yield* bm25Rank(terms, params, rm3.fbDocs)
    if (first.length === 0) return terms
    return expandTerms(terms, yield* feedbackOf(first), rm3)
  }).pipe(Effect.withSpan("retrieval.rm3", { attributes: { "retrieval.fbDocs": rm3.fbDocs } }))
