/**
 * The eval gate: ingest a collection, run every query in every mode, and
 * compare Recall@K, MRR@K, nDCG@K and Recall@100 with committed thresholds
 * (`thresholds.json`: collection name → K → mode → metric → minimum). Each
 * query retrieves max(K, 100) documents; the metrics at K look at the first
 * K. Beside the modes, the in-memory BM25 reference (`bm25Reference.ts`).
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Effect, Schema } from "effect"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { referenceMetrics } from "./bm25Reference.js"
import type { Collection } from "./collection.js"
import { RetrievalError } from "./errors.js"
import type { IngestProgress, IngestReport } from "./ingest.js"
import { evaluate, METRIC_NAMES } from "./metrics.js"
import type { Metrics } from "./metrics.js"
import type { SearchMode, SearchOptions } from "./search.js"
import { Retrieval } from "./service.js"

/** The metrics at K and Recall@100. */
export interface EvalMetrics extends Metrics {
  readonly recall100: number
}

/** Metrics per mode (only the modes that ran). */
export type EvalResults = Partial<Record<SearchMode, EvalMetrics>>

/** How deep each eval query retrieves (for Recall@100). */
export const EVAL_DEPTH = 100

/** Chunks each stage retrieves in the eval (at least 5 × K): enough for 100 distinct documents on collections of short documents. */
export const EVAL_CANDIDATES = 150

/** Options of `runEval`. */
export interface EvalOptions {
  readonly k: number
  readonly modes: ReadonlyArray<SearchMode>
  /** Extra search options (fusion, candidates, rerank). @default {} */
  readonly search?: Omit<SearchOptions, "mode" | "k" | "distinct">
  /** Index sparse-only (no embeddings). @default false */
  readonly sparseOnly?: boolean
  readonly onIngestProgress?: (p: IngestProgress) => Effect.Effect<void>
}

/** Ingests the collection and evaluates each mode. */
export const runEval = (collection: Collection, options: EvalOptions) =>
  Effect.gen(function*() {
    const retrieval = yield* Retrieval
    const started = Date.now()
    const ingested: IngestReport = yield* retrieval.ingest(collection.documents, {
      source: collection.name,
      sparseOnly: options.sparseOnly === true,
      ...(options.onIngestProgress === undefined ? {} : { onProgress: options.onIngestProgress })
    })
    const ingestMs = Date.now() - started
    const t0 = Date.now()
    const runs = new Map(options.modes.map((m) => [m, new Map<string, ReadonlyArray<string>>()] as const))
    for (const q of collection.queries) {
      const byMode = yield* retrieval.searchModes(q.text, options.modes, {
        candidates: Math.max(EVAL_CANDIDATES, 5 * options.k),
        ...options.search,
        k: Math.max(options.k, EVAL_DEPTH),
        distinct: "document"
      })
      for (const m of options.modes) runs.get(m)!.set(q.id, (byMode[m]?.hits ?? []).map((h) => h.documentId))
    }
    const searchMs = Date.now() - t0
    const results: EvalResults = {}
    for (const m of options.modes) {
      const r = evaluate(runs.get(m)!, collection.qrels, options.k)
      const deep = evaluate(runs.get(m)!, collection.qrels, EVAL_DEPTH)
      results[m] = { recall: r.recall, mrr: r.mrr, ndcg: r.ndcg, recall100: deep.recall }
    }
    const ref = referenceMetrics(collection, options.k, EVAL_DEPTH)
    const reference: EvalMetrics = { recall: ref.recall, mrr: ref.mrr, ndcg: ref.ndcg, recall100: ref.recallDeep }
    return { results, reference, ingested, ingestMs, searchMs }
  }).pipe(
    Effect.withSpan("retrieval.eval", {
      attributes: { "retrieval.collection": collection.name, "retrieval.k": options.k }
    })
  )

const Floor = Schema.Struct({
  recall: Schema.Number,
  mrr: Schema.Number,
  ndcg: Schema.Number,
  recall100: Schema.optional(Schema.Number)
})
/** The thresholds file: collection → K (as a string, `"10"` or `"10:no-rerank"`) → mode → metric minimums. */
export const Thresholds = Schema.Record({
  key: Schema.String,
  value: Schema.Record({
    key: Schema.String,
    value: Schema.partial(Schema.Struct({ sparse: Floor, dense: Floor, hybrid: Floor }))
  })
})
/** The decoded thresholds file. */
export type Thresholds = typeof Thresholds.Type

/** The name of the committed thresholds file at the repository root. */
const THRESHOLDS_FILE_NAME = "retrieval-thresholds.json"

/**
 * The committed thresholds file: the first `retrieval-thresholds.json` in
 * this module's folder or above it (the repository root, whether the CLI
 * runs from the sources or from the bundle in dist/).
 */
export const defaultThresholdsFile = (
  from: string = Path.dirname(fileURLToPath(import.meta.url))
): Effect.Effect<string | undefined, never, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    for (let dir = from;; dir = Path.dirname(dir)) {
      const candidate = Path.join(dir, THRESHOLDS_FILE_NAME)
      if (yield* Effect.orElseSucceed(fs.exists(candidate), () => false)) return candidate
      if (Path.dirname(dir) === dir) return undefined
    }
  })

/** Reads and checks a thresholds file. */
export const loadThresholds = (file: string): Effect.Effect<Thresholds, RetrievalError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const where = file
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(file, "utf8").pipe(
      Effect.mapError(() =>
        new RetrievalError({ reason: "data", message: "cannot read the thresholds file", location: where })
      )
    )
    const json = yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: (e) =>
        new RetrievalError({
          reason: "bad-input",
          message: `not JSON (${e instanceof Error ? e.message : String(e)})`,
          location: where
        })
    })
    return yield* Schema.decodeUnknown(Thresholds)(json).pipe(
      Effect.mapError((e) =>
        new RetrievalError({
          reason: "bad-input",
          message: `not a thresholds file: ${e.message.split("\n").join(" ")}`,
          location: where
        })
      )
    )
  })

/** One metric below its threshold. */
export interface Shortfall {
  readonly mode: SearchMode
  readonly metric: keyof EvalMetrics
  readonly value: number
  readonly threshold: number
}

/** The thresholds that apply to a collection and K (key `"10"`; `"10:no-rerank"` for runs without the rerank stage), if any. */
export const thresholdsFor = (thresholds: Thresholds, collection: string, k: number, rerank = true) =>
  thresholds[collection]?.[rerank ? String(k) : `${k}:no-rerank`]

/** The metrics below their thresholds (compared at 4 decimals, as printed). */
export const shortfalls = (
  results: Partial<Record<SearchMode, Metrics & { readonly recall100?: number }>>,
  floors: NonNullable<ReturnType<typeof thresholdsFor>>
): ReadonlyArray<Shortfall> => {
  const out: Array<Shortfall> = []
  for (const mode of ["sparse", "dense", "hybrid"] as const) {
    const floor = floors[mode]
    const got = results[mode]
    if (floor === undefined || got === undefined) continue
    for (const metric of METRIC_NAMES) {
      if (round4(got[metric]) < floor[metric]) out.push({ mode, metric, value: got[metric], threshold: floor[metric] })
    }
    const deep = floor.recall100
    if (deep !== undefined && got.recall100 !== undefined && round4(got.recall100) < deep) {
      out.push({ mode, metric: "recall100", value: got.recall100, threshold: deep })
    }
  }
  return out
}

/** Rounds to 4 decimals. */
export const round4 = (x: number): number => Math.round(x * 10000) / 10000
