/**
 * The retrieval tools programs call: `retrieval.ingest` (documents in,
 * counts and the ingestion id out) and `retrieval.search` (a query in, the
 * evidence package out). `makeTools(retrieval)` builds them over a
 * `Retrieval` service; `layerTools` puts them in a `ToolRegistry` with the
 * built-ins. Failures map onto the tool taxonomy: bad input and bad
 * configuration (including `ef_search < k` and a missing pgvector) are
 * `Permanent`, database and embedder failures are `Transient`.
 */
import { Effect, Layer, Schema } from "effect"
import { Permanent, Transient } from "../tools/errors.js"
import { ToolRegistry } from "../tools/registry.js"
import type { ToolRegistryError } from "../tools/registry.js"
import { make } from "../tools/tool.js"
import type { AnyTool } from "../tools/tool.js"
import type { RetrievalError } from "./errors.js"
import { Retrieval } from "./service.js"
import type { RetrievalShape } from "./service.js"

const toToolError = (e: RetrievalError) =>
  e.reason === "database" || e.reason === "embedder"
    ? new Transient({ message: e.display })
    : new Permanent({ message: e.display })

const PositiveInt = Schema.Number.pipe(Schema.int(), Schema.positive())

const DocumentSchema = Schema.Struct({
  id: Schema.String.pipe(Schema.minLength(1)),
  text: Schema.String,
  title: Schema.optionalWith(Schema.String, { exact: true }),
  metadata: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Unknown }), { exact: true })
})

const IngestOutput = Schema.Struct({
  ingestionId: Schema.String,
  embedder: Schema.NullOr(Schema.String),
  documents: Schema.Number,
  added: Schema.Number,
  replaced: Schema.Number,
  unchanged: Schema.Number,
  chunks: Schema.Number
})

const StageScore = Schema.NullOr(Schema.Struct({ score: Schema.Number, rank: Schema.Number }))

/** The Schema of one hit of `retrieval.search`. */
const HitSchema = Schema.Struct({
  rank: Schema.Number,
  documentId: Schema.String,
  chunkId: Schema.String,
  start: Schema.Number,
  end: Schema.Number,
  section: Schema.String,
  title: Schema.String,
  text: Schema.String,
  scores: Schema.Struct({
    sparse: StageScore,
    dense: StageScore,
    fused: Schema.NullOr(Schema.Number),
    rerank: Schema.NullOr(Schema.Number),
    final: Schema.Number
  }),
  lineage: Schema.Struct({
    ingestionId: Schema.String,
    ingestedAt: Schema.String,
    embedder: Schema.NullOr(Schema.Struct({ name: Schema.String, version: Schema.String }))
  }),
  regions: Schema.optionalWith(
    Schema.Array(Schema.Struct({
      page: Schema.Number,
      box: Schema.Tuple(Schema.Number, Schema.Number, Schema.Number, Schema.Number)
    })),
    { exact: true }
  )
})

/** The two retrieval tools over a `Retrieval` service. */
export const makeTools = (retrieval: RetrievalShape) => {
  const ingestTool = make({
    name: "retrieval.ingest",
    description:
      "Ingests documents (id, text, optional title and metadata) into the retrieval store: normalizes, chunks, embeds and indexes them. Re-ingesting an unchanged document does nothing.",
    input: Schema.Struct({
      documents: Schema.Array(DocumentSchema),
      sparseOnly: Schema.optional(Schema.Boolean).annotations({
        description: "index for full-text search only (no embeddings)"
      })
    }),
    output: IngestOutput,
    idempotent: true,
    retryable: true,
    handler: (args) =>
      retrieval.ingest(args.documents, { source: "tool:retrieval.ingest", sparseOnly: args.sparseOnly ?? false }).pipe(
        Effect.mapError(toToolError)
      )
  })
  const searchTool = make({
    name: "retrieval.search",
    description:
      "Searches the retrieval store. Returns hits with document id, chunk offsets, section, text, the score of every stage and lineage.",
    input: Schema.Struct({
      query: Schema.String.pipe(Schema.minLength(1)),
      k: Schema.optional(PositiveInt),
      mode: Schema.optional(Schema.Literal("sparse", "dense", "hybrid")),
      efSearch: Schema.optional(PositiveInt),
      rerank: Schema.optional(Schema.Boolean),
      documents: Schema.optional(Schema.Boolean).annotations({ description: "at most one hit per document" })
    }),
    output: Schema.Array(HitSchema),
    idempotent: true,
    retryable: true,
    handler: (args) =>
      retrieval.search(args.query, {
        ...(args.k === undefined ? {} : { k: args.k }),
        ...(args.mode === undefined ? {} : { mode: args.mode }),
        ...(args.efSearch === undefined ? {} : { efSearch: args.efSearch }),
        ...(args.rerank === undefined ? {} : { rerank: args.rerank }),
        distinct: args.documents === true ? "document" : "chunk"
      }).pipe(Effect.map((r) => r.hits), Effect.mapError(toToolError))
  })
  return [ingestTool, searchTool] as const
}

/** The retrieval tools as registry-ready tools (no requirements). */
export const toolsOf = (retrieval: RetrievalShape): ReadonlyArray<AnyTool> => {
  const [ingestTool, searchTool] = makeTools(retrieval)
  return [ingestTool, searchTool]
}

/** A `ToolRegistry` with the built-ins and the two retrieval tools, over the `Retrieval` service in context. */
export const layerTools: Layer.Layer<ToolRegistry, ToolRegistryError, Retrieval> = Layer.unwrapEffect(
  Effect.map(Retrieval, (retrieval) => ToolRegistry.layerWith(toolsOf(retrieval)))
)
