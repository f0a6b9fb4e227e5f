/**
 * The `Embedder` service: turns texts into unit vectors of a fixed
 * dimension, in batches. Implementations: `embedderLocal.ts` (feature
 * hashing, offline, the default), `embedderUse.ts` (Universal Sentence
 * Encoder lite), `embedderOnnx.ts` (ONNX models) and `embedderOpenAi.ts`
 * (any OpenAI-compatible `/embeddings` endpoint); `embedderSelect.ts`
 * picks one from the environment. `embedAll` embeds an array in
 * batches; the ingestion pipeline (`ingest.ts`) streams documents through a
 * bounded buffer to it.
 */
import { Context, Effect } from "effect"
import type { RetrievalError } from "./errors.js"

/** An embedding model. */
export interface EmbedderShape {
  /** A stable name (`local-hash`, `openai/text-embedding-3-small`); part of every hit's lineage. */
  readonly name: string
  /** Changes whenever the same text would embed differently. */
  readonly version: string
  /** The length of every vector. */
  readonly dimension: number
  /** The most texts one `embed` call should carry. */
  readonly maxBatch: number
  /** Embeds texts, one vector per text in the same order. */
  readonly embed: (texts: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<ReadonlyArray<number>>, RetrievalError>
}

/** The embedder retrieval uses for chunks and queries. */
export class Embedder extends Context.Tag("trellis/Embedder")<Embedder, EmbedderShape>() {}

/** `name@version`, as stored with each vector. */
export const embedderId = (e: Pick<EmbedderShape, "name" | "version">): string => `${e.name}@${e.version}`

/** Embeds an array of texts in batches of the embedder's `maxBatch` (at most `concurrency` at once). */
export const embedAll = (
  embedder: EmbedderShape,
  texts: ReadonlyArray<string>,
  concurrency = 2
): Effect.Effect<ReadonlyArray<ReadonlyArray<number>>, RetrievalError> => {
  const size = Math.max(1, embedder.maxBatch)
  const batches: Array<ReadonlyArray<string>> = []
  for (let i = 0; i < texts.length; i += size) batches.push(texts.slice(i, i + size))
  return Effect.map(Effect.forEach(batches, embedder.embed, { concurrency }), (parts) => parts.flat())
}
