/**
 * A sentence-embedding model in ONNX format on the CPU: a model directory
 * (`models/modelDir.ts`) or a named hub model downloaded once into
 * `TRELLIS_HOME/models/<name>` (`models/download.ts`). Texts are embedded
 * in batches of `batchSize`, sorted by length so each padded batch holds
 * similar lengths; token states are pooled (mean over the attention mask,
 * or the first token) and L2-normalized as the model's configuration says.
 * A model whose output is already `[batch, hidden]` is used as is.
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import { Effect, Layer } from "effect"
import { Embedder } from "./embedder.js"
import type { EmbedderShape } from "./embedder.js"
import { RetrievalError } from "./errors.js"
import { readModelDir } from "./models/modelDir.js"
import { loadOnnxModel } from "./models/onnxModel.js"
import type { OnnxModel } from "./models/onnxModel.js"
import { l2Normalize, poolRow } from "./models/pooling.js"

/** Options of the ONNX embedder. */
export interface OnnxEmbedderOptions {
  /** The model directory. */
  readonly dir: string
  /** Texts per forward pass (each batch padded to its longest text). @default 32 */
  readonly batchSize?: number
  /** onnxruntime intra-op threads; 0 lets the runtime choose. @default 0 */
  readonly threads?: number
}

const FEATURE = "the ONNX embedder (TRELLIS_EMBEDDER=onnx:…)"

/** Embeds one padded batch (texts in the given order). */
const embedBatch = (model: OnnxModel, texts: ReadonlyArray<string>) =>
  Effect.flatMap(model.run(texts.map((t) => model.encode(t))), (out) => {
    const { data, dims, mask, seq } = out
    const vectors: Array<ReadonlyArray<number>> = []
    if (dims.length === 2) {
      const hidden = dims[1]!
      for (let b = 0; b < texts.length; b++) {
        const row = data.subarray(b * hidden, (b + 1) * hidden)
        vectors.push(model.dir.normalize ? l2Normalize(row) : Array.from(row))
      }
      return Effect.succeed(vectors)
    }
    if (dims.length !== 3 || dims[1] !== seq) {
      return Effect.fail(
        new RetrievalError({
          reason: "bad-config",
          message: `the model's output has shape [${dims.join(", ")}], not [batch, ${seq}, hidden] or [batch, hidden]`,
          location: model.dir.modelFile
        })
      )
    }
    const hidden = dims[2]!
    for (let b = 0; b < texts.length; b++) {
      const pooled = poolRow(data, mask, b, seq, hidden, model.dir.pooling)
      vectors.push(model.dir.normalize ? l2Normalize(pooled) : Array.from(pooled))
    }
    return Effect.succeed(vectors)
  })

/** Loads the model (checking the directory) and returns the embedder. */
export const makeOnnx = (
  options: OnnxEmbedderOptions
): Effect.Effect<EmbedderShape, RetrievalError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const batchSize = options.batchSize ?? 32
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      return yield* new RetrievalError({
        reason: "bad-config",
        message: `the batch size must be a positive integer, got ${batchSize}`
      })
    }
    const dir = yield* readModelDir(options.dir, "embedding")
    const model = yield* loadOnnxModel(dir, {
      feature: FEATURE,
      ...(options.threads === undefined ? {} : { threads: options.threads })
    })
    const probe = yield* embedBatch(model, ["dimension probe"])
    const dimension = probe[0]!.length
    const embed = (texts: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        const order = texts.map((_, i) => i).sort((a, b) => texts[a]!.length - texts[b]!.length)
        const out = new Array<ReadonlyArray<number>>(texts.length)
        for (let i = 0; i < order.length; i += batchSize) {
          const slice = order.slice(i, i + batchSize)
          const vectors = yield* embedBatch(model, slice.map((j) => texts[j]!))
          slice.forEach((j, k) => {
            out[j] = vectors[k]!
          })
        }
        return out
      }).pipe(Effect.withSpan("retrieval.embed.onnx", { attributes: { "retrieval.texts": texts.length } }))
    return {
      name: `onnx/${dir.name}`,
      version: `${dir.fingerprint.slice(0, 12)}-${dir.pooling}${dir.normalize ? "-norm" : ""}-d${dimension}`,
      dimension,
      maxBatch: batchSize,
      embed
    }
  })

/** The ONNX embedder as the `Embedder` service. */
export const layerOnnx = (
  options: OnnxEmbedderOptions
): Layer.Layer<Embedder, RetrievalError, FileSystem.FileSystem> => Layer.effect(Embedder, makeOnnx(options))
