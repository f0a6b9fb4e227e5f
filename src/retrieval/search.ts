/**
 * Search: the sparse stage (exact BM25 over the postings, `bm25.ts`, with
 * optional RM3 expansion, `rm3.ts`; or `ts_rank_cd` over the GIN-indexed
 * `tsvector`, the query's lexemes OR-ed), the dense stage (cosine distance over the HNSW
 * index, `SET LOCAL hnsw.ef_search` inside the query's transaction), fusion
 * (RRF or alpha blend), the optional rerank stage, and the evidence package:
 * each hit with its document, offsets, section, the score and rank of every
 * stage, and its lineage (ingestion, embedder name and version). Every stage
 * runs in its own span.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import type { SqlClient } from "@effect/sql/SqlClient"
import { Effect, Option } from "effect"
import { Database } from "../store/sql.js"
import { analyzeQuery, bm25Rank, sparseProblems } from "./bm25.js"
import type { Sparse } from "./bm25.js"
import { embedderId } from "./embedder.js"
import type { EmbedderShape } from "./embedder.js"
import { databaseError, RetrievalError, vectorUnavailable } from "./errors.js"
import { blendProblems, blendRerank, fuse, fusionProblems } from "./fusion.js"
import type { Fusion, Ranked } from "./fusion.js"
import type { RerankerShape } from "./rerank.js"
import { expandQuery, rm3Problems } from "./rm3.js"
import type { Rm3 } from "./rm3.js"
import { hasVectorSpace, vectorTable } from "./schema.js"

/** Which stages a search runs. */
export type SearchMode = "sparse" | "dense" | "hybrid"

/** The search modes, in a fixed order. */
const SEARCH_MODES: ReadonlyArray<SearchMode> = ["sparse", "dense", "hybrid"]

/** Options of one search. */
export interface SearchOptions {
  /** @default "hybrid" */
  readonly mode?: SearchMode
  /** Hits returned. @default 10 */
  readonly k?: number
  /** Candidates each stage retrieves (and the reranker sees). @default max(50, 5 × k) */
  readonly candidates?: number
  /** HNSW `ef_search`; refused when less than `k`. The dense stage retrieves at most this many. @default max(40, candidates) */
  readonly efSearch?: number
  /** @default the service's fusion (alpha 0.04) */
  readonly fusion?: Fusion
  /** Run the rerank stage when a `Reranker` is present. @default true */
  readonly rerank?: boolean
  /**
   * The weight the first stage's score keeps beside the reranker's, in [0, 1]
   * (both min-max-normalized over the candidates; 0: the reranker's order alone).
   * @default the reranker's own (`blend`; the lexical reranker's is tuned, a cross-encoder's 0)
   */
  readonly rerankBlend?: number
  /** `"document"` keeps only the best chunk of each document. @default "chunk" */
  readonly distinct?: "chunk" | "document"
  /** The sparse ranking. @default the service's (BM25 with its k1 and b) */
  readonly sparse?: Sparse
  /** RM3 query expansion for BM25, or false. @default the service's (off) */
  readonly rm3?: Rm3 | false
}

/** The score and 1-based rank a hit had in one stage. */
export interface StageScore {
  readonly score: number
  readonly rank: number
}

/** One hit of the evidence package. */
export interface Hit {
  readonly rank: number
  readonly documentId: string
  readonly chunkId: string
  /** Offsets of the chunk in the document's normalized text, UTF-16 code units, `[start, end)`. */
  readonly start: number
  readonly end: number
  /** The nearest preceding Markdown heading in the document, or "". */
  readonly section: string
  readonly title: string
  readonly text: string
  readonly scores: {
    readonly sparse: StageScore | null
    readonly dense: StageScore | null
    readonly fused: number | null
    readonly rerank: number | null
    /** The score the hits are ordered by. */
    readonly final: number
  }
  readonly lineage: {
    readonly ingestionId: string
    readonly ingestedAt: string
    readonly embedder: { readonly name: string; readonly version: string } | null
  }
  /**
   * Where the chunk is on the pages of its source (present only for documents
   * whose `metadata.regions` maps text ranges to pages, as `doc.pdf` makes
   * them): every region the chunk overlaps, in text order.
   */
  readonly regions?: ReadonlyArray<PageRegion>
}

/** A page (1-based) and a box `[x0, y0, x1, y1]` on it (PDF units, top-left origin). */
export interface PageRegion {
  readonly page: number
  readonly box: readonly [number, number, number, number]
}

/**
 * The regions of a document (`metadata.regions`: `[start, end, page, x0, y0, x1, y1]`
 * entries over its normalized text) that the range `[start, end)` overlaps.
 */
const regionsOf = (regions: unknown, start: number, end: number): ReadonlyArray<PageRegion> => {
  if (!Array.isArray(regions)) return []
  const out: Array<PageRegion> = []
  for (const r of regions) {
    if (!Array.isArray(r) || r.length !== 7 || !r.every((n) => typeof n === "number" && Number.isFinite(n))) continue
    const [s, e, page, x0, y0, x1, y1] = r as [number, number, number, number, number, number, number]
    if (s < end && start < e) out.push({ page, box: [x0, y0, x1, y1] })
  }
  return out
}

/** What a search returns. */
export interface SearchResult {
  readonly query: string
  readonly mode: SearchMode
  readonly k: number
  readonly hits: ReadonlyArray<Hit>
  /** The stages that ran, with their parameters. */
  readonly stages: ReadonlyArray<{ readonly stage: string; readonly candidates: number; readonly detail: string }>
}

/** What search needs from its service. */
export interface SearchContext {
  readonly embedder: EmbedderShape
  readonly reranker: Option.Option<RerankerShape>
  readonly fusion: Fusion
  readonly sparse: Sparse
  readonly rm3: Rm3 | false
}

const badConfig = (message: string) => new RetrievalError({ reason: "bad-config", message })

const isInt = (n: number, lo: number, hi: number) => Number.isInteger(n) && n >= lo && n <= hi

/** Resolves and checks the options of a search. */
export const resolveOptions = (
  options: SearchOptions,
  defaults: { readonly fusion: Fusion; readonly sparse: Sparse; readonly rm3: Rm3 | false }
) =>
  Effect.gen(function*() {
    const mode = options.mode ?? "hybrid"
    if (!SEARCH_MODES.includes(mode)) {
      return yield* badConfig(`unknown search mode "${String(mode)}": use sparse, dense or hybrid`)
    }
    const k = options.k ?? 10
    if (!isInt(k, 1, 1000)) return yield* badConfig(`k must be an integer from 1 to 1000, got ${k}`)
    const candidates = options.candidates ?? Math.min(10000, Math.max(50, 5 * k))
    if (!isInt(candidates, k, 10000)) {
      return yield* badConfig(`candidates must be an integer from k (${k}) to 10000, got ${candidates}`)
    }
    if (options.efSearch !== undefined) {
      if (!isInt(options.efSearch, 1, 1000)) {
        return yield* badConfig(`ef_search must be an integer from 1 to 1000, got ${options.efSearch}`)
      }
      if (options.efSearch < k) {
        return yield* badConfig(
          `ef_search (${options.efSearch}) must be at least k (${k}): HNSW returns at most ef_search neighbours`
        )
      }
    }
    const efSearch = options.efSearch ?? Math.min(1000, Math.max(40, candidates))
    const fusion = options.fusion ?? defaults.fusion
    const problems = fusionProblems(fusion)
    if (problems.length > 0) return yield* badConfig(problems.join("; "))
    const sparse = options.sparse ?? defaults.sparse
    const rm3 = options.rm3 ?? defaults.rm3
    const more = [
      ...sparseProblems(sparse),
      ...(rm3 === false ? [] : rm3Problems(rm3)),
      ...(options.rerankBlend === undefined ? [] : blendProblems(options.rerankBlend))
    ]
    if (more.length > 0) return yield* badConfig(more.join("; "))
    return {
      sparse,
      rm3,
      mode,
      k,
      candidates,
      efSearch,
      fusion,
      rerank: options.rerank ?? true,
      rerankBlend: options.rerankBlend,
      distinct: options.distinct ?? "chunk"
    }
  })

/** The sparse stage's SQL (`$1` the query text, `$2` the limit): any query lexeme matches, ranked by `ts_rank_cd` normalized by length. */
export const SPARSE_SQL = `WITH q AS (SELECT replace(plainto_tsquery('english', $1)::text, ' & ', ' | ')::tsquery AS q)
SELECT c.id, ts_rank_cd(c.tsv, q.q, 1)::float8 AS score
FROM retrieval_chunks c, q
WHERE c.tsv @@ q.q
ORDER BY score DESC, c.id
LIMIT $2`

/**
 * The dense stage's SQL for a dimension (`$1` the query vector, `$2` the
 * limit, `$3` the embedder id): nearest neighbours by cosine distance through
 * the HNSW index, then only the embedder's own vectors (filtering inside the
 * index scan would let the planner prefer the primary key and sort).
 */
export const denseSql = (dimension: number): string =>
  `WITH nn AS (
  SELECT chunk_id, embedder, embedding <=> $1::vector AS distance
  FROM ${vectorTable(dimension)}
  ORDER BY embedding <=> $1::vector
  LIMIT $2
)
SELECT chunk_id AS id, (1 - distance)::float8 AS score FROM nn WHERE embedder = $3 ORDER BY distance, chunk_id`

/** `ts_rank_cd` ranking: chunks matching any query lexeme, length-normalized, best first. */
const tsRankStage = (query: string, limit: number) =>
  Effect.flatMap(PgClient.PgClient, (sql) => sql.unsafe<{ id: string; score: number }>(SPARSE_SQL, [query, limit]))
    .pipe(
      Effect.map((rows): ReadonlyArray<Ranked> => rows.map((r) => ({ id: r.id, score: Number(r.score) }))),
      Effect.mapError(databaseError("sparse search failed"))
    )

/** The sparse stage: BM25 over the postings (the query analyzed, optionally RM3-expanded), or `ts_rank_cd`; best first. */
export const sparseStage = (
  query: string,
  limit: number,
  sparse: Sparse = { kind: "ts_rank" },
  rm3: Rm3 | false = false
): Effect.Effect<ReadonlyArray<Ranked>, RetrievalError, PgClient.PgClient | SqlClient> =>
  (sparse.kind === "ts_rank" ? tsRankStage(query, limit) : Effect.gen(function*() {
    const terms = yield* analyzeQuery(query)
    const expanded = rm3 === false ? terms : yield* expandQuery(terms, sparse, rm3)
    return yield* bm25Rank(expanded, sparse, limit)
  })).pipe(
    Effect.withSpan("retrieval.sparse", { attributes: { "retrieval.limit": limit, "retrieval.sparse": sparse.kind } })
  )

/** How a sparse setting is shown in the stages of a result. */
const sparseDetail = (sparse: Sparse, rm3: Rm3 | false): string =>
  sparse.kind === "ts_rank"
    ? "ts_rank_cd(tsv, any query lexeme, 1) over GIN"
    : `bm25 k1 ${sparse.k1} b ${sparse.b} over postings${
      rm3 === false ? "" : `, rm3 fbDocs ${rm3.fbDocs} fbTerms ${rm3.fbTerms} originalWeight ${rm3.originalWeight}`
    }`

/** The dense stage: nearest chunks by cosine distance through the HNSW index (score = 1 − distance), `SET LOCAL hnsw.ef_search` in the query's transaction. */
const denseStage = (embedder: EmbedderShape, query: string, limit: number, efSearch: number) =>
  Effect.gen(function*() {
    const db = yield* Database
    if (!db.vectorAvailable) return yield* vectorUnavailable()
    if (!(yield* hasVectorSpace(embedder.dimension))) return []
    const sql = yield* PgClient.PgClient
    const [vector] = yield* embedder.embed([query]).pipe(Effect.withSpan("retrieval.embed.query"))
    const literal = `[${(vector ?? []).join(",")}]`
    const rows = yield* sql.withTransaction(Effect.zipRight(
      sql.unsafe(`SET LOCAL hnsw.ef_search = ${efSearch}`),
      sql.unsafe<{ id: string; score: number }>(denseSql(embedder.dimension), [
        literal,
        Math.min(limit, efSearch),
        embedderId(embedder)
      ])
    )).pipe(Effect.mapError(databaseError("dense search failed")))
    return rows.map((r): Ranked => ({ id: r.id, score: Number(r.score) }))
  }).pipe(
    Effect.withSpan("retrieval.dense", { attributes: { "retrieval.limit": limit, "retrieval.efSearch": efSearch } })
  )

interface ChunkRow {
  readonly id: string
  readonly document_id: string
  readonly start_offset: number
  readonly end_offset: number
  readonly section: string
  readonly heading: string
  readonly text: string
  readonly ingestion_id: string
  readonly embedder: string | null
  readonly title: string
  readonly started_at: Date | string
  readonly regions: unknown
}

const hydrate = (ids: ReadonlyArray<string>) =>
  Effect.flatMap(PgClient.PgClient, (sql) =>
    ids.length === 0
      ? Effect.succeed([] as ReadonlyArray<ChunkRow>)
      : sql<ChunkRow>`
        SELECT c.id, c.document_id, c.start_offset, c.end_offset, c.section, c.heading, c.text, c.ingestion_id, c.embedder,
               d.title, i.started_at, d.metadata -> 'regions' AS regions
        FROM retrieval_chunks c
        JOIN retrieval_documents d ON d.id = c.document_id
        JOIN retrieval_ingestions i ON i.id = c.ingestion_id
        WHERE c.id IN ${sql.in(ids)}`).pipe(
      Effect.map((rows) => new Map(rows.map((r) => [r.id, r]))),
      Effect.mapError(databaseError("cannot read the chunks of the hits")),
      Effect.withSpan("retrieval.hydrate", { attributes: { "retrieval.chunks": ids.length } })
    )

const parseEmbedder = (id: string | null) => {
  if (id === null) return null
  const at = id.lastIndexOf("@")
  return at < 0 ? { name: id, version: "" } : { name: id.slice(0, at), version: id.slice(at + 1) }
}

const withRegions = (regions: ReadonlyArray<PageRegion>) => (regions.length === 0 ? {} : { regions })

type Resolved = Effect.Effect.Success<ReturnType<typeof resolveOptions>>

/** Shared by the modes of one query: stage lists, chunk rows and rerank scores already fetched. */
interface Shared {
  readonly rows: Map<string, ChunkRow>
  readonly rerank: Map<string, number>
}

const rowsFor = (shared: Shared, ids: ReadonlyArray<string>) =>
  Effect.map(hydrate(ids.filter((id) => !shared.rows.has(id))), (fetched) => {
    for (const [id, row] of fetched) shared.rows.set(id, row)
  })

/** Fusion, rerank and the evidence package of one mode, from the stage lists. */
const assemble = (
  ctx: SearchContext,
  query: string,
  o: Resolved,
  mode: SearchMode,
  lists: { readonly sparse: ReadonlyArray<Ranked>; readonly dense: ReadonlyArray<Ranked> },
  shared: Shared
) =>
  Effect.gen(function*() {
    const stages: Array<{ stage: string; candidates: number; detail: string }> = []
    const sparse = mode === "dense" ? [] : lists.sparse
    const dense = mode === "sparse" ? [] : lists.dense
    if (mode !== "dense") {
      stages.push({
        stage: "sparse",
        candidates: sparse.length,
        detail: sparseDetail(o.sparse, o.rm3)
      })
    }
    if (mode !== "sparse") {
      stages.push({
        stage: "dense",
        candidates: dense.length,
        detail: `cosine over HNSW, ef_search ${o.efSearch}, ${embedderId(ctx.embedder)}`
      })
    }
    const sparseRank = new Map(sparse.map((r, i) => [r.id, { score: r.score, rank: i + 1 }]))
    const denseRank = new Map(dense.map((r, i) => [r.id, { score: r.score, rank: i + 1 }]))
    const fused = mode === "hybrid"
      ? yield* Effect.sync(() => fuse(o.fusion, sparse, dense)).pipe(
        Effect.withSpan("retrieval.fuse", { attributes: { "retrieval.fusion": o.fusion.kind } })
      )
      : undefined
    if (fused !== undefined) {
      stages.push({
        stage: "fuse",
        candidates: fused.length,
        detail: o.fusion.kind === "rrf" ? `rrf k0 ${o.fusion.k0}` : `alpha ${o.fusion.alpha}`
      })
    }
    let ordered: ReadonlyArray<Ranked> = (fused ?? (mode === "sparse" ? sparse : dense)).slice(0, o.candidates)
    yield* rowsFor(shared, ordered.map((r) => r.id))
    const rows = shared.rows
    ordered = ordered.filter((r) => rows.has(r.id))
    let reranked = false
    if (o.rerank && Option.isSome(ctx.reranker)) {
      const reranker = ctx.reranker.value
      const missing = ordered.filter((r) => !shared.rerank.has(r.id))
        .map((r) => ({ chunkId: r.id, text: rows.get(r.id)!.text, heading: rows.get(r.id)!.heading }))
      if (missing.length > 0) {
        const scores = yield* reranker.rerank(query, missing).pipe(
          Effect.withSpan("retrieval.rerank", { attributes: { "retrieval.reranker": reranker.name } })
        )
        missing.forEach((c, i) => shared.rerank.set(c.chunkId, scores[i] ?? 0))
      }
      const keep = o.rerankBlend ?? reranker.blend ?? 0
      const blended = blendRerank(ordered.map((r) => shared.rerank.get(r.id)!), ordered.map((r) => r.score), keep)
      ordered = ordered.map((r, i) => ({ id: r.id, score: blended[i]!, at: i }))
        .sort((a, b) => b.score - a.score || a.at - b.at)
        .map((r) => ({ id: r.id, score: r.score }))
      stages.push({
        stage: "rerank",
        candidates: ordered.length,
        detail: keep === 0 ? reranker.name : `${reranker.name}, blended with the first stage (weight ${keep})`
      })
      reranked = true
    }
    const fusedScore = new Map((fused ?? []).map((r) => [r.id, r.score]))
    const hits: Array<Hit> = []
    const docs = new Set<string>()
    for (const r of ordered) {
      if (hits.length >= o.k) break
      const row = rows.get(r.id)!
      if (o.distinct === "document") {
        if (docs.has(row.document_id)) continue
        docs.add(row.document_id)
      }
      const rerank = reranked ? shared.rerank.get(r.id) ?? null : null
      const fusedS = fusedScore.get(r.id) ?? null
      hits.push({
        rank: hits.length + 1,
        documentId: row.document_id,
        chunkId: row.id,
        start: row.start_offset,
        end: row.end_offset,
        section: row.section,
        title: row.title,
        text: row.text,
        scores: {
          sparse: sparseRank.get(r.id) ?? null,
          dense: denseRank.get(r.id) ?? null,
          fused: fusedS,
          rerank,
          final: r.score
        },
        lineage: {
          ingestionId: row.ingestion_id,
          ingestedAt: row.started_at instanceof Date ? row.started_at.toISOString() : String(row.started_at),
          embedder: parseEmbedder(row.embedder)
        },
        ...withRegions(regionsOf(row.regions, row.start_offset, row.end_offset))
      })
    }
    return { query, mode, k: o.k, hits, stages } satisfies SearchResult
  })

/**
 * Runs one query in several modes, sharing the work they have in common
 * (each stage runs once, chunk rows and rerank scores are fetched once);
 * each result is what `search` with that mode returns.
 */
export const searchModes = (
  ctx: SearchContext,
  query: string,
  modes: ReadonlyArray<SearchMode>,
  options: Omit<SearchOptions, "mode"> = {}
): Effect.Effect<Partial<Record<SearchMode, SearchResult>>, RetrievalError, PgClient.PgClient | SqlClient | Database> =>
  Effect.gen(function*() {
    if (typeof query !== "string" || query.trim() === "") {
      return yield* new RetrievalError({ reason: "bad-input", message: "the query is empty" })
    }
    for (const m of modes) yield* resolveOptions({ ...options, mode: m }, ctx)
    const o = yield* resolveOptions(options, ctx)
    const needSparse = modes.some((m) => m !== "dense")
    const needDense = modes.some((m) => m !== "sparse")
    const db = yield* Database
    if (needDense && !db.vectorAvailable) return yield* vectorUnavailable()
    const [sparse, dense] = yield* Effect.all([
      needSparse ? sparseStage(query, o.candidates, o.sparse, o.rm3) : Effect.succeed([]),
      needDense ? denseStage(ctx.embedder, query, o.candidates, o.efSearch) : Effect.succeed([])
    ], { concurrency: 2 })
    const shared: Shared = { rows: new Map(), rerank: new Map() }
    const out: Partial<Record<SearchMode, SearchResult>> = {}
    for (const mode of modes) out[mode] = yield* assemble(ctx, query, o, mode, { sparse, dense }, shared)
    return out
  })

/** Runs a search: stages, fusion, rerank, evidence package. */
export const search = (
  ctx: SearchContext,
  query: string,
  options: SearchOptions = {}
): Effect.Effect<SearchResult, RetrievalError, PgClient.PgClient | SqlClient | Database> => {
  const mode = options.mode ?? "hybrid"
  return Effect.map(searchModes(ctx, query, [mode], options), (r) => r[mode]!).pipe(
    Effect.withSpan("retrieval.search", { attributes: { "retrieval.mode": mode, "retrieval.k": options.k ?? 10 } })
  )
}
