/**
 * Benchmark of retrieval (issue 7, item 6): on N generated clustered unit
 * vectors (d = 384, N = 100,000 by default; `--retrieval-size=N` or
 * TRELLIS_BENCH_RETRIEVAL_SIZE to change it) in embedded PGlite: bulk load
 * time, HNSW build time (m = 16, ef_construction = 64), then for ef_search
 * ∈ {10, 40, 100, 200} the recall@10 against exact search (brute force in
 * JS) and the query latency (p50, p95) over 100 queries; plus ingestion
 * throughput (documents/s) of the whole pipeline (normalize, chunk, local
 * embedder, write, HNSW) on SciFact's corpus (TRELLIS_IR_DATA, default
 * ../shared/data/ir); and the retrieval quality of each mode (sparse,
 * dense, hybrid) on the collections there (cranfield; SciFact's train
 * split), nDCG@10, MRR@10, Recall@10 and Recall@100, with and without the
 * rerank stage, beside the in-memory BM25 reference (k1 0.9, b 0.4).
 * `--retrieval-part=quality` (or `vectors`) runs one part only. The suite
 * runs in its own process; it writes scripts/bench/results/retrieval.json
 * (a part run alone keeps the other part's last results).
 */
import { execFileSync } from "node:child_process"
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import * as os from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const D = 384
const K = 10
const QUERIES = 100
const EF = [10, 40, 100, 200] as const

const sizeFromArgs = (argv: ReadonlyArray<string>): number => {
  const flag = argv.find((a) => a.startsWith("--retrieval-size="))
  const raw = flag?.slice("--retrieval-size=".length) ?? process.env.TRELLIS_BENCH_RETRIEVAL_SIZE ?? "100000"
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 1000) throw new Error(`retrieval bench size must be an integer ≥ 1000, got ${raw}`)
  return n
}

/** A seeded PRNG (mulberry32) and a standard normal from it. */
const prng = (seed: number) => {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const normal = () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next())
  return { next, normal }
}

const unit = (v: Float32Array): Float32Array => {
  let n = 0
  for (const x of v) n += x * x
  n = Math.sqrt(n)
  for (let i = 0; i < v.length; i++) v[i]! /= n
  return v
}

/**
 * N points in 100 clusters, each a centre plus a random 16-dimensional
 * subspace (coefficients σ = 0.3) plus small isotropic noise (σ = 0.02),
 * normalized: low intrinsic dimension within a cluster, as text embeddings have.
 */
const clustered = (n: number, seed: number): Array<Float32Array> => {
  const r = prng(seed)
  const centres = Array.from({ length: 100 }, () => ({
    centre: unit(Float32Array.from({ length: D }, r.normal)),
    basis: Array.from({ length: 16 }, () => unit(Float32Array.from({ length: D }, r.normal)))
  }))
  return Array.from({ length: n }, () => {
    const c = centres[Math.floor(r.next() * centres.length)]!
    const v = Float32Array.from({ length: D }, (_, i) => c.centre[i]! + 0.02 * r.normal())
    for (const b of c.basis) {
      const z = 0.3 * r.normal()
      for (let i = 0; i < D; i++) v[i]! += z * b[i]!
    }
    return unit(v)
  })
}

const literal = (v: Float32Array) => `[${Array.from(v, (x) => x.toFixed(6)).join(",")}]`
const percentile = (xs: ReadonlyArray<number>, p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!

/** The worker: runs in its own process, prints the report as the last line. */
const worker = async (size: number) => {
  const { PGlite } = await import("@electric-sql/pglite")
  const { vector } = await import("@electric-sql/pglite-pgvector")
  const log = (s: string) => process.stderr.write(`${s}\n`)
  const points = clustered(size, 7)
  const queries = clustered(size + QUERIES, 7).slice(size) // same clusters, unseen points
  const t0 = performance.now()
  const db = await PGlite.create(undefined, { extensions: { vector } })
  await db.exec(
    `CREATE EXTENSION vector; CREATE TABLE v (id integer PRIMARY KEY, e vector(${D}) NOT NULL); SET maintenance_work_mem = '1GB'`
  )
  const openMs = performance.now() - t0
  const t1 = performance.now()
  for (let i = 0; i < size; i += 1000) {
    const part = points.slice(i, i + 1000)
    await db.query(`INSERT INTO v SELECT * FROM unnest($1::int[], $2::text[]::vector[])`, [
      part.map((_, j) => i + j),
      part.map(literal)
    ])
  }
  const loadMs = performance.now() - t1
  log(`retrieval bench: loaded ${size} vectors in ${(loadMs / 1000).toFixed(1)} s; building HNSW…`)
  const t2 = performance.now()
  await db.exec(`CREATE INDEX v_hnsw ON v USING hnsw (e vector_cosine_ops) WITH (m = 16, ef_construction = 64)`)
  const buildMs = performance.now() - t2
  log(`retrieval bench: HNSW built in ${(buildMs / 1000).toFixed(1)} s`)
  // Exact neighbours by brute force (cosine = dot product of unit vectors).
  const exact = queries.map((q) => {
    const best: Array<[number, number]> = []
    points.forEach((p, id) => {
      let s = 0
      for (let i = 0; i < D; i++) s += p[i]! * q[i]!
      if (best.length < K || s > best[best.length - 1]![0]) {
        best.push([s, id])
        best.sort((a, b) => b[0] - a[0])
        if (best.length > K) best.pop()
      }
    })
    return new Set(best.map(([, id]) => id))
  })
  const rows = []
  for (const ef of EF) {
    const latencies: Array<number> = []
    let found = 0
    for (let qi = 0; qi < queries.length; qi++) {
      const q = literal(queries[qi]!)
      const t = performance.now()
      const res = await db.transaction(async (tx) => {
        await tx.exec(`SET LOCAL hnsw.ef_search = ${ef}`)
        return tx.query<{ id: number }>(`SELECT id FROM v ORDER BY e <=> $1::vector LIMIT ${K}`, [q])
      })
      latencies.push(performance.now() - t)
      for (const r of res.rows) if (exact[qi]!.has(r.id)) found++
    }
    const row = {
      efSearch: ef,
      recallAt10: found / (queries.length * K),
      p50Ms: percentile(latencies, 0.5),
      p95Ms: percentile(latencies, 0.95)
    }
    rows.push(row)
    log(
      `retrieval bench: ef_search ${ef}: recall@10 ${row.recallAt10.toFixed(3)}, p50 ${row.p50Ms.toFixed(2)} ms, p95 ${
        row.p95Ms.toFixed(2)
      } ms`
    )
  }
  const plan = await db.query<{ "QUERY PLAN": string }>(
    `EXPLAIN SELECT id FROM v ORDER BY e <=> '${literal(queries[0]!)}'::vector LIMIT 10`
  )
  await db.close()
  return {
    size,
    openMs,
    loadMs,
    buildMs,
    hnsw: { m: 16, efConstruction: 64 },
    queries: QUERIES,
    k: K,
    efSearch: rows,
    planUsesHnsw: plan.rows.some((r) => r["QUERY PLAN"].includes("v_hnsw"))
  }
}

/** Ingestion throughput of the whole pipeline on SciFact (in-memory PGlite, local embedder). */
const ingestWorker = async () => {
  const dataDir = resolve(process.env.TRELLIS_IR_DATA ?? join(here, "..", "..", "..", "shared", "data", "ir"))
  const dir = join(dataDir, "scifact")
  if (!existsSync(join(dir, "corpus.jsonl"))) {
    return { skipped: `no SciFact corpus under ${dataDir} (set TRELLIS_IR_DATA)` }
  }
  const { Effect } = await import("effect")
  const { loadCollection } = await import("../../src/retrieval/collection.js")
  const { layerDefault, Retrieval } = await import("../../src/retrieval/service.js")
  const { layerPglite, MEMORY } = await import("../../src/store/sql.js")
  const { NodeFileSystem } = await import("@effect/platform-node")
  return Effect.runPromise(
    Effect.gen(function*() {
      const c = yield* loadCollection(dir)
      const r = yield* Retrieval
      const t = performance.now()
      const report = yield* r.ingest(c.documents)
      const ms = performance.now() - t
      const t2 = performance.now()
      const again = yield* r.ingest(c.documents)
      const reMs = performance.now() - t2
      return {
        documents: report.documents,
        chunks: report.chunks,
        ms,
        docsPerSecond: report.documents / (ms / 1000),
        reingestUnchanged: again.unchanged,
        reingestMs: reMs
      }
    }).pipe(
      Effect.provide(layerDefault(layerPglite(MEMORY), { embedderFromEnv: false })),
      Effect.provide(NodeFileSystem.layer)
    )
  )
}

/** Retrieval quality per mode (with and without the rerank stage) and the BM25 reference, on each collection present. */
const qualityWorker = async () => {
  const dataDir = resolve(process.env.TRELLIS_IR_DATA ?? join(here, "..", "..", "..", "shared", "data", "ir"))
  const { Effect } = await import("effect")
  const { loadCollection } = await import("../../src/retrieval/collection.js")
  const { runEval } = await import("../../src/retrieval/eval.js")
  const { layerDefault } = await import("../../src/retrieval/service.js")
  const { layerPglite, MEMORY } = await import("../../src/store/sql.js")
  const { NodeFileSystem } = await import("@effect/platform-node")
  const out: Record<string, unknown> = {}
  for (const name of ["cranfield", "scifact"]) {
    if (!existsSync(join(dataDir, name, "corpus.jsonl"))) continue
    process.stderr.write(`retrieval bench: quality on ${name}…\n`)
    const r4 = (x: number) => Math.round(x * 10000) / 10000
    const metrics = (m: { recall: number; mrr: number; ndcg: number; recall100: number }) => ({
      ndcg10: r4(m.ndcg),
      mrr10: r4(m.mrr),
      recall10: r4(m.recall),
      recall100: r4(m.recall100)
    })
    out[name] = await Effect.runPromise(
      Effect.gen(function*() {
        const c = yield* loadCollection(join(dataDir, name))
        const modes = ["sparse", "dense", "hybrid"] as const
        const plain = yield* runEval(c, { k: K, modes, search: { rerank: false } })
        const reranked = yield* runEval(c, { k: K, modes, search: { rerank: true } })
        return {
          documents: c.documents.length,
          queries: c.queries.length,
          bm25Reference: metrics(plain.reference),
          modes: Object.fromEntries(modes.map((m) => [m, metrics(plain.results[m]!)])),
          withLexicalRerank: Object.fromEntries(modes.map((m) => [m, metrics(reranked.results[m]!)]))
        }
      }).pipe(
        Effect.provide(layerDefault(layerPglite(MEMORY), { embedderFromEnv: false })),
        Effect.provide(NodeFileSystem.layer)
      )
    )
  }
  return out
}

const partFromArgs = (argv: ReadonlyArray<string>): "all" | "quality" | "vectors" => {
  const flag = argv.find((a) => a.startsWith("--retrieval-part="))
  const part = flag?.slice("--retrieval-part=".length) ?? "all"
  if (part !== "all" && part !== "quality" && part !== "vectors") {
    throw new Error(`--retrieval-part must be all, quality or vectors, got ${part}`)
  }
  return part
}

/** Runs the suite in a child process, prints a summary, writes the JSON report. */
export const runRetrievalBench = (): Record<string, unknown> => {
  const size = sizeFromArgs(process.argv)
  const output = execFileSync(process.execPath, [
    "--max-old-space-size=8192",
    "--import",
    "tsx",
    fileURLToPath(import.meta.url),
    "--worker",
    String(size),
    partFromArgs(process.argv)
  ], {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    stdio: ["ignore", "pipe", "inherit"]
  })
  const result = JSON.parse(output.trim().split("\n").pop() ?? "{}") as Record<string, unknown>
  const file = join(here, "results", "retrieval.json")
  const previous = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown> : {}
  const report = {
    ...previous,
    bench: "retrieval",
    node: process.version,
    cpus: os.cpus().length,
    loadAverage: os.loadavg(),
    note:
      "PGlite in memory (WASM, single connection); vectors are unit-length, clustered (100 centres); exact neighbours by brute force; latency = one SET LOCAL + query transaction; ingestion = normalize + chunk + local embedder + write + HNSW build; quality = trellis eval retrieval per mode (documents, k 10, 100 deep) with the local feature-hashing embedder, beside an in-memory document-level BM25 (k1 0.9, b 0.4)",
    ...result
  }
  mkdirSync(join(here, "results"), { recursive: true })
  writeFileSync(file, JSON.stringify(report, null, 2) + "\n")
  console.log(`retrieval: wrote scripts/bench/results/retrieval.json`)
  return report
}

if (process.argv[2] === "--worker") {
  const size = Number(process.argv[3])
  const part = process.argv[4] ?? "all"
  const result: Record<string, unknown> = {}
  if (part !== "quality") {
    result.vectors = await worker(size)
    process.stderr.write("retrieval bench: ingesting SciFact…\n")
    result.ingestion = await ingestWorker()
  }
  if (part !== "vectors") result.quality = await qualityWorker()
  process.stdout.write(JSON.stringify(result) + "\n")
}
