/**
 * An ONNX transformer on the CPU (`onnxruntime-node`) with its tokenizer
 * (`@huggingface/tokenizers`, from `tokenizer.json`): tokenizes a batch
 * (single texts or query/passage pairs), truncates to `maxLength`, pads
 * to the longest sequence of the batch, and runs the model with the inputs
 * it declares (`input_ids`, `attention_mask`, `token_type_ids`).
 */
import { Effect } from "effect"
import { RetrievalError } from "../errors.js"
import type { ModelDir } from "./modelDir.js"
import { loadOptional, onnxRuntime, tokenizers } from "./optional.js"

/** One tokenized sequence. */
export interface Encoded {
  readonly ids: ReadonlyArray<number>
  readonly typeIds: ReadonlyArray<number>
}

/** A model's output for a padded batch. */
export interface BatchOutput {
  /** The output tensor, row-major. */
  readonly data: Float32Array
  readonly dims: ReadonlyArray<number>
  /** The attention mask of the batch (`[batch, seq]`, 1 = token, 0 = padding). */
  readonly mask: Int32Array
  readonly seq: number
}

/** A loaded model. */
export interface OnnxModel {
  readonly dir: ModelDir
  readonly encode: (text: string, pair?: string) => Encoded
  readonly run: (batch: ReadonlyArray<Encoded>) => Effect.Effect<BatchOutput, RetrievalError>
}

/** Cuts a sequence to `max` tokens, keeping its last (closing special) token; a pair loses the end of its second segment. */
export const truncate = (e: Encoded, max: number): Encoded => {
  if (e.ids.length <= max) return e
  // Remove the excess just before the closing token: the end of the text, or of the second segment of a pair.
  const cutEnd = e.ids.length - 1
  const cutStart = cutEnd - (e.ids.length - max)
  return {
    ids: [...e.ids.slice(0, cutStart), ...e.ids.slice(cutEnd)],
    typeIds: [...e.typeIds.slice(0, cutStart), ...e.typeIds.slice(cutEnd)]
  }
}

/** Loads the runtime, the tokenizer and the session of a model directory. */
export const loadOnnxModel = (
  dir: ModelDir,
  options: { readonly threads?: number; readonly feature: string }
): Effect.Effect<OnnxModel, RetrievalError> =>
  Effect.gen(function*() {
    const ort = yield* loadOptional(onnxRuntime, options.feature)
    const tok = yield* loadOptional(tokenizers, options.feature)
    const tokenizer = yield* Effect.try({
      try: () => new tok.Tokenizer(dir.tokenizerJson as object, dir.tokenizerConfig as object),
      catch: (cause) =>
        new RetrievalError({
          reason: "bad-config",
          message: `not a usable tokenizer: ${cause instanceof Error ? cause.message : String(cause)}`,
          location: `${dir.dir}/tokenizer.json`
        })
    })
    const session = yield* Effect.tryPromise({
      try: () =>
        ort.InferenceSession.create(dir.modelFile, {
          executionProviders: ["cpu"],
          graphOptimizationLevel: "all",
          // Warnings about the graph (unused initializers…) are the model author's business, not the user's.
          logSeverityLevel: 3,
          ...(options.threads !== undefined && options.threads > 0 ? { intraOpNumThreads: options.threads } : {})
        }),
      catch: (cause) =>
        new RetrievalError({
          reason: "bad-config",
          message: `not a usable ONNX model: ${cause instanceof Error ? cause.message : String(cause)}`,
          location: dir.modelFile
        })
    })
    const inputs = session.inputNames
    if (!inputs.includes("input_ids")) {
      return yield* new RetrievalError({
        reason: "bad-config",
        message: `the model has no input_ids input (its inputs: ${inputs.join(", ")})`,
        location: dir.modelFile
      })
    }
    const preferred = dir.output ?? (dir.kind === "embedding" ? "last_hidden_state" : "logits")
    const outputName = session.outputNames.includes(preferred) ? preferred : session.outputNames[0]!
    if (dir.output !== undefined && !session.outputNames.includes(dir.output)) {
      return yield* new RetrievalError({
        reason: "bad-config",
        message: `the model has no output ${dir.output} (its outputs: ${session.outputNames.join(", ")})`,
        location: dir.modelFile
      })
    }
    const encode = (text: string, pair?: string): Encoded => {
      const e = tokenizer.encode(text, {
        ...(pair === undefined ? {} : { text_pair: pair }),
        add_special_tokens: true,
        return_token_type_ids: true
      })
      return truncate({ ids: e.ids, typeIds: e.token_type_ids }, dir.maxLength)
    }
    const run = (batch: ReadonlyArray<Encoded>): Effect.Effect<BatchOutput, RetrievalError> => {
      const n = batch.length
      const seq = Math.max(1, ...batch.map((e) => e.ids.length))
      const ids = new BigInt64Array(n * seq)
      const types = new BigInt64Array(n * seq)
      const mask64 = new BigInt64Array(n * seq)
      const mask = new Int32Array(n * seq)
      batch.forEach((e, b) => {
        for (let t = 0; t < e.ids.length; t++) {
          ids[b * seq + t] = BigInt(e.ids[t]!)
          types[b * seq + t] = BigInt(e.typeIds[t] ?? 0)
          mask64[b * seq + t] = 1n
          mask[b * seq + t] = 1
        }
      })
      const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {
        input_ids: new ort.Tensor("int64", ids, [n, seq])
      }
      if (inputs.includes("attention_mask")) feeds["attention_mask"] = new ort.Tensor("int64", mask64, [n, seq])
      if (inputs.includes("token_type_ids")) feeds["token_type_ids"] = new ort.Tensor("int64", types, [n, seq])
      return Effect.tryPromise({
        try: () => session.run(feeds, [outputName]),
        catch: (cause) =>
          new RetrievalError({
            reason: "embedder",
            message: `the ONNX model ${dir.name} failed: ${cause instanceof Error ? cause.message : String(cause)}`
          })
      }).pipe(
        Effect.flatMap((out) => {
          const tensor = out[outputName]!
          if (tensor.type !== "float32") {
            return Effect.fail(
              new RetrievalError({
                reason: "bad-config",
                message: `the model's output ${outputName} is ${tensor.type}, not float32`,
                location: dir.modelFile
              })
            )
          }
          return Effect.succeed({ data: tensor.data as Float32Array, dims: tensor.dims, mask, seq })
        }),
        Effect.withSpan("retrieval.onnx.run", { attributes: { "onnx.batch": n, "onnx.seq": seq } })
      )
    }
    return { dir, encode, run }
  })
