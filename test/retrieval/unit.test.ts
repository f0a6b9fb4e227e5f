/** Pure parts of retrieval: normalization, chunking, the local embedder, fusion, metrics, option checks. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { chunkText, strategyProblems } from "../../src/retrieval/chunk.js"
import { hashEmbed, makeLocal, words } from "../../src/retrieval/embedderLocal.js"
import { blendProblems, blendRerank, fuse } from "../../src/retrieval/fusion.js"
import { evaluate, mrrAt, ndcgAt, recallAt } from "../../src/retrieval/metrics.js"
import { resolveOptions } from "../../src/retrieval/search.js"
import { normalizeDocument, normalizeText } from "../../src/retrieval/textNormalize.js"

describe("normalizeText", () => {
  it("applies NFC, line endings, controls, blanks, paragraph breaks and trims", () => {
    expect(normalizeText("  Cafe\u0301\r\nline\u0007 two\t\t three \u00A0x\n\n\n\nend \u200B ")).toBe(
      "Café\nline two three x\n\nend"
    )
  })
  it("is idempotent", () => {
    const once = normalizeText(" a \r\n\r\n\r\n b\u0000c ")
    expect(normalizeText(once)).toBe(once)
  })
  it("hashes equal content equally (metadata key order does not matter)", () => {
    const a = normalizeDocument({ id: "1", text: "x  y", metadata: { a: 1, b: 2 } })
    const b = normalizeDocument({ id: "1", text: "x y", metadata: { b: 2, a: 1 } })
    const c = normalizeDocument({ id: "1", text: "x y z" })
    expect(a.contentHash).toBe(b.contentHash)
    expect(a.contentHash).not.toBe(c.contentHash)
  })
})

describe("chunkText", () => {
  const text = "First sentence here. Second one is longer than the first.\n\nA new paragraph. With two sentences!"
  it("fixed: windows of size with overlap, offsets slicing back", () => {
    const chunks = chunkText("abcdefghij", { kind: "fixed", size: 4, overlap: 1 })
    expect(chunks.map((c) => c.text)).toEqual(["abcd", "defg", "ghij"])
    expect(chunks.map((c) => [c.start, c.end])).toEqual([[0, 4], [3, 7], [6, 10]])
  })
  it("sentence: whole sentences up to size", () => {
    const chunks = chunkText(text, { kind: "sentence", size: 60, overlap: 0 })
    expect(chunks.map((c) => c.text)).toEqual([
      "First sentence here. Second one is longer than the first.",
      "A new paragraph. With two sentences!"
    ])
    for (const c of chunks) expect(text.slice(c.start, c.end)).toBe(c.text)
  })
  it("recursive: paragraphs first, then sentences", () => {
    const chunks = chunkText(text, { kind: "recursive", size: 40, overlap: 0 })
    expect(chunks.map((c) => c.text)).toEqual([
      "First sentence here.",
      "Second one is longer than the first.",
      "A new paragraph. With two sentences!"
    ])
  })
  it("keeps the nearest Markdown heading as the section", () => {
    const md = "# Intro\nSome text.\n\n## Methods\nMore text here."
    const chunks = chunkText(md, { kind: "recursive", size: 20, overlap: 0 })
    expect(chunks.map((c) => [c.text, c.section])).toEqual([
      ["# Intro\nSome text.", "Intro"],
      ["## Methods", "Methods"],
      ["More text here.", "Methods"]
    ])
  })
  it("never splits a surrogate pair", () => {
    const chunks = chunkText("😀😀😀", { kind: "fixed", size: 3, overlap: 0 })
    expect(chunks.map((c) => c.text)).toEqual(["😀", "😀", "😀"])
  })
  it("rejects a bad strategy with exact messages", () => {
    expect(strategyProblems({ kind: "fixed", size: 10, overlap: 10 })).toEqual([
      "chunk overlap (10) must be less than the chunk size (10)"
    ])
    expect(strategyProblems({ kind: "sentence", size: 0, overlap: 0 })).toEqual([
      "chunk size must be a positive integer, got 0"
    ])
  })
})

describe("the local embedder", () => {
  it("is deterministic, L2-normalized, of the configured dimension", () => {
    const a = hashEmbed("Aerodynamics of a wing in a slipstream", { dimension: 64 })
    const b = hashEmbed("Aerodynamics of a wing in a slipstream", { dimension: 64 })
    expect(a).toEqual(b)
    expect(a).toHaveLength(64)
    expect(Math.sqrt(a.reduce((s, x) => s + x * x, 0))).toBeCloseTo(1, 10)
  })
  it("puts related texts closer than unrelated ones", () => {
    const cos = (x: ReadonlyArray<number>, y: ReadonlyArray<number>) => x.reduce((s, v, i) => s + v * y[i]!, 0)
    const q = hashEmbed("wing aerodynamics")
    expect(cos(q, hashEmbed("the aerodynamic behaviour of wings"))).toBeGreaterThan(
      cos(q, hashEmbed("heat conduction in composite slabs"))
    )
  })
  it("drops stopwords and stems", () => {
    expect(words("The wings of the aircraft were tested")).toEqual(["wing", "aircraft", "test"])
  })
  it("refuses a bad dimension", () => {
    expect(() => makeLocal({ dimension: 0 })).toThrow(
      "the embedding dimension must be an integer from 1 to 16000, got 0"
    )
  })
})

describe("fusion", () => {
  const sparse = [{ id: "a", score: 3 }, { id: "b", score: 2 }, { id: "c", score: 1 }]
  const dense = [{ id: "c", score: 0.9 }, { id: "d", score: 0.5 }]
  it("RRF sums 1/(k0 + rank)", () => {
    const fused = fuse({ kind: "rrf", k0: 1 }, sparse, dense)
    // b and d tie at 1/3: the first to appear (b, from the sparse list) comes first.
    expect(fused.map((f) => f.id)).toEqual(["c", "a", "b", "d"])
    expect(fused[0]!.score).toBeCloseTo(1 / 4 + 1 / 2, 12)
  })
  it("alpha blends min-max-normalized scores", () => {
    const fused = fuse({ kind: "alpha", alpha: 0.5 }, sparse, dense)
    expect(fused.map((f) => [f.id, f.score])).toEqual([["a", 0.5], ["c", 0.5], ["b", 0.25], ["d", 0]])
  })
  it("the rerank blend keeps the first stage's min-max-normalized score with weight keep", () => {
    // rerank 10, 30, 20 -> 0, 1, 0.5; first 4, 2, 0 -> 1, 0.5, 0
    const blended = blendRerank([10, 30, 20], [4, 2, 0], 0.25)
    expect(blended[0]).toBeCloseTo(0.25, 12)
    expect(blended[1]).toBeCloseTo(0.75 + 0.125, 12)
    expect(blended[2]).toBeCloseTo(0.375, 12)
    expect(blendRerank([10, 30, 20], [4, 2, 0], 0)).toEqual([10, 30, 20])
    expect(blendRerank([1, 5], [1, 5], 1)).toEqual([0, 1])
    expect(blendProblems(0.35)).toEqual([])
    expect(blendProblems(1.5)).toEqual(["rerank blend must be between 0 and 1, got 1.5"])
  })
})

describe("metrics", () => {
  const rel = new Map([["d1", 3], ["d2", 1], ["d9", 2]])
  const ranked = ["d5", "d1", "d2", "d7"]
  it("Recall@K", () => {
    expect(recallAt(ranked, rel, 3)).toBeCloseTo(2 / 3, 12)
    expect(recallAt(ranked, rel, 1)).toBe(0)
  })
  it("MRR@K", () => {
    expect(mrrAt(ranked, rel, 10)).toBe(0.5)
    expect(mrrAt(ranked, rel, 1)).toBe(0)
  })
  it("nDCG@K with graded gains", () => {
    const dcg = 3 / Math.log2(3) + 1 / Math.log2(4)
    const idcg = 3 / Math.log2(2) + 2 / Math.log2(3) + 1 / Math.log2(4)
    expect(ndcgAt(ranked, rel, 10)).toBeCloseTo(dcg / idcg, 12)
    expect(ndcgAt(["d1", "d9", "d2"], rel, 3)).toBeCloseTo(1, 12)
  })
  it("averages over judged queries only", () => {
    const qrels = new Map([["q1", new Map([["a", 1]])], ["q2", new Map([["b", 1]])], ["q3", new Map([["c", 0]])]])
    const runs = new Map([["q1", ["a"]], ["q2", ["x", "b"]]])
    expect(evaluate(runs, qrels, 10)).toEqual({ recall: 1, mrr: 0.75, ndcg: (1 + 1 / Math.log2(3)) / 2, queries: 2 })
  })
})

describe("search options", () => {
  const run = (o: Parameters<typeof resolveOptions>[0]) =>
    Effect.runSync(
      Effect.either(
        resolveOptions(o, { fusion: { kind: "rrf", k0: 60 }, sparse: { kind: "bm25", k1: 0.9, b: 0.4 }, rm3: false })
      )
    )
  it("refuses ef_search < k", () => {
    const r = run({ k: 20, efSearch: 10 })
    expect(Either.isLeft(r) && r.left.message).toBe(
      "ef_search (10) must be at least k (20): HNSW returns at most ef_search neighbours"
    )
  })
  it("refuses a rerank blend outside [0, 1]", () => {
    const r = run({ rerankBlend: -0.1 })
    expect(Either.isLeft(r) && r.left.message).toBe("rerank blend must be between 0 and 1, got -0.1")
  })
  it("defaults", () => {
    const r = run({})
    expect(Either.getOrThrow(r)).toMatchObject({
      mode: "hybrid",
      k: 10,
      candidates: 50,
      efSearch: 50,
      rerank: true,
      distinct: "chunk"
    })
  })
})
