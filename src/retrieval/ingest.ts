/**
 * Ingestion: documents in, chunks (and their vectors) out, in one store.
 * Each document is normalized and hashed; a document whose content hash and
 * index key (chunking + embedder) are unchanged is skipped, so re-ingesting
 * is a no-op. Others are chunked, embedded in batches, and written in a
 * transaction that deletes the document's old chunks and inserts the new
 * ones, so a reader sees either the old or the new version, never a mix.
 * Documents flow through a bounded buffer and `Stream.groupedWithin`: a fast
 * reader waits for a slow embedder or database. The BM25 postings, chunk
 * lengths and collection statistics (`bm25.ts`) change in the same transaction.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import type { SqlClient } from "@effect/sql/SqlClient"
import { Chunk as EChunk, Clock, Effect, Random, Ref, Stream } from "effect"
import { canonicalJson } from "../ir/canonical.js"
import { sha256Hex } from "../ir/hash.js"
import type { Database } from "../store/sql.js"
import { indexDocuments, unindexDocuments } from "./bm25.js"
import { chunkText } from "./chunk.js"
import type { Chunk, ChunkStrategy } from "./chunk.js"
import { embedAll, embedderId } from "./embedder.js"
import type { EmbedderShape } from "./embedder.js"
import { databaseError, RetrievalError } from "./errors.js"
import { ensureVectorIndex, ensureVectorSpace, vectorTable } from "./schema.js"
import type { HnswParams } from "./schema.js"
import { normalizeDocument } from "./textNormalize.js"
import type { DocumentInput, NormalizedDocument } from "./textNormalize.js"

/** Options of one ingestion. */
export interface IngestOptions {
  /** Where the documents came from (a path), recorded with the ingestion. @default "" */
  readonly source?: string
  /** Index for sparse search only: no embeddings (works without pgvector). @default false */
  readonly sparseOnly?: boolean
  /** Called after each group of documents is written. @default none */
  readonly onProgress?: (progress: IngestProgress) => Effect.Effect<void>
}

/** Counts so far. */
export interface IngestProgress {
  readonly documents: number
  readonly added: number
  readonly replaced: number
  readonly unchanged: number
  readonly chunks: number
}

/** What an ingestion did. */
export interface IngestReport extends IngestProgress {
  readonly ingestionId: string
  /** `name@version` of the embedder, or null for a sparse-only ingestion. */
  readonly embedder: string | null
}

/** The settings ingestion needs. */
export interface IngestSettings {
  readonly chunking: ChunkStrategy
  readonly hnsw: HnswParams
  /** Documents per group (one transaction each). */
  readonly groupSize: number
}

interface Prepared {
  readonly doc: NormalizedDocument
  readonly chunks: ReadonlyArray<Chunk>
}

/** The text a chunk is embedded as: its heading (section, else document title) and its text. */
const embeddingText = (heading: string, text: string): string => (heading === "" ? text : `${heading}\n${text}`)

/** The heading of a chunk: its section, else the document's title. */
const headingOf = (doc: NormalizedDocument, chunk: Chunk): string => (chunk.section !== "" ? chunk.section : doc.title)

/** A new ingestion id: `ing_` + time (base 36) + random. */
const makeIngestionId: Effect.Effect<string> = Effect.zipWith(
  Clock.currentTimeMillis,
  Random.nextIntBetween(0, 36 ** 6),
  (t, r) => `ing_${t.toString(36)}_${r.toString(36).padStart(6, "0")}`
)

const checkDocument = (doc: DocumentInput, at: number): Effect.Effect<DocumentInput, RetrievalError> => {
  const bad = (message: string) =>
    Effect.fail(new RetrievalError({ reason: "bad-input", message, location: `document ${at + 1}` }))
  if (typeof doc.id !== "string" || doc.id.trim() === "") return bad("the document id must be a non-empty string")
  if (typeof doc.text !== "string") return bad(`document "${doc.id}": text must be a string`)
  if (doc.title !== undefined && typeof doc.title !== "string") {
    return bad(`document "${doc.id}": title must be a string`)
  }
  return Effect.succeed(doc)
}

/** Ingests a stream of documents into the store with the given embedder and settings. */
export const ingest = <E, R>(
  documents: Stream.Stream<DocumentInput, E, R>,
  embedder: EmbedderShape,
  settings: IngestSettings,
  options: IngestOptions = {}
): Effect.Effect<IngestReport, E | RetrievalError, R | SqlClient | PgClient.PgClient | Database> =>
  Effect.gen(function*() {
    const sql = yield* PgClient.PgClient
    const dense = options.sparseOnly !== true
    if (dense) yield* ensureVectorSpace(embedder.dimension, settings.hnsw)
    const embedderName = dense ? embedderId(embedder) : null
    const indexKey = sha256Hex(canonicalJson({ chunking: settings.chunking, embedder: embedderName }))
    const ingestionId = yield* makeIngestionId
    const table = vectorTable(embedder.dimension)
    yield* sql`INSERT INTO retrieval_ingestions (id, source, embedder, chunking) VALUES (${ingestionId}, ${
      options.source ?? ""
    }, ${embedderName}, ${sql.json(settings.chunking)})`
    const counts = yield* Ref.make<IngestProgress>({ documents: 0, added: 0, replaced: 0, unchanged: 0, chunks: 0 })
    let seen = 0

    const writeGroup = (group: ReadonlyArray<DocumentInput>) =>
      Effect.gen(function*() {
        const docs = group.map(normalizeDocument)
        const ids = docs.map((d) => d.id)
        const existing = yield* sql<{ id: string; content_hash: string; index_key: string }>`
          SELECT id, content_hash, index_key FROM retrieval_documents WHERE id IN ${sql.in(ids)}`
        const known = new Map(existing.map((r) => [r.id, r]))
        // The last copy of an id within a group wins.
        const latest = new Map(docs.map((d) => [d.id, d]))
        const changed: Array<Prepared> = []
        let unchanged = 0
        for (const doc of latest.values()) {
          const row = known.get(doc.id)
          if (row !== undefined && row.content_hash === doc.contentHash && row.index_key === indexKey) unchanged++
          else changed.push({ doc, chunks: chunkText(doc.text, settings.chunking) })
        }
        const all = changed.flatMap((p) =>
          p.chunks.map((c) => ({ doc: p.doc, chunk: c, heading: headingOf(p.doc, c) }))
        )
        const vectors = dense ? yield* embedAll(embedder, all.map((x) => embeddingText(x.heading, x.chunk.text))) : []
        if (changed.length > 0) {
          yield* sql.withTransaction(Effect.gen(function*() {
            const changedIds = changed.map((p) => p.doc.id)
            yield* unindexDocuments(changedIds)
            yield* sql`DELETE FROM retrieval_chunks WHERE document_id IN ${sql.in(changedIds)}`
            yield* sql`INSERT INTO retrieval_documents ${
              sql.insert(changed.map((p) => ({
                id: p.doc.id,
                title: p.doc.title,
                text: p.doc.text,
                metadata: sql.json(p.doc.metadata),
                content_hash: p.doc.contentHash,
                index_key: indexKey,
                ingestion_id: ingestionId
              })))
            } ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title, text = EXCLUDED.text, metadata = EXCLUDED.metadata,
              content_hash = EXCLUDED.content_hash, index_key = EXCLUDED.index_key, ingestion_id = EXCLUDED.ingestion_id, updated_at = now()`
            for (let i = 0; i < all.length; i += 500) {
              const part = all.slice(i, i + 500)
              yield* sql`INSERT INTO retrieval_chunks ${
                sql.insert(part.map(({ chunk, doc, heading }) => ({
                  id: `${doc.id}#${chunk.index}`,
                  document_id: doc.id,
                  ordinal: chunk.index,
                  start_offset: chunk.start,
                  end_offset: chunk.end,
                  section: chunk.section,
                  heading,
                  text: chunk.text,
                  ingestion_id: ingestionId,
                  embedder: embedderName
                })))
              }`
              if (dense) {
                yield* sql`INSERT INTO ${sql(table)} ${
                  sql.insert(part.map(({ chunk, doc }, j) => ({
                    chunk_id: `${doc.id}#${chunk.index}`,
                    embedder: embedderName ?? "",
                    embedding: `[${vectors[i + j]!.join(",")}]`
                  })))
                }`
              }
            }
            yield* sql`UPDATE retrieval_chunks SET token_count = (SELECT coalesce(sum(cardinality(positions)), 0) FROM unnest(tsv))
              WHERE document_id IN ${sql.in(changedIds)}`
            yield* indexDocuments(changedIds)
          }))
        }
        const replaced = changed.filter((p) => known.has(p.doc.id)).length
        const now = yield* Ref.updateAndGet(counts, (c) => ({
          documents: c.documents + group.length,
          added: c.added + changed.length - replaced,
          replaced: c.replaced + replaced,
          unchanged: c.unchanged + unchanged + (group.length - latest.size),
          chunks: c.chunks + all.length
        }))
        if (options.onProgress !== undefined) yield* options.onProgress(now)
      }).pipe(Effect.withSpan("retrieval.ingest.group", { attributes: { "retrieval.documents": group.length } }))

    yield* documents.pipe(
      Stream.mapEffect((d) => checkDocument(d, seen++)),
      Stream.buffer({ capacity: settings.groupSize * 2 }),
      Stream.groupedWithin(settings.groupSize, "50 millis"),
      Stream.mapEffect((g) => writeGroup(EChunk.toReadonlyArray(g))),
      Stream.runDrain
    )
    if (dense) yield* ensureVectorIndex(embedder.dimension)
    const done = yield* Ref.get(counts)
    yield* sql`UPDATE retrieval_ingestions SET finished_at = now(), added = ${done.added}, replaced = ${done.replaced},
      unchanged = ${done.unchanged}, chunks = ${done.chunks} WHERE id = ${ingestionId}`
    return { ...done, ingestionId, embedder: embedderName }
  }).pipe(
    Effect.catchTag("SqlError", databaseError("ingestion failed")),
    Effect.withSpan("retrieval.ingest", { attributes: { "retrieval.sparseOnly": options.sparseOnly === true } })
  )
