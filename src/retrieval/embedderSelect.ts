/**
 * Which embedder and reranker the environment asks for.
 *
 * `TRELLIS_EMBEDDER`:
 * - `hashing` or `hashing:<dimension>` — the feature-hashing embedder (`embedderLocal.ts`);
 * - `use` — Universal Sentence Encoder lite (`embedderUse.ts`; optional packages);
 * - `onnx:<directory>` — an ONNX sentence-embedding model directory (`embedderOnnx.ts`);
 * - `onnx:<owner>/<name>` (not an existing directory) — a hub model, downloaded on first use into
 *   `TRELLIS_HOME/models/<owner>/<name>` (`models/download.ts`);
 * - `openai` — the OpenAI-compatible endpoint of `TRELLIS_EMBEDDINGS_*` (required then);
 * - unset — that endpoint when configured, else the offline default (`DEFAULT_OFFLINE_EMBEDDER`).
 *
 * `TRELLIS_RERANKER`: `lexical` (default), `none`, or `onnx:<cross-encoder directory>`.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as HttpFetch from "@effect/platform/FetchHttpClient"
import * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import type { SqlClient } from "@effect/sql/SqlClient"
import { Config, Effect, Either, Layer, Option } from "effect"
import * as Path from "node:path"
import { home } from "../store/settings.js"
import type { Embedder } from "./embedder.js"
import { layerLocal } from "./embedderLocal.js"
import { layerOnnx } from "./embedderOnnx.js"
import { layerOpenAi, openAiOptionsFromEnv } from "./embedderOpenAi.js"
import { layerUse } from "./embedderUse.js"
import { RetrievalError } from "./errors.js"
import { downloadModel, HUB_NAME } from "./models/download.js"
import { layerLexical } from "./rerank.js"
import type { LexicalOptions } from "./rerank.js"
import { layerOnnxReranker } from "./rerankOnnx.js"
import * as Settings from "./settings.js"

/** What `TRELLIS_EMBEDDER` names. */
export type EmbedderSpec =
  | { readonly kind: "hashing"; readonly dimension?: number }
  | { readonly kind: "use" }
  | { readonly kind: "onnx"; readonly model: string }
  | { readonly kind: "openai" }

/** The embedder used when nothing is configured (measured in docs/retrieval.md). */
export const DEFAULT_OFFLINE_EMBEDDER: EmbedderSpec = { kind: "hashing" }

const SYNTAX = "hashing, hashing:<dimension>, use, onnx:<model directory or owner/name>, or openai"

/** Parses a `TRELLIS_EMBEDDER` value. */
export const parseEmbedderSpec = (text: string): Either.Either<EmbedderSpec, RetrievalError> => {
  const value = text.trim()
  const bad = (why: string) =>
    Either.left(
      new RetrievalError({ reason: "bad-config", message: `${why}; expected ${SYNTAX}`, location: "TRELLIS_EMBEDDER" })
    )
  if (value === "hashing" || value === "local-hash") return Either.right({ kind: "hashing" })
  if (value === "use") return Either.right({ kind: "use" })
  if (value === "openai") return Either.right({ kind: "openai" })
  const m = /^([a-z-]+):(.*)$/.exec(value)
  if (m !== null && (m[1] === "hashing" || m[1] === "local-hash")) {
    const d = Number(m[2])
    return Number.isInteger(d) && d >= 1 && d <= 16000
      ? Either.right({ kind: "hashing", dimension: d })
      : bad(`the hashing dimension must be an integer from 1 to 16000, got ${JSON.stringify(m[2])}`)
  }
  if (m !== null && m[1] === "onnx") {
    return m[2]!.trim() === ""
      ? bad("onnx: needs a model directory or a hub name")
      : Either.right({ kind: "onnx", model: m[2]!.trim() })
  }
  return bad(`unknown embedder ${JSON.stringify(value)}`)
}

/** The directory of an `onnx:` model: the directory itself, or a hub name's place under `TRELLIS_HOME/models` (downloaded if absent). */
export const resolveOnnxModel = (
  model: string
): Effect.Effect<string, RetrievalError, FileSystem.FileSystem | HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const isDir = (p: string) =>
      fs.stat(p).pipe(Effect.map((s) => s.type === "Directory"), Effect.orElseSucceed(() => false))
    if (yield* isDir(model)) return Path.resolve(model)
    if (!HUB_NAME.test(model) || model.startsWith(".")) {
      return yield* new RetrievalError({
        reason: "bad-config",
        message: "no such model directory",
        location: Path.resolve(model)
      })
    }
    const settings = yield* Config.all([home, Settings.modelHub]).pipe(
      Effect.mapError((e) => new RetrievalError({ reason: "bad-config", message: `invalid setting: ${String(e)}` }))
    )
    const dir = Path.join(settings[0], "models", ...model.split("/"))
    if (!(yield* isDir(dir))) {
      yield* Effect.logInfo(`downloading the model ${model} from ${settings[1]} into ${dir}`)
      yield* downloadModel(model, dir, settings[1])
    }
    return dir
  })

const localSettings = Config.all([Settings.embedderBatch, Settings.onnxThreads]).pipe(
  Effect.mapError((e) => new RetrievalError({ reason: "bad-config", message: `invalid setting: ${String(e)}` }))
)

/** The embedder of a spec (`dimension` is the hashing embedder's default dimension). */
export const layerEmbedderOf = (spec: EmbedderSpec, dimension?: number): Layer.Layer<Embedder, RetrievalError> => {
  switch (spec.kind) {
    case "hashing": {
      const d = spec.dimension ?? dimension
      return layerLocal(d === undefined ? {} : { dimension: d })
    }
    case "use":
      return Layer.unwrapEffect(Effect.map(localSettings, ([batchSize]) => layerUse({ batchSize })))
    case "onnx":
      return Layer.unwrapEffect(
        Effect.gen(function*() {
          const [batchSize, threads] = yield* localSettings
          const dir = yield* resolveOnnxModel(spec.model)
          return layerOnnx({ dir, batchSize, threads })
        })
      ).pipe(Layer.provide(Layer.merge(NodeFileSystem.layer, HttpFetch.layer)))
    case "openai":
      return Layer.unwrapEffect(Effect.flatMap(openAiOptionsFromEnv, (o) =>
        Option.isSome(o)
          ? Effect.succeed(Layer.provide(layerOpenAi(o.value), HttpFetch.layer))
          : Effect.fail(
            new RetrievalError({
              reason: "bad-config",
              message:
                "TRELLIS_EMBEDDER=openai needs TRELLIS_EMBEDDINGS_URL (or OPENAI_BASE_URL) and TRELLIS_EMBEDDINGS_MODEL",
              location: "TRELLIS_EMBEDDER"
            })
          )))
  }
}

/** The embedder the environment asks for (see the module comment). */
export const layerEmbedderFromEnv = (dimension?: number): Layer.Layer<Embedder, RetrievalError> =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const chosen = yield* Settings.embedderChoice.pipe(
      Effect.mapError((e) => new RetrievalError({ reason: "bad-config", message: `invalid setting: ${String(e)}` }))
    )
    if (Option.isSome(chosen)) return layerEmbedderOf(yield* parseEmbedderSpec(chosen.value), dimension)
    const openAi = yield* openAiOptionsFromEnv
    return Option.isSome(openAi)
      ? Layer.provide(layerOpenAi(openAi.value), HttpFetch.layer)
      : layerEmbedderOf(DEFAULT_OFFLINE_EMBEDDER, dimension)
  }))

/**
 * The reranker the environment asks for (`TRELLIS_RERANKER`): a `Reranker`
 * layer, or an empty one for `none` (hence the `never` output type; search
 * looks the reranker up as optional). `lexical` uses `options`.
 */
export const layerRerankerFromEnv = (
  options: LexicalOptions = {}
): Layer.Layer<never, RetrievalError, SqlClient> =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const chosen = yield* Settings.rerankerChoice.pipe(
      Effect.mapError((e) => new RetrievalError({ reason: "bad-config", message: `invalid setting: ${String(e)}` }))
    )
    const value = Option.getOrElse(chosen, () => "lexical").trim()
    const none: Layer.Layer<never, RetrievalError, SqlClient> = Layer.empty
    if (value === "lexical") return layerLexical(options)
    if (value === "none") return none
    if (value.startsWith("onnx:") && value.length > 5) {
      const [batchSize, threads] = yield* localSettings
      return layerOnnxReranker({ dir: value.slice(5), batchSize, threads }).pipe(Layer.provide(NodeFileSystem.layer))
    }
    return yield* new RetrievalError({
      reason: "bad-config",
      message: `unknown reranker ${JSON.stringify(value)}; expected lexical, none, or onnx:<cross-encoder directory>`,
      location: "TRELLIS_RERANKER"
    })
  }))
