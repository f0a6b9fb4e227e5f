/**
 * Ranking metrics (pure): Recall@K, MRR@K and nDCG@K, as trec_eval and
 * BEIR compute them. Relevance grades come from qrels (a missing pair is
 * 0, non-relevant); nDCG uses the grade as the gain and `log2(rank + 1)`
 * as the discount, the ideal ranking being the judged documents sorted by
 * grade. Queries without any relevant document are left out of the mean.
 */

/** Relevance judgments: query id → document id → grade (> 0 is relevant). */
export type Qrels = ReadonlyMap<string, ReadonlyMap<string, number>>

/** The three metrics at one cutoff. */
export interface Metrics {
  readonly recall: number
  readonly mrr: number
  readonly ndcg: number
}

/** The metric names, in a fixed order. */
export const METRIC_NAMES: ReadonlyArray<keyof Metrics> = ["recall", "mrr", "ndcg"]

const relevantCount = (rel: ReadonlyMap<string, number>): number => {
  let n = 0
  for (const g of rel.values()) if (g > 0) n++
  return n
}

/** The first `k` distinct ids of a ranking (a repeated id counts once, at its first rank). */
const topK = (ranked: ReadonlyArray<string>, k: number): ReadonlyArray<string> => {
  const seen = new Set<string>()
  const out: Array<string> = []
  for (const id of ranked) {
    if (out.length >= k) break
    if (!seen.has(id)) {
      seen.add(id)
      out.push(id)
    }
  }
  return out
}

/** Recall@K: the share of the relevant documents found in the top K (0 when none is relevant). */
export const recallAt = (ranked: ReadonlyArray<string>, rel: ReadonlyMap<string, number>, k: number): number => {
  const total = relevantCount(rel)
  if (total === 0) return 0
  return topK(ranked, k).filter((id) => (rel.get(id) ?? 0) > 0).length / total
}

/** Reciprocal rank of the first relevant document within the top K, else 0. */
export const mrrAt = (ranked: ReadonlyArray<string>, rel: ReadonlyMap<string, number>, k: number): number => {
  const top = topK(ranked, k)
  const i = top.findIndex((id) => (rel.get(id) ?? 0) > 0)
  return i < 0 ? 0 : 1 / (i + 1)
}

/** nDCG@K with gain = grade and discount = log2(rank + 1). */
export const ndcgAt = (ranked: ReadonlyArray<string>, rel: ReadonlyMap<string, number>, k: number): number => {
  let dcg = 0
  topK(ranked, k).forEach((id, i) => {
    dcg += Math.max(0, rel.get(id) ?? 0) / Math.log2(i + 2)
  })
  const ideal = [...rel.values()].filter((g) => g > 0).sort((a, b) => b - a).slice(0, k)
  let idcg = 0
  ideal.forEach((g, i) => {
    idcg += g / Math.log2(i + 2)
  })
  return idcg === 0 ? 0 : dcg / idcg
}

/** The mean metrics of rankings (query id → ranked document ids) against qrels, over the queries with a relevant document. */
export const evaluate = (
  runs: ReadonlyMap<string, ReadonlyArray<string>>,
  qrels: Qrels,
  k: number
): Metrics & { readonly queries: number } => {
  let n = 0
  let recall = 0
  let mrr = 0
  let ndcg = 0
  for (const [q, rel] of qrels) {
    if (relevantCount(rel) === 0) continue
    const ranked = runs.get(q) ?? []
    n++
    recall += recallAt(ranked, rel, k)
    mrr += mrrAt(ranked, rel, k)
    ndcg += ndcgAt(ranked, rel, k)
  }
  return n === 0
    ? { recall: 0, mrr: 0, ndcg: 0, queries: 0 }
    : { recall: recall / n, mrr: mrr / n, ndcg: ndcg / n, queries: n }
}
