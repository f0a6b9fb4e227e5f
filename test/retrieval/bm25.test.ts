/**
 * The pure parts around BM25: the in-memory reference (Lucene English
 * analysis, Okapi BM25 per document), RM3's expansion of a query, the
 * validation of sparse and RM3 settings, and Recall@100 thresholds.
 */
import { describe, expect, it } from "@effect/vitest"
import { analyzerProblems, sparseProblems } from "../../src/retrieval/bm25.js"
import { bm25Index, englishTokens, referenceMetrics } from "../../src/retrieval/bm25Reference.js"
import { shortfalls } from "../../src/retrieval/eval.js"
import { expandTerms, rm3Problems } from "../../src/retrieval/rm3.js"

describe("the BM25 reference", () => {
  it("analyzes as Lucene's English analyzer: lowercase, possessives and stop words out, Porter stems", () => {
    expect(englishTokens("The Wing's lift IS increasing, and the flows were separated.")).toEqual([
      "wing",
      "lift",
      "increas",
      "flow",
      "were",
      "separ"
    ])
  })

  it("scores Okapi BM25 per document (k1 0.9, b 0.4 by default), best first, ties by id", () => {
    const docs = [
      { id: "a", title: "wing", text: "wing lift" },
      { id: "b", text: "heat flow in slabs" },
      { id: "c", text: "lift" }
    ]
    const hits = bm25Index(docs).search("wing lift", 10)
    // N = 3, lengths 3, 3 ("in" is a stop word), 1 (avgdl 7/3); "wing" df 1, "lift" df 2.
    const idf = (df: number) => Math.log(1 + (3 - df + 0.5) / (df + 0.5))
    const part = (tf: number, dl: number) => tf * 1.9 / (tf + 0.9 * (0.6 + 0.4 * dl / (7 / 3)))
    expect(hits.map((h) => h.id)).toEqual(["a", "c"])
    expect(hits[0]!.score).toBeCloseTo(idf(1) * part(2, 3) + idf(2) * part(1, 3), 12)
    expect(hits[1]!.score).toBeCloseTo(idf(2) * part(1, 1), 12)
    const tied = bm25Index([{ id: "y", text: "x" }, { id: "x", text: "x" }]).search("x", 1)
    expect(tied.map((h) => h.id)).toEqual(["x"])
  })

  it("evaluates a collection at k and at 100", () => {
    const m = referenceMetrics({
      name: "t",
      documents: [{ id: "1", text: "wing lift" }, { id: "2", text: "heat" }, { id: "3", text: "wing heat" }],
      queries: [{ id: "q", text: "heat" }],
      qrels: new Map([["q", new Map([["2", 1], ["3", 1]])]])
    }, 1)
    expect(m).toMatchObject({ recall: 0.5, mrr: 1, ndcg: 1, recallDeep: 1 })
  })
})

describe("RM3", () => {
  it("mixes the normalized query with the relevance model's top terms", () => {
    const expanded = expandTerms(
      [{ term: "wing", weight: 1 }],
      [
        { score: 2, tf: new Map([["wing", 2], ["lift", 2]]), length: 4 },
        { score: 1, tf: new Map([["wing", 1], ["flutter", 1], ["7", 5]]), length: 7 }
      ],
      { fbDocs: 2, fbTerms: 2, originalWeight: 0.5 }
    )
    // Model: wing 2·2/4 + 1·1/7 = 1 + 1/7, lift 1, flutter 1/7 ("7" has no letter); top 2 = wing, lift.
    const wing = (1 + 1 / 7) / (2 + 1 / 7)
    expect(expanded.map((t) => t.term)).toEqual(["wing", "lift"])
    expect(expanded[0]!.weight).toBeCloseTo(0.5 + 0.5 * wing, 12)
    expect(expanded[1]!.weight).toBeCloseTo(0.5 * (1 - wing), 12)
  })

  it("keeps the query when there is no feedback, and checks its parameters", () => {
    expect(expandTerms([{ term: "a", weight: 2 }], [], { fbDocs: 1, fbTerms: 1, originalWeight: 0.5 })).toEqual([
      { term: "a", weight: 0.5 }
    ])
    expect(rm3Problems({ fbDocs: 0, fbTerms: 1.5, originalWeight: 2 })).toEqual([
      "rm3 fbDocs must be an integer from 1 to 1000, got 0",
      "rm3 fbTerms must be an integer from 1 to 1000, got 1.5",
      "rm3 originalWeight must be from 0 to 1, got 2"
    ])
  })
})

describe("settings", () => {
  it("refuses bad BM25 parameters and analyzer names", () => {
    expect(sparseProblems({ kind: "bm25", k1: 0.9, b: 0.4 })).toEqual([])
    expect(sparseProblems({ kind: "ts_rank" })).toEqual([])
    expect(sparseProblems({ kind: "bm25", k1: Number.NaN, b: -0.1 })).toEqual([
      "bm25 k1 must be from 0 to 10, got NaN",
      "bm25 b must be from 0 to 1, got -0.1"
    ])
    expect(analyzerProblems("english")).toEqual([])
    expect(analyzerProblems("English; drop")).toHaveLength(1)
  })

  it("gates Recall@100 when the thresholds name it", () => {
    const got = { sparse: { recall: 0.5, mrr: 0.5, ndcg: 0.5, recall100: 0.7 } }
    expect(shortfalls(got, { sparse: { recall: 0.5, mrr: 0.5, ndcg: 0.5 } })).toEqual([])
    expect(shortfalls(got, { sparse: { recall: 0.5, mrr: 0.5, ndcg: 0.5, recall100: 0.71 } })).toEqual([
      { mode: "sparse", metric: "recall100", value: 0.7, threshold: 0.71 }
    ])
  })
})
