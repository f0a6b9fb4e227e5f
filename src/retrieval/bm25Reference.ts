/**
 * The BM25 reference (pure, in memory, independent of the store): a plain
 * document-level Okapi BM25 over title + text with Lucene's English
 * analysis (lowercase, letter/digit runs, possessive `'s` dropped, Lucene's
 * 33 English stop words, Porter stemming), k1 0.9 and b 0.4 by default —
 * the textbook baseline the eval and the benchmark print beside each mode.
 */
import { stemmer } from "stemmer"
import type { Collection } from "./collection.js"
import { evaluate } from "./metrics.js"

/** Lucene's `EnglishAnalyzer` stop words. */
const STOP_WORDS = new Set(
  "a an and are as at be but by for if in into is it no not of on or such that the their then there these they this to was will with"
    .split(" ")
)

/** Lucene-style English tokens: lowercase letter/digit runs, possessives dropped, stop words out, Porter-stemmed. */
export const englishTokens = (text: string): Array<string> => {
  const out: Array<string> = []
  for (const m of text.toLowerCase().replace(/['’]s\b/g, "").matchAll(/[\p{L}\p{N}]+/gu)) {
    const w = m[0]
    if (!STOP_WORDS.has(w)) out.push(stemmer(w))
  }
  return out
}

/** An in-memory BM25 index over documents. */
export interface Bm25Index {
  /** The best `depth` document ids for a query, best first (ties by id). */
  readonly search: (query: string, depth: number) => ReadonlyArray<{ readonly id: string; readonly score: number }>
}

/** Builds the reference index. */
export const bm25Index = (
  documents: ReadonlyArray<{ readonly id: string; readonly title?: string | undefined; readonly text: string }>,
  params: { readonly k1: number; readonly b: number } = { k1: 0.9, b: 0.4 }
): Bm25Index => {
  const postings = new Map<string, Array<[number, number]>>()
  const lengths: Array<number> = []
  documents.forEach((d, i) => {
    const tokens = englishTokens(`${d.title ?? ""} ${d.text}`)
    lengths.push(tokens.length)
    const tf = new Map<string, number>()
    for (const t of tokens) tf.set(t, (tf.get(t) ?? 0) + 1)
    for (const [t, n] of tf) {
      const list = postings.get(t) ?? []
      list.push([i, n])
      postings.set(t, list)
    }
  })
  const n = documents.length
  const avgdl = lengths.reduce((a, b) => a + b, 0) / Math.max(1, n)
  const { b, k1 } = params
  return {
    search: (query, depth) => {
      const scores = new Map<number, number>()
      for (const t of englishTokens(query)) {
        const list = postings.get(t)
        if (list === undefined) continue
        const idf = Math.log(1 + (n - list.length + 0.5) / (list.length + 0.5))
        for (const [doc, tf] of list) {
          const s = idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * lengths[doc]! / avgdl))
          scores.set(doc, (scores.get(doc) ?? 0) + s)
        }
      }
      return [...scores].map(([doc, score]) => ({ id: documents[doc]!.id, score }))
        .sort((x, y) => y.score - x.score || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0))
        .slice(0, depth)
    }
  }
}

/** The reference's metrics on a collection: Recall, MRR, nDCG at `k`, and Recall at `depth` (100). */
export const referenceMetrics = (collection: Collection, k: number, depth = 100) => {
  const index = bm25Index(collection.documents)
  const runs = new Map(collection.queries.map((q) => [q.id, index.search(q.text, Math.max(k, depth)).map((h) => h.id)]))
  const atK = evaluate(runs, collection.qrels, k)
  return {
    recall: atK.recall,
    mrr: atK.mrr,
    ndcg: atK.ndcg,
    recallDeep: evaluate(runs, collection.qrels, depth).recall
  }
}
