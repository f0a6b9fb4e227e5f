/**
 * The `Embedder` service: turns texts into unit vectors of a fixed
 * dimension, in batches. Implementations: `embedderLocal.ts` (feature
 * hashing, offline, the default) and `embedderOpenAi.ts` (any
 * OpenAI-compatible `/embeddings` endpoint). `embedStream` feeds an
 * embedder through a bounded queue in batches, so a fast producer waits for
 * a slow embedder (backpressure).
 */
import { Chunk, Context, Effect, Stream } from "effect"
import type { Duration } from "effect"
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

/** Options of `embedStream`. */
export interface EmbedStreamOptions {
  /** Texts per `embed` call. @default the embedder's maxBatch */
  readonly batchSize?: number
  /** How long a partial batch waits for more texts. @default "20 millis" */
  readonly window?: Duration.DurationInput
  /** Batches in flight at once. @default 2 */
  readonly concurrency?: number
  /** Items buffered ahead of the embedder (the bounded queue). @default 4 × batchSize */
  readonly buffer?: number
}

/**
 * Embeds a stream of items in batches (`Stream.groupedWithin` over a bounded
 * buffer), keeping order: each item comes out paired with its vector.
 */
export const embedStream = <A, E, R>(
  embedder: EmbedderShape,
  items: Stream.Stream<A, E, R>,
  textOf: (a: A) => string,
  options: EmbedStreamOptions = {}
): Stream.Stream<readonly [A, ReadonlyArray<number>], E | RetrievalError, R> => {
  const size = Math.max(1, options.batchSize ?? embedder.maxBatch)
  return items.pipe(
    Stream.buffer({ capacity: options.buffer ?? size * 4 }),
    Stream.groupedWithin(size, options.window ?? "20 millis"),
    Stream.mapEffect(
      (group) => {
        const batch = Chunk.toReadonlyArray(group)
        return Effect.map(embedder.embed(batch.map(textOf)), (vectors) => batch.map((a, i) => [a, vectors[i]!] as const))
      },
      { concurrency: options.concurrency ?? 2 }
    ),
    Stream.flattenIterables
  )
}

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
