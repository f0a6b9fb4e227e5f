/**
 * The retrieval commands: `trellis ingest <file.jsonl|dir>`, `trellis search
 * "<query>"` and `trellis eval retrieval --data <dir>`. `ingest` and
 * `search` use the store's default backend (PGlite under TRELLIS_HOME or
 * ./.trellis, or TRELLIS_DATABASE_URL); `eval retrieval` ingests into a
 * throwaway in-memory PGlite unless `--use-store`. The embedder and the
 * reranker are the environment's (`TRELLIS_EMBEDDER`, `TRELLIS_RERANKER`,
 * the OpenAI-compatible TRELLIS_EMBEDDINGS_*; see `embedderSelect.ts`).
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as FileSystem from "@effect/platform/FileSystem"
import { Effect, Option } from "effect"
import * as Path from "node:path"
import { DEFAULT_ANALYZER, DEFAULT_BM25 } from "../retrieval/bm25.js"
import { loadCollection, parseDocuments } from "../retrieval/collection.js"
import { RetrievalError } from "../retrieval/errors.js"
import {
  defaultThresholdsFile,
  EVAL_DEPTH,
  loadThresholds,
  round4,
  runEval,
  shortfalls,
  thresholdsFor
} from "../retrieval/eval.js"
import type { EvalMetrics } from "../retrieval/eval.js"
import { DEFAULT_FUSION } from "../retrieval/fusion.js"
import type { IngestProgress } from "../retrieval/ingest.js"
import { DEFAULT_RM3 } from "../retrieval/rm3.js"
import type { Hit, SearchMode } from "../retrieval/search.js"
import { layerDefault, Retrieval } from "../retrieval/service.js"
import type { RetrievalSettings } from "../retrieval/service.js"
import type { DocumentInput } from "../retrieval/textNormalize.js"
import { layerFromEnv, layerPglite, MEMORY } from "../store/sql.js"
import { CliError, err, out } from "./io.js"
import { notWhileServed } from "./remote.js"

/** Why the retrieval commands cannot run while a server holds the store. */
const NO_RETRIEVAL_API =
  ", which has no retrieval API: stop it, or use PostgreSQL (TRELLIS_DATABASE_URL), which both can share"

const toCli = (e: { readonly _tag: string; readonly message: string }): CliError =>
  e instanceof RetrievalError ? new CliError({ message: e.display }) : new CliError({ message: e.message })

const sparseOnlyOption = Options.boolean("sparse-only").pipe(
  Options.withDescription("Sparse (full-text) only: no embeddings, works on PostgreSQL without pgvector")
)
const jsonOption = Options.boolean("json").pipe(Options.withDescription("Print the result as JSON"))

const chunkingOptions = {
  chunking: Options.choice("chunking", ["recursive", "sentence", "fixed"]).pipe(
    Options.withDefault("recursive" as const),
    Options.withDescription("How documents are cut into chunks")
  ),
  chunkSize: Options.integer("chunk-size").pipe(
    Options.withDefault(1000),
    Options.withDescription("Chunk size in characters")
  ),
  chunkOverlap: Options.integer("chunk-overlap").pipe(
    Options.withDefault(0),
    Options.withDescription("Characters (fixed) or trailing sentences' length shared by consecutive chunks")
  )
}

/** The sparse stage's options (analyzer, ranking, BM25 parameters, RM3). */
const sparseOptions = {
  analyzer: Options.text("analyzer").pipe(
    Options.withDefault(DEFAULT_ANALYZER),
    Options.withDescription("BM25 analyzer: a PostgreSQL text search configuration (english, simple, …)")
  ),
  sparse: Options.choice("sparse", ["bm25", "ts_rank"]).pipe(
    Options.withDefault("bm25" as const),
    Options.withDescription("Sparse ranking: exact BM25 over the postings, or ts_rank_cd")
  ),
  k1: Options.float("k1").pipe(Options.withDefault(DEFAULT_BM25.k1), Options.withDescription("BM25 k1")),
  b: Options.float("b").pipe(Options.withDefault(DEFAULT_BM25.b), Options.withDescription("BM25 b")),
  rm3: Options.boolean("rm3").pipe(
    Options.withDescription("RM3 pseudo-relevance feedback on the sparse stage (10 feedback chunks, 10 terms, 0.5)")
  )
}

/** The settings of the sparse options given. */
const sparseSettingsOf = (
  o: {
    readonly analyzer?: string
    readonly sparse?: "bm25" | "ts_rank"
    readonly k1?: number
    readonly b?: number
    readonly rm3?: boolean
  }
): Partial<RetrievalSettings> => ({
  ...(o.analyzer === undefined ? {} : { analyzer: o.analyzer }),
  ...(o.sparse === undefined ? {} : {
    sparse: o.sparse === "ts_rank"
      ? { kind: "ts_rank" }
      : { kind: "bm25", k1: o.k1 ?? DEFAULT_BM25.k1, b: o.b ?? DEFAULT_BM25.b }
  }),
  ...(o.rm3 === true ? { rm3: DEFAULT_RM3 } : {})
})

const settingsOf = (
  o: {
    readonly chunking: "recursive" | "sentence" | "fixed"
    readonly chunkSize: number
    readonly chunkOverlap: number
    readonly analyzer?: string
    readonly sparse?: "bm25" | "ts_rank"
    readonly k1?: number
    readonly b?: number
    readonly rm3?: boolean
  }
): Partial<RetrievalSettings> => ({
  chunking: { kind: o.chunking, size: o.chunkSize, overlap: o.chunkOverlap },
  ...sparseSettingsOf(o)
})

/** Reads documents from a `.jsonl` file, or every `.jsonl`, `.md` and `.txt` file under a directory. */
const readDocuments = (
  path: string
): Effect.Effect<ReadonlyArray<DocumentInput>, RetrievalError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const stat = yield* fs.stat(path).pipe(
      Effect.mapError(() =>
        new RetrievalError({ reason: "data", message: "no such file or directory", location: path })
      )
    )
    const isDirectory = stat.type === "Directory"
    const files = isDirectory
      ? (yield* fs.readDirectory(path, { recursive: true }).pipe(
        Effect.mapError(() =>
          new RetrievalError({ reason: "data", message: "cannot list the directory", location: path })
        )
      ))
        .filter((f) => /\.(jsonl|md|markdown|txt)$/i.test(f))
        .sort()
        .map((f) => Path.join(path, f))
      : [path]
    const docs: Array<DocumentInput> = []
    for (const file of files) {
      const text = yield* fs.readFileString(file, "utf8").pipe(
        Effect.mapError(() => new RetrievalError({ reason: "data", message: "cannot read", location: file }))
      )
      // One push per document: spreading a large file's documents into push overflows the stack.
      if (/\.jsonl$/i.test(file)) { for (const doc of yield* parseDocuments(file, text)) docs.push(doc) }
      else {
        const id = isDirectory ? Path.relative(path, file).split(Path.sep).join("/") : Path.basename(file)
        const heading = /^#{1,6}[ \t]+(.+)$/m.exec(text)
        docs.push({ id, text, title: heading?.[1]?.trim() ?? Path.basename(file) })
      }
    }
    if (docs.length === 0) {
      return yield* new RetrievalError({
        reason: "data",
        message: "no documents (.jsonl, .md or .txt files) found",
        location: path
      })
    }
    return docs
  })

/**
 * Ingestion progress on stderr: a bar redrawn in place on a terminal; when
 * stderr is piped, a plain line at each further tenth of the documents.
 */
export const progressBar = (
  total: number,
  tty: boolean = process.stderr.isTTY === true,
  write: (text: string) => void = (text) => process.stderr.write(text)
) => {
  let lastTenth = 0
  return {
    update: (p: IngestProgress) =>
      Effect.sync(() => {
        const share = p.documents / Math.max(1, total)
        if (!tty) {
          const tenth = Math.floor(share * 10)
          if (tenth > lastTenth) {
            lastTenth = tenth
            write(`ingested ${p.documents}/${total} documents (${Math.round(share * 100)}%), ${p.chunks} chunks\n`)
          }
          return
        }
        const width = 30
        const filled = Math.round(share * width)
        write(
          `\r[${"#".repeat(filled)}${".".repeat(width - filled)}] ${p.documents}/${total} documents, ${p.chunks} chunks`
        )
      }),
    done: Effect.sync(() => {
      if (tty) write("\n")
    })
  }
}

/** `trellis ingest <file.jsonl|dir>`. */
export const ingestCommand = Command.make(
  "ingest",
  {
    path: Args.text({ name: "file.jsonl|dir" }).pipe(
      Args.withDescription("A JSONL file of {id, title?, text, metadata?}, or a directory of .jsonl/.md/.txt files")
    ),
    sparseOnly: sparseOnlyOption,
    json: jsonOption,
    analyzer: sparseOptions.analyzer,
    ...chunkingOptions
  },
  (o) =>
    Effect.zipRight(
      notWhileServed(NO_RETRIEVAL_API),
      Effect.gen(function*() {
        const docs = yield* readDocuments(o.path)
        const bar = progressBar(docs.length)
        const retrieval = yield* Retrieval
        const report = yield* retrieval.ingest(docs, {
          source: Path.resolve(o.path),
          sparseOnly: o.sparseOnly,
          onProgress: bar.update
        }).pipe(
          Effect.ensuring(bar.done)
        )
        if (o.json) return yield* out(JSON.stringify(report, null, 2))
        yield* out(
          `ingested ${report.documents} documents (${report.added} added, ${report.replaced} replaced, ${report.unchanged} unchanged), ` +
            `${report.chunks} chunks, ingestion ${report.ingestionId}, embedder ${
              report.embedder ?? "none (sparse only)"
            }`
        )
      }).pipe(
        Effect.provide(layerDefault(layerFromEnv, { settings: settingsOf(o) })),
        Effect.mapError(toCli)
      )
    )
).pipe(Command.withDescription("Ingest documents into the store: normalize, chunk, embed, index"))

const excerpt = (text: string, n = 160) => {
  const one = text.replace(/\s+/g, " ")
  return one.length > n ? `${one.slice(0, n - 1)}…` : one
}

const formatHit = (h: Hit): string => {
  const s = h.scores
  const parts = [
    s.sparse === null ? undefined : `sparse #${s.sparse.rank} ${s.sparse.score.toFixed(4)}`,
    s.dense === null ? undefined : `dense #${s.dense.rank} ${s.dense.score.toFixed(4)}`,
    s.fused === null ? undefined : `fused ${s.fused.toFixed(4)}`,
    s.rerank === null ? undefined : `rerank ${s.rerank.toFixed(4)}`
  ].filter((x) => x !== undefined)
  const where = h.section !== "" ? ` § ${h.section}` : h.title !== "" ? ` — ${h.title}` : ""
  return `${h.rank}. ${h.documentId} [${h.start}:${h.end}]${where}\n   ${parts.join(", ")}\n   ${excerpt(h.text)}`
}

/** `trellis search "<query>"`. */
export const searchCommand = Command.make(
  "search",
  {
    query: Args.text({ name: "query" }),
    mode: Options.choice("mode", ["sparse", "dense", "hybrid"]).pipe(Options.withDefault("hybrid" as const)),
    k: Options.integer("k").pipe(Options.withDefault(10), Options.withDescription("Hits to return")),
    efSearch: Options.integer("ef-search").pipe(
      Options.optional,
      Options.withDescription("HNSW ef_search (at least k)")
    ),
    fusion: Options.choice("fusion", ["rrf", "alpha"]).pipe(Options.withDefault(DEFAULT_FUSION.kind)),
    k0: Options.integer("k0").pipe(Options.withDefault(60), Options.withDescription("RRF k0")),
    alpha: Options.float("alpha").pipe(
      Options.withDefault(0.2),
      Options.withDescription("Dense weight of the alpha blend")
    ),
    noRerank: Options.boolean("no-rerank").pipe(Options.withDescription("Skip the lexical rerank stage")),
    documents: Options.boolean("documents").pipe(Options.withDescription("At most one hit per document")),
    sparseOnly: sparseOnlyOption,
    json: jsonOption,
    ...sparseOptions
  },
  (o) =>
    Effect.zipRight(
      notWhileServed(NO_RETRIEVAL_API),
      Effect.gen(function*() {
        const retrieval = yield* Retrieval
        const mode: SearchMode = o.sparseOnly ? "sparse" : o.mode
        const result = yield* retrieval.search(o.query, {
          mode,
          k: o.k,
          ...(Option.isSome(o.efSearch) ? { efSearch: o.efSearch.value } : {}),
          fusion: o.fusion === "rrf" ? { kind: "rrf", k0: o.k0 } : { kind: "alpha", alpha: o.alpha },
          rerank: !o.noRerank,
          distinct: o.documents ? "document" : "chunk"
        })
        if (o.json) return yield* out(JSON.stringify(result, null, 2))
        if (result.hits.length === 0) return yield* out("no hits")
        yield* out(result.hits.map(formatHit).join("\n"))
      }).pipe(
        Effect.provide(layerDefault(layerFromEnv, { settings: sparseSettingsOf(o) })),
        Effect.mapError(toCli)
      )
    )
).pipe(Command.withDescription("Search the ingested documents (sparse, dense or hybrid)"))

const fmt = (x: number) => x.toFixed(4)

const rounded = (r: EvalMetrics) => ({
  recall: round4(r.recall),
  mrr: round4(r.mrr),
  ndcg: round4(r.ndcg),
  recall100: round4(r.recall100)
})

/** `trellis eval retrieval --data <dir>`. */
export const evalRetrievalCommand = Command.make(
  "retrieval",
  {
    data: Options.text("data").pipe(
      Options.withDescription("A collection folder: corpus.jsonl, queries.jsonl, qrels.tsv")
    ),
    k: Options.integer("k").pipe(Options.withDefault(10)),
    split: Options.text("split").pipe(
      Options.optional,
      Options.withDescription("The subfolder holding queries.jsonl and qrels.tsv")
    ),
    thresholds: Options.text("thresholds").pipe(
      Options.optional,
      Options.withDescription("A thresholds file (default: the committed one)")
    ),
    useStore: Options.boolean("use-store").pipe(
      Options.withDescription("Ingest into the configured store instead of a throwaway in-memory database")
    ),
    noRerank: Options.boolean("no-rerank").pipe(Options.withDescription("Skip the lexical rerank stage")),
    sparseOnly: sparseOnlyOption,
    json: jsonOption,
    ...sparseOptions,
    ...chunkingOptions
  },
  (o) =>
    Effect.zipRight(
      o.useStore ? notWhileServed(NO_RETRIEVAL_API) : Effect.void,
      Effect.gen(function*() {
        if (o.k < 1 || o.k > 1000) {
          return yield* new CliError({ message: `--k must be from 1 to 1000, got ${o.k}`, exitCode: 2 })
        }
        const collection = yield* loadCollection(o.data, Option.getOrUndefined(o.split))
        const thresholdsFile = Option.isSome(o.thresholds) ? o.thresholds.value : yield* defaultThresholdsFile()
        const thresholds = thresholdsFile === undefined ? {} : yield* loadThresholds(thresholdsFile)
        const floors = thresholdsFor(thresholds, collection.name, o.k, !o.noRerank)
        const modes: ReadonlyArray<SearchMode> = o.sparseOnly ? ["sparse"] : ["sparse", "dense", "hybrid"]
        const bar = progressBar(collection.documents.length)
        const run = yield* runEval(collection, {
          k: o.k,
          modes,
          sparseOnly: o.sparseOnly,
          search: { rerank: !o.noRerank },
          onIngestProgress: bar.update
        }).pipe(Effect.ensuring(bar.done))
        if (o.json) {
          const json = Object.fromEntries(modes.map((m) => {
            const r = run.results[m]!
            return [m, rounded(r)]
          }))
          yield* out(JSON.stringify({ ...json, bm25: rounded(run.reference) }))
        } else {
          yield* out(
            `${collection.name}: ${collection.documents.length} documents, ${collection.queries.length} queries, k = ${o.k}; ingest ${
              (run.ingestMs / 1000).toFixed(1)
            } s (${run.ingested.chunks} chunks), queries ${(run.searchMs / 1000).toFixed(1)} s; embedder ${
              run.ingested.embedder ?? "none (sparse only)"
            }`
          )
          yield* out(`mode      recall@${o.k}  mrr@${o.k}    ndcg@${o.k}   recall@${EVAL_DEPTH}`)
          const line = (name: string, r: EvalMetrics) =>
            out(`${name.padEnd(9)} ${fmt(r.recall)}     ${fmt(r.mrr)}    ${fmt(r.ndcg)}    ${fmt(r.recall100)}`)
          for (const m of modes) yield* line(m, run.results[m]!)
          yield* line("bm25 ref", run.reference)
          yield* out("(bm25 ref: in-memory Okapi BM25 per document, k1 0.9, b 0.4, Lucene English analysis)")
        }
        if (floors === undefined) {
          yield* err(
            `no thresholds for ${collection.name} at k = ${o.k}${o.noRerank ? " without rerank" : ""}; nothing gated`
          )
          return
        }
        const below = shortfalls(run.results, floors)
        for (const s of below) {
          yield* err(
            `below threshold: ${collection.name} ${s.mode} ${
              s.metric === "recall100" ? `recall@${EVAL_DEPTH}` : `${s.metric}@${o.k}`
            } = ${fmt(s.value)} < ${fmt(s.threshold)}`
          )
        }
        if (below.length > 0) {
          return yield* new CliError({
            message: `${below.length} metric${below.length === 1 ? "" : "s"} below threshold on ${collection.name}`
          })
        }
        if (!o.json) {
          yield* err(`all metrics at or above the thresholds for ${collection.name} at k = ${o.k}`)
        }
      }).pipe(
        Effect.provide(
          layerDefault(o.useStore ? layerFromEnv : layerPglite(MEMORY), {
            settings: settingsOf(o),
            ...(o.noRerank ? { reranker: false as const } : {})
          })
        ),
        Effect.catchIf((e): e is Exclude<typeof e, CliError> => !(e instanceof CliError), (e) => Effect.fail(toCli(e)))
      )
    )
).pipe(
  Command.withDescription(
    "Evaluate retrieval on a test collection: Recall@K, MRR@K, nDCG@K per mode; exit 1 below the thresholds"
  )
)

/**
 * @effect/cli spells a one-letter option `-k`; the retrieval commands also
 * accept `--k N` / `--k=N` (as SPEC and the issue write it). Rewrites those
 * arguments for the `ingest`, `search` and `eval` commands only.
 */
export const normalizeArgv = (argv: ReadonlyArray<string>): Array<string> => {
  const command = argv.slice(2).find((a) => !a.startsWith("-"))
  if (command !== "search" && command !== "eval" && command !== "ingest") return [...argv]
  return argv.map((a) => (a === "--k" ? "-k" : a.startsWith("--k=") ? `-k=${a.slice(4)}` : a))
}
