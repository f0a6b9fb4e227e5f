/**
 * Every environment setting of retrieval (the OpenAI-compatible embedder),
 * read through effect's `Config` (documented in `docs/configuration.md`).
 * The API key stays `Redacted` until the request header is written.
 */
import { Config, Option, Redacted } from "effect"

const nonEmpty = (config: Config.Config<string>): Config.Config<Option.Option<string>> =>
  Config.option(config).pipe(Config.map(Option.filter((value) => value !== "")))

const nonEmptySecret = (name: string): Config.Config<Option.Option<Redacted.Redacted<string>>> =>
  Config.option(Config.redacted(name)).pipe(Config.map(Option.filter((value) => Redacted.value(value) !== "")))

/** The embeddings endpoint: `TRELLIS_EMBEDDINGS_URL`, else `OPENAI_BASE_URL`. */
export const embeddingsUrl: Config.Config<Option.Option<string>> = Config.all([
  nonEmpty(Config.string("TRELLIS_EMBEDDINGS_URL")),
  nonEmpty(Config.string("OPENAI_BASE_URL"))
]).pipe(Config.map(([own, openAi]) => Option.orElse(own, () => openAi)))

/** `TRELLIS_EMBEDDINGS_MODEL`: the embedding model (required with a URL). */
export const embeddingsModel: Config.Config<Option.Option<string>> = nonEmpty(Config.string("TRELLIS_EMBEDDINGS_MODEL"))

/** `TRELLIS_EMBEDDINGS_DIMENSION`: the model's vector length (required with a URL and a model). */
export const embeddingsDimension: Config.Config<number> = Config.integer("TRELLIS_EMBEDDINGS_DIMENSION").pipe(
  Config.validate({ message: "must be a positive integer (the model's vector length)", validation: (n) => n >= 1 })
)

/** The embeddings API key: `TRELLIS_EMBEDDINGS_API_KEY`, else `OPENAI_API_KEY` (secret). */
export const embeddingsApiKey: Config.Config<Option.Option<Redacted.Redacted<string>>> = Config.all([
  nonEmptySecret("TRELLIS_EMBEDDINGS_API_KEY"),
  nonEmptySecret("OPENAI_API_KEY")
]).pipe(Config.map(([own, openAi]) => Option.orElse(own, () => openAi)))

/**
 * `TRELLIS_EMBEDDER`: which embedder — `hashing` (or `hashing:<dimension>`),
 * `use` (Universal Sentence Encoder lite), `onnx:<model directory or hub
 * name>`, `openai` (the endpoint above); unset: the endpoint above when
 * configured, else the offline default.
 */
export const embedderChoice: Config.Config<Option.Option<string>> = nonEmpty(Config.string("TRELLIS_EMBEDDER"))

/** `TRELLIS_EMBEDDER_BATCH`: texts per forward pass of a local model. @default 32 */
export const embedderBatch: Config.Config<number> = Config.integer("TRELLIS_EMBEDDER_BATCH").pipe(
  Config.validate({ message: "must be a positive integer", validation: (n) => n >= 1 }),
  Config.withDefault(32)
)

/** `TRELLIS_ONNX_THREADS`: onnxruntime intra-op threads (0: the runtime's choice). @default 0 */
export const onnxThreads: Config.Config<number> = Config.integer("TRELLIS_ONNX_THREADS").pipe(
  Config.validate({ message: "must be a non-negative integer", validation: (n) => n >= 0 }),
  Config.withDefault(0)
)

/** `TRELLIS_MODEL_HUB`: where named models are downloaded from. @default https://huggingface.co */
export const modelHub: Config.Config<string> = Config.string("TRELLIS_MODEL_HUB").pipe(
  Config.withDefault("https://huggingface.co")
)

/** `TRELLIS_RERANKER`: the rerank stage — `lexical` (BM25, the default), `onnx:<cross-encoder directory>`, or `none`. */
export const rerankerChoice: Config.Config<Option.Option<string>> = nonEmpty(Config.string("TRELLIS_RERANKER"))

/** Every retrieval setting at once (what `docs/configuration.md` must list). */
export const RetrievalSettings = Config.all({
  embeddingsUrl,
  embeddingsModel,
  embeddingsDimension: Config.option(embeddingsDimension),
  embeddingsApiKey,
  embedderChoice,
  embedderBatch,
  onnxThreads,
  modelHub,
  rerankerChoice
})
