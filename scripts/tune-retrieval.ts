/**
 * Tunes the retrieval defaults on training data only: cranfield and the
 * SciFact train split (`--data <dir>` holding `cranfield/` and `scifact/`,
 * or TRELLIS_IR_DATA). Each collection is ingested once (in-memory PGlite,
 * default chunking, the configured embedder); the script then reads the
 * store's BM25 postings (exactly what the SQL ranks, see
 * test/retrieval/bm25.integration.test.ts) and each query's analyzed terms
 * and dense candidates, and replays the sparse stage (BM25 k1 × b, RM3),
 * fusion (RRF k0, alpha blend) and the document-level cutoff in memory,
 * then the default pipeline as the eval runs it: each leg 150 chunks deep,
 * fusion (min-max or z-score), and the lexical rerank stage (replayed from
 * each chunk's postings, heading lexemes and token count) blended with the
 * first stage's score (weight `keep`).
 * It prints every grid point's nDCG@10 per collection and their mean, and
 * the chosen values of the first-stage grids (best mean nDCG@10), and the
 * best pipeline settings; the committed defaults are in
 * src/retrieval/bm25.ts, fusion.ts, rerank.ts and rm3.ts.
 *
 *   node --import tsx scripts/tune-retrieval.ts --data <dir> [--cache file] [--bm25 k1,b] [--no-rm3]
 *     [--minmax] [--keep a,b,…] [--alpha a,b,…] [--json]
 */
import { NodeFileSystem } from "@effect/platform-node"
import * as PgClient from "@effect/sql-pg/PgClient"
import { Effect, Layer } from "effect"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { analyzeQuery } from "../src/retrieval/bm25.js"
import type { QueryTerm } from "../src/retrieval/bm25.js"
import { loadCollection } from "../src/retrieval/collection.js"
import type { Collection } from "../src/retrieval/collection.js"
import { fuse } from "../src/retrieval/fusion.js"
import type { Fusion, Ranked } from "../src/retrieval/fusion.js"
import { evaluate } from "../src/retrieval/metrics.js"
import { expandTerms } from "../src/retrieval/rm3.js"
import type { Rm3 } from "../src/retrieval/rm3.js"
import { layerDefault, Retrieval } from "../src/retrieval/service.js"
import { layerPglite, MEMORY } from "../src/store/sql.js"

const K = 10
const CANDIDATES = 200
/** `--bm25 k1,b` fixes BM25's parameters (the RM3 and fusion grids only). */
const fixed = (() => {
  const at = process.argv.indexOf("--bm25")
  return at > 0 ? process.argv[at + 1]!.split(",").map(Number) : undefined
})()
/** `--keep 0.3,0.4` or `--alpha 0.05,0.1`: the pipeline grid's rerank blend weights or alphas. */
const list = (flag: string) => {
  const at = process.argv.indexOf(flag)
  return at > 0 ? process.argv[at + 1]!.split(",").map(Number) : undefined
}
const K1 = fixed === undefined ? [0.6, 0.9, 1.2, 1.5] : [fixed[0]!]
const B = fixed === undefined ? [0.3, 0.4, 0.5, 0.6, 0.75] : [fixed[1]!]
const K0 = [5, 10, 20, 60]
const ALPHA = [0.2, 0.3, 0.5]
const RM3: ReadonlyArray<Rm3 | false> = process.argv.includes("--no-rm3") ? [false] : [
  false,
  { fbDocs: 10, fbTerms: 10, originalWeight: 0.5 },
  { fbDocs: 5, fbTerms: 10, originalWeight: 0.7 },
  { fbDocs: 3, fbTerms: 5, originalWeight: 0.8 }
]

/** What one collection gives the replay: postings, lengths, chunk → document, per query its terms and dense list. */
interface Loaded {
  readonly collection: Collection
  readonly postings: Map<string, Array<{ chunk: string; tf: number }>>
  readonly tf: Map<string, Map<string, number>>
  readonly length: Map<string, number>
  readonly documentOf: Map<string, string>
  readonly queries: Array<{ id: string; terms: ReadonlyArray<QueryTerm>; dense: ReadonlyArray<Ranked> }>
  readonly avgdl: number
  /** For the lexical reranker: per chunk, the lexemes of its heading (weight A) with their counts, and its token count. */
  readonly heading: Map<string, Map<string, number>>
  readonly tokens: Map<string, number>
}

const load = (dir: string, database = layerPglite(MEMORY)) =>
  Effect.gen(function*() {
    const collection = yield* loadCollection(dir)
    const r = yield* Retrieval
    const t0 = Date.now()
    yield* r.ingest(collection.documents)
    process.stderr.write(`${collection.name}: ingested in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`)
    const sql = yield* PgClient.PgClient
    const rows = yield* sql<
      { term: string; chunk_id: string; tf: number }
    >`SELECT term, chunk_id, tf FROM retrieval_postings`
    const chunks = yield* sql<{ id: string; document_id: string; bm25_length: number; token_count: number }>`
      SELECT id, document_id, bm25_length, token_count FROM retrieval_chunks`
    const headings = yield* sql<{ id: string; lexeme: string; n: number }>`
      SELECT c.id, t.lexeme, cardinality(array_positions(t.weights, 'A')) AS n
      FROM retrieval_chunks c, unnest(c.tsv) t WHERE 'A' = ANY(t.weights)`
    const heading = new Map<string, Map<string, number>>()
    for (const h of headings) {
      const m = heading.get(h.id) ?? new Map<string, number>()
      m.set(h.lexeme, Number(h.n))
      heading.set(h.id, m)
    }
    const postings = new Map<string, Array<{ chunk: string; tf: number }>>()
    const tf = new Map<string, Map<string, number>>()
    for (const p of rows) {
      const list = postings.get(p.term) ?? []
      list.push({ chunk: p.chunk_id, tf: p.tf })
      postings.set(p.term, list)
      const m = tf.get(p.chunk_id) ?? new Map<string, number>()
      m.set(p.term, p.tf)
      tf.set(p.chunk_id, m)
    }
    const queries = []
    for (const q of collection.queries) {
      const terms = yield* analyzeQuery(q.text)
      const dense = yield* r.search(q.text, { mode: "dense", k: CANDIDATES, candidates: CANDIDATES, rerank: false })
      queries.push({ id: q.id, terms, dense: dense.hits.map((h) => ({ id: h.chunkId, score: h.scores.dense!.score })) })
    }
    return {
      collection,
      postings,
      tf,
      avgdl: chunks.reduce((a, c) => a + c.bm25_length, 0) / chunks.length,
      length: new Map(chunks.map((c) => [c.id, c.bm25_length])),
      documentOf: new Map(chunks.map((c) => [c.id, c.document_id])),
      queries,
      heading,
      tokens: new Map(chunks.map((c) => [c.id, Number(c.token_count)]))
    } satisfies Loaded
  }).pipe(
    // One database: the SQL layer is shared (layers are memoized within one provide).
    Effect.provide(Layer.merge(layerDefault(database, { reranker: false }), database)),
    Effect.provide(NodeFileSystem.layer)
  )

/** Chunk-level BM25 in memory (the same formula as the SQL), best first, ties by chunk id. */
const bm25 = (data: Loaded, terms: ReadonlyArray<QueryTerm>, k1: number, b: number, limit: number): Array<Ranked> => {
  const n = data.length.size
  const avgdl = data.avgdl
  const scores = new Map<string, number>()
  for (const { term, weight } of terms) {
    const list = data.postings.get(term)
    if (list === undefined) continue
    const idf = weight * Math.log(1 + (n - list.length + 0.5) / (list.length + 0.5))
    for (const p of list) {
      const dl = data.length.get(p.chunk)!
      scores.set(p.chunk, (scores.get(p.chunk) ?? 0) + idf * p.tf * (k1 + 1) / (p.tf + k1 * (1 - b + b * dl / avgdl)))
    }
  }
  return [...scores].map(([id, score]) => ({ id, score }))
    .sort((x, y) => y.score - x.score || (x.id < y.id ? -1 : 1))
    .slice(0, limit)
}

const sparseList = (data: Loaded, terms: ReadonlyArray<QueryTerm>, k1: number, b: number, rm3: Rm3 | false) => {
  if (rm3 === false) return bm25(data, terms, k1, b, CANDIDATES)
  const first = bm25(data, terms, k1, b, rm3.fbDocs)
  const feedback = first.map((r) => ({ score: r.score, tf: data.tf.get(r.id)!, length: data.length.get(r.id)! }))
  return bm25(data, expandTerms(terms, feedback, rm3), k1, b, CANDIDATES)
}

/** nDCG@10 (and the rest) of per-query chunk lists, cut to distinct documents. */
const score = (data: Loaded, lists: ReadonlyMap<string, ReadonlyArray<Ranked>>) => {
  const runs = new Map<string, Array<string>>()
  for (const [q, list] of lists) {
    const docs: Array<string> = []
    for (const r of list) {
      const d = data.documentOf.get(r.id)!
      if (!docs.includes(d)) docs.push(d)
      if (docs.length >= 100) break
    }
    runs.set(q, docs)
  }
  const m = evaluate(runs, data.collection.qrels, K)
  return { ndcg: m.ndcg, mrr: m.mrr, recall100: evaluate(runs, data.collection.qrels, 100).recall }
}

/** The eval's depth: chunks each stage hands on, and the rerank stage sees (`EVAL_CANDIDATES`). */
const STAGE = 150

/**
 * The lexical reranker (`rerank.ts`) in memory: BM25 k1 1.2, b 0.75 over each
 * candidate's `tsvector` (heading lexemes counted twice), the query's
 * distinct lexemes, document frequencies over all chunks, lengths in tokens.
 */
const lexicalRerank = (data: Loaded, terms: ReadonlyArray<QueryTerm>, ids: ReadonlyArray<string>) => {
  const k1 = 1.2
  const b = 0.75
  const n = data.tokens.size
  let total = 0
  for (const t of data.tokens.values()) total += t
  const avgdl = Math.max(total / n, 1)
  const distinct = [...new Set(terms.map((t) => t.term))]
  const idf = distinct.map((t) => {
    const df = data.postings.get(t)?.length ?? 0
    return Math.log(1 + (n - df + 0.5) / (df + 0.5))
  })
  return ids.map((id) => {
    const tf = data.tf.get(id)
    const head = data.heading.get(id)
    const dl = data.tokens.get(id)!
    let s = 0
    distinct.forEach((t, i) => {
      const f = (tf?.get(t) ?? 0) + (head?.get(t) ?? 0)
      if (f > 0) s += idf[i]! * f * (k1 + 1) / (f + k1 * (1 - b + b * dl / avgdl))
    })
    return s
  })
}

/** How a score list is scaled before blending. */
type Norm = "minmax" | "z"
const normalize = (xs: ReadonlyArray<number>, norm: Norm): Array<number> => {
  if (xs.length === 0) return []
  if (norm === "minmax") {
    const lo = Math.min(...xs)
    const span = Math.max(...xs) - lo
    return xs.map((x) => (span > 0 ? (x - lo) / span : 1))
  }
  const m = xs.reduce((a, x) => a + x, 0) / xs.length
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / xs.length)
  return xs.map((x) => (sd > 0 ? (x - m) / sd : 0))
}

/** Alpha fusion with a choice of normalization (z-score: an absent candidate gets the list's lowest value). */
const fuseNorm = (
  alpha: number,
  norm: Norm,
  sparse: ReadonlyArray<Ranked>,
  dense: ReadonlyArray<Ranked>
): Array<Ranked> => {
  if (norm === "minmax") return [...fuse({ kind: "alpha", alpha }, sparse, dense)]
  const order = new Map<string, number>()
  for (const r of [...sparse, ...dense]) if (!order.has(r.id)) order.set(r.id, order.size)
  const side = (list: ReadonlyArray<Ranked>) => {
    const z = normalize(list.map((r) => r.score), "z")
    return { map: new Map(list.map((r, i) => [r.id, z[i]!])), floor: z.length === 0 ? 0 : Math.min(...z) }
  }
  const s = side(sparse)
  const d = side(dense)
  return [...order.keys()].map((id) => ({
    id,
    score: (1 - alpha) * (s.map.get(id) ?? s.floor) + alpha * (d.map.get(id) ?? d.floor)
  })).sort((a, b) => b.score - a.score || order.get(a.id)! - order.get(b.id)!)
}

/**
 * The rerank stage over the first `STAGE` of a list: the lexical score,
 * blended with weight `keep` with the list's own (first-stage) score, both
 * normalized by `norm`; ties keep the list's order.
 */
const rerankBlend = (
  data: Loaded,
  terms: ReadonlyArray<QueryTerm>,
  list: ReadonlyArray<Ranked>,
  keep: number,
  norm: Norm
): Array<Ranked> => {
  const top = list.slice(0, STAGE)
  const rr = normalize(lexicalRerank(data, terms, top.map((r) => r.id)), norm)
  const first = normalize(top.map((r) => r.score), norm)
  return top.map((r, i) => ({ id: r.id, score: (1 - keep) * rr[i]! + keep * first[i]!, at: i }))
    .sort((a, b) => b.score - a.score || a.at - b.at)
}

const f4 = (x: number) => x.toFixed(4)

/** `--cache <file>`: the loaded collections as JSON (maps as tagged entry lists), so a rerun skips ingestion. */
const replacer = (_: string, v: unknown) => v instanceof Map ? { $map: [...v] } : v
const revive = (text: string): Array<Loaded> =>
  JSON.parse(
    text,
    (_, v) =>
      typeof v === "object" && v !== null && "$map" in v ? new Map((v as { $map: Array<[unknown, unknown]> }).$map) : v
  )

const main = Effect.gen(function*() {
  const flag = process.argv.indexOf("--data")
  const root = resolve(flag > 0 ? process.argv[flag + 1]! : process.env.TRELLIS_IR_DATA ?? "")
  const sets: Array<Loaded> = []
  const cacheAt = process.argv.indexOf("--cache")
  const cache = cacheAt > 0 ? process.argv[cacheAt + 1]! : undefined
  if (cache !== undefined && existsSync(cache)) { for (const d of revive(readFileSync(cache, "utf8"))) sets.push(d) }
  else {
    for (const name of ["cranfield", "scifact"]) sets.push(yield* load(join(root, name)))
    if (cache !== undefined) writeFileSync(cache, JSON.stringify(sets, replacer))
  }
  const names = sets.map((s) => s.collection.name)
  const mean = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0) / xs.length
  const row = (label: string, xs: ReadonlyArray<number>) =>
    console.log(`${label.padEnd(34)} ${xs.map(f4).join("   ")}   ${f4(mean(xs))}`)
  const header = (title: string) => console.log(`\n${title}\n${"".padEnd(34)} ${names.join("  ")}   mean (nDCG@10)`)

  header("sparse: BM25 k1 × b")
  let best = { k1: 0, b: 0, mean: -1 }
  for (const k1 of K1) {
    for (const b of B) {
      const xs = sets.map((d) =>
        score(d, new Map(d.queries.map((q) => [q.id, bm25(d, q.terms, k1, b, CANDIDATES)]))).ndcg
      )
      row(`k1 ${k1} b ${b}`, xs)
      if (mean(xs) > best.mean) best = { k1, b, mean: mean(xs) }
    }
  }
  console.log(`chosen: k1 ${best.k1} b ${best.b}`)
  const { b, k1 } = best

  header(`sparse: RM3 (BM25 k1 ${k1} b ${b})`)
  let bestRm3: { rm3: Rm3 | false; mean: number } = { rm3: false, mean: -1 }
  const sparseBy = new Map<Rm3 | false, Array<Map<string, Array<Ranked>>>>()
  for (const rm3 of RM3) {
    const lists = sets.map((d) => new Map(d.queries.map((q) => [q.id, sparseList(d, q.terms, k1, b, rm3)])))
    sparseBy.set(rm3, lists)
    const xs = sets.map((d, i) => score(d, lists[i]!).ndcg)
    row(rm3 === false ? "off" : `fbDocs ${rm3.fbDocs} fbTerms ${rm3.fbTerms} w ${rm3.originalWeight}`, xs)
    if (mean(xs) > bestRm3.mean + 0.002) bestRm3 = { rm3, mean: mean(xs) }
  }
  console.log(
    `chosen: ${bestRm3.rm3 === false ? "off (no setting gains 0.002 over off)" : JSON.stringify(bestRm3.rm3)}`
  )

  const sparse = sparseBy.get(bestRm3.rm3)!
  header("dense alone")
  row("dense", sets.map((d) => score(d, new Map(d.queries.map((q) => [q.id, q.dense]))).ndcg))
  header("hybrid: fusion of the sparse and dense lists")
  const fusions: Array<Fusion> = [
    ...K0.map((k0): Fusion => ({ kind: "rrf", k0 })),
    ...ALPHA.map((alpha): Fusion => ({ kind: "alpha", alpha }))
  ]
  let bestFusion: { fusion: Fusion; mean: number } = { fusion: fusions[0]!, mean: -1 }
  for (const fusion of fusions) {
    const xs = sets.map((d, i) =>
      score(d, new Map(d.queries.map((q) => [q.id, fuse(fusion, sparse[i]!.get(q.id)!, q.dense)]))).ndcg
    )
    row(fusion.kind === "rrf" ? `rrf k0 ${fusion.k0}` : `alpha ${fusion.alpha}`, xs)
    if (mean(xs) > bestFusion.mean) bestFusion = { fusion, mean: mean(xs) }
  }
  console.log(`chosen: ${JSON.stringify(bestFusion.fusion)}`)

  // The default pipeline: each leg STAGE deep, fusion, the lexical rerank stage blended with the first stage.
  const KEEP = list("--keep") ?? [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]
  const NORMS: ReadonlyArray<Norm> = process.argv.includes("--minmax") ? ["minmax"] : ["minmax", "z"]
  const FINE = list("--alpha") ?? [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5]
  const RRF = process.argv.includes("--minmax") ? [] : K0
  const hybridBy = (d: Loaded, i: number, f: { alpha: number; norm: Norm } | { k0: number }, depth: number) =>
    new Map(d.queries.map((q) => {
      const s = sparse[i]!.get(q.id)!.slice(0, depth)
      const v = q.dense.slice(0, depth)
      return [q.id, "k0" in f ? [...fuse({ kind: "rrf", k0: f.k0 }, s, v)] : fuseNorm(f.alpha, f.norm, s, v)]
    }))
  const reranked = (d: Loaded, lists: ReadonlyMap<string, ReadonlyArray<Ranked>>, keep: number | false, norm: Norm) =>
    keep === false
      ? lists
      : new Map(d.queries.map((q) => [q.id, rerankBlend(d, q.terms, lists.get(q.id)!, keep, norm)]))
  header("pipeline: first stage only (no rerank), legs 150 deep")
  row(
    "sparse",
    sets.map((d, i) => score(d, new Map(d.queries.map((q) => [q.id, sparse[i]!.get(q.id)!.slice(0, STAGE)]))).ndcg)
  )
  for (const norm of NORMS) {
    for (const alpha of FINE) {
      row(`hybrid ${norm} alpha ${alpha}`, sets.map((d, i) => score(d, hybridBy(d, i, { alpha, norm }, STAGE)).ndcg))
    }
  }
  for (const depth of [50, 100, 200]) {
    row(
      `hybrid minmax alpha 0.2 depth ${depth}`,
      sets.map((d, i) => score(d, hybridBy(d, i, { alpha: 0.2, norm: "minmax" }, depth)).ndcg)
    )
  }
  header("pipeline: rerank stage (lexical BM25) blended with the first stage, weight keep")
  for (const norm of NORMS) {
    for (const keep of KEEP) {
      row(
        `sparse ${norm} keep ${keep}`,
        sets.map((d, i) =>
          score(
            d,
            reranked(d, new Map(d.queries.map((q) => [q.id, sparse[i]!.get(q.id)!.slice(0, STAGE)])), keep, norm)
          ).ndcg
        )
      )
      row(
        `dense ${norm} keep ${keep}`,
        sets.map((d) =>
          score(d, reranked(d, new Map(d.queries.map((q) => [q.id, q.dense.slice(0, STAGE)])), keep, norm)).ndcg
        )
      )
    }
  }
  const hybridRows: Array<{ label: string; xs: Array<number> }> = []
  for (const norm of NORMS) {
    for (const keep of KEEP) {
      for (const f of [...FINE.map((alpha) => ({ alpha, norm })), ...RRF.map((k0) => ({ k0 }))]) {
        const xs = sets.map((d, i) => score(d, reranked(d, hybridBy(d, i, f, STAGE), keep, norm)).ndcg)
        const label = `hybrid ${"k0" in f ? `rrf ${f.k0}` : `${f.norm} a ${f.alpha}`} rerank ${norm} keep ${keep}`
        row(label, xs)
        hybridRows.push({ label, xs })
      }
    }
  }
  hybridRows.sort((a, b) => mean(b.xs) - mean(a.xs))
  header("pipeline: best 10 hybrid settings")
  for (const r of hybridRows.slice(0, 10)) row(r.label, r.xs)
  if (process.argv.includes("--json")) {
    console.log(JSON.stringify({ bm25: { k1, b }, rm3: bestRm3.rm3, fusion: bestFusion.fusion }))
  }
})

Effect.runPromise(main).catch((e) => {
  console.error(e)
  process.exit(1)
})
