/**
 * Fusing ranked lists (pure). Reciprocal rank fusion sums `1 / (k0 + rank)`
 * over the lists a candidate appears in (ranks from 1); the alpha blend
 * min-max-normalizes each list's scores to [0, 1] and sums
 * `alpha × dense + (1 − alpha) × sparse` (absent = 0). Ties keep the order
 * of first appearance, so fusion is deterministic.
 */

/** How sparse and dense results are combined. */
export type Fusion =
  /** Reciprocal rank fusion. @default k0 60 */
  | { readonly kind: "rrf"; readonly k0: number }
  /** Weighted sum of min-max-normalized scores; `alpha` is the dense weight in [0, 1]. */
  | { readonly kind: "alpha"; readonly alpha: number }

/**
 * The default fusion: the alpha blend with dense weight 0.04, tuned by
 * `scripts/tune-retrieval.ts` on the training data (cranfield, SciFact
 * train; BM25 k1 1.5, b 0.5, feature-hashing embedder) together with the
 * lexical reranker's blend (`DEFAULT_LEXICAL_BLEND`): the best mean nDCG@10
 * of the whole pipeline with hybrid at or above sparse on both collections
 * (grid in docs/retrieval.md).
 */
export const DEFAULT_FUSION: Fusion = { kind: "alpha", alpha: 0.04 }

/** What is wrong with a fusion setting (empty when valid). */
export const fusionProblems = (f: Fusion): ReadonlyArray<string> =>
  f.kind === "rrf"
    ? Number.isFinite(f.k0) && f.k0 >= 0 ? [] : [`rrf k0 must be a non-negative number, got ${f.k0}`]
    : Number.isFinite(f.alpha) && f.alpha >= 0 && f.alpha <= 1
    ? []
    : [`alpha must be between 0 and 1, got ${f.alpha}`]

/** One entry of a ranked list. */
export interface Ranked {
  readonly id: string
  readonly score: number
}

/** A fused entry: the id and its fused score. */
export interface Fused {
  readonly id: string
  readonly score: number
}

const minMax = (list: ReadonlyArray<Ranked>): Map<string, number> => {
  let lo = Infinity
  let hi = -Infinity
  for (const r of list) {
    lo = Math.min(lo, r.score)
    hi = Math.max(hi, r.score)
  }
  const span = hi - lo
  return new Map(list.map((r) => [r.id, span > 0 ? (r.score - lo) / span : 1]))
}

/** Fuses a sparse and a dense ranked list (each best first) into one list, best first. */
export const fuse = (
  fusion: Fusion,
  sparse: ReadonlyArray<Ranked>,
  dense: ReadonlyArray<Ranked>
): ReadonlyArray<Fused> => {
  const order = new Map<string, number>()
  for (const r of [...sparse, ...dense]) if (!order.has(r.id)) order.set(r.id, order.size)
  const score = new Map<string, number>()
  const add = (id: string, s: number) => score.set(id, (score.get(id) ?? 0) + s)
  if (fusion.kind === "rrf") {
    sparse.forEach((r, i) => add(r.id, 1 / (fusion.k0 + i + 1)))
    dense.forEach((r, i) => add(r.id, 1 / (fusion.k0 + i + 1)))
  } else {
    for (const [id, s] of minMax(sparse)) add(id, (1 - fusion.alpha) * s)
    for (const [id, s] of minMax(dense)) add(id, fusion.alpha * s)
  }
  return [...order.keys()]
    .map((id) => ({ id, score: score.get(id) ?? 0 }))
    .sort((a, b) => b.score - a.score || order.get(a.id)! - order.get(b.id)!)
}

/** Min-max scales scores to [0, 1] (all equal: all 1). */
const scale = (xs: ReadonlyArray<number>): Array<number> => {
  let lo = Infinity
  let hi = -Infinity
  for (const x of xs) {
    lo = Math.min(lo, x)
    hi = Math.max(hi, x)
  }
  const span = hi - lo
  return xs.map((x) => (span > 0 ? (x - lo) / span : 1))
}

/**
 * The rerank stage's final scores: `(1 − keep) × rerank + keep × first`,
 * each min-max-normalized over the candidates (same order, same length);
 * `keep` is the weight the first stage's score keeps. With `keep` 0 the
 * reranker's scores are returned as they are.
 */
export const blendRerank = (
  rerank: ReadonlyArray<number>,
  first: ReadonlyArray<number>,
  keep: number
): ReadonlyArray<number> => {
  if (keep === 0) return rerank
  const r = scale(rerank)
  const f = scale(first)
  return r.map((x, i) => (1 - keep) * x + keep * f[i]!)
}

/** What is wrong with a rerank blend weight (empty when valid). */
export const blendProblems = (keep: number): ReadonlyArray<string> =>
  Number.isFinite(keep) && keep >= 0 && keep <= 1 ? [] : [`rerank blend must be between 0 and 1, got ${keep}`]
