/**
 * A cross-encoder reranker in ONNX format (the same runtime and tokenizer
 * path as the ONNX embedder): each candidate is scored by running the model
 * on the pair (query, candidate text with its heading), in batches; the
 * score is the model's logit (the last column when it has several, e.g.
 * the "relevant" class of a two-class head). A model directory with
 * `trellis-model.json` saying `"kind": "cross-encoder"`.
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import { Effect, Layer } from "effect"
import { RetrievalError } from "./errors.js"
import { readModelDir } from "./models/modelDir.js"
import { loadOnnxModel } from "./models/onnxModel.js"
import { Reranker } from "./rerank.js"
import type { RerankerShape } from "./rerank.js"

/** Options of the ONNX cross-encoder. */
export interface OnnxRerankerOptions {
  /** The model directory. */
  readonly dir: string
  /** Pairs per forward pass. @default 16 */
  readonly batchSize?: number
  /** onnxruntime intra-op threads; 0 lets the runtime choose. @default 0 */
  readonly threads?: number
}

const FEATURE = "the ONNX cross-encoder reranker (TRELLIS_RERANKER=onnx:…)"

/** Loads the cross-encoder and returns the reranker. */
export const makeOnnxReranker = (
  options: OnnxRerankerOptions
): Effect.Effect<RerankerShape, RetrievalError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const batchSize = options.batchSize ?? 16
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      return yield* new RetrievalError({
        reason: "bad-config",
        message: `the batch size must be a positive integer, got ${batchSize}`
      })
    }
    const dir = yield* readModelDir(options.dir, "cross-encoder")
    const model = yield* loadOnnxModel(dir, {
      feature: FEATURE,
      ...(options.threads === undefined ? {} : { threads: options.threads })
    })
    return {
      name: `onnx-cross-encoder/${dir.name}@${dir.fingerprint.slice(0, 12)}`,
      rerank: (query, candidates) =>
        Effect.gen(function*() {
          const scores: Array<number> = []
          for (let i = 0; i < candidates.length; i += batchSize) {
            const batch = candidates.slice(i, i + batchSize)
            const out = yield* model.run(
              batch.map((c) => model.encode(query, c.heading === "" ? c.text : `${c.heading}\n${c.text}`))
            )
            const cols = out.dims.length === 1 ? 1 : out.dims[out.dims.length - 1]!
            if (out.dims[0] !== batch.length || out.data.length !== batch.length * cols) {
              return yield* new RetrievalError({
                reason: "bad-config",
                message: `the cross-encoder's output has shape [${
                  out.dims.join(", ")
                }], not [batch] or [batch, classes]`,
                location: dir.modelFile
              })
            }
            for (let b = 0; b < batch.length; b++) scores.push(out.data[b * cols + cols - 1]!)
          }
          return scores
        }).pipe(Effect.withSpan("retrieval.rerank.onnx", { attributes: { "retrieval.candidates": candidates.length } }))
    }
  })

/** The ONNX cross-encoder as the `Reranker` service. */
export const layerOnnxReranker = (
  options: OnnxRerankerOptions
): Layer.Layer<Reranker, RetrievalError, FileSystem.FileSystem> => Layer.effect(Reranker, makeOnnxReranker(options))
