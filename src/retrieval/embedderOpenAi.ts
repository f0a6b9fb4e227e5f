/**
 * An `Embedder` over any OpenAI-compatible embeddings endpoint
 * (`POST {baseUrl}/embeddings` with `{ model, input: [...] }`): OpenAI,
 * vLLM, Ollama, llama.cpp, LiteLLM, text-embeddings-inference. Requests go
 * through `@effect/platform`'s HttpClient, at most `requestsPerSecond`
 * (a token-bucket `RateLimiter`), `concurrency` at a time, retried with
 * exponential backoff on 429, 5xx and network errors.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { Config, Effect, Layer, Option, RateLimiter, Redacted, Schedule, Schema } from "effect"
import type { Duration, Scope } from "effect"
import { Embedder } from "./embedder.js"
import type { EmbedderShape } from "./embedder.js"
import { RetrievalError } from "./errors.js"
import * as Settings from "./settings.js"

/** Configuration of the OpenAI-compatible embedder. */
export interface OpenAiEmbedderOptions {
  /** The API root, e.g. `https://api.openai.com/v1` or `http://127.0.0.1:8000/v1`. */
  readonly baseUrl: string
  readonly model: string
  /** Sent as `Authorization: Bearer …` when set. @default none */
  readonly apiKey?: Redacted.Redacted<string>
  /** The vector length the model returns; every response is checked against it. */
  readonly dimension: number
  /** Sends `dimensions` in the request (models that can shorten their vectors). @default false */
  readonly sendDimensions?: boolean
  /** Texts per request. @default 64 */
  readonly maxBatch?: number
  /** Requests started per second (token bucket). @default 10 */
  readonly requestsPerSecond?: number
  /** Requests in flight at once. @default 4 */
  readonly concurrency?: number
  /** Retries of a failed request (429, 5xx, network). @default 3 */
  readonly retries?: number
  /** First delay of the exponential backoff between retries. @default "200 millis" */
  readonly retryBase?: Duration.DurationInput
  /** Timeout of one request. @default "60 seconds" */
  readonly timeout?: Duration.DurationInput
}

const EmbeddingsResponse = Schema.Struct({
  data: Schema.Array(Schema.Struct({ index: Schema.Number, embedding: Schema.Array(Schema.Number) })),
  model: Schema.optional(Schema.String)
})

class Retryable extends Schema.TaggedError<Retryable>()("Retryable", { message: Schema.String }) {}

const embedderError = (message: string) => new RetrievalError({ reason: "embedder", message })

/** Makes the embedder (scoped: its rate limiter lives as long as the scope). */
const makeOpenAi = (
  options: OpenAiEmbedderOptions
): Effect.Effect<EmbedderShape, RetrievalError, HttpClient.HttpClient | Scope.Scope> =>
  Effect.gen(function*() {
    if (!Number.isInteger(options.dimension) || options.dimension < 1) {
      return yield* new RetrievalError({
        reason: "bad-config",
        message: `the embedding dimension must be a positive integer, got ${options.dimension}`
      })
    }
    const url = `${options.baseUrl.replace(/\/+$/, "")}/embeddings`
    const client = yield* HttpClient.HttpClient
    const limiter = yield* RateLimiter.make({
      limit: options.requestsPerSecond ?? 10,
      interval: "1 second",
      algorithm: "token-bucket"
    })
    const semaphore = yield* Effect.makeSemaphore(options.concurrency ?? 4)
    const where = `embeddings at ${url}`

    const once = (texts: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        let request = HttpClientRequest.post(url).pipe(HttpClientRequest.acceptJson)
        if (options.apiKey !== undefined) {
          request = HttpClientRequest.bearerToken(request, Redacted.value(options.apiKey))
        }
        request = yield* HttpClientRequest.bodyJson(request, {
          model: options.model,
          input: texts,
          ...(options.sendDimensions === true ? { dimensions: options.dimension } : {})
        }).pipe(Effect.mapError(() => embedderError(`${where}: cannot encode the request`)))
        const response = yield* client.execute(request).pipe(
          Effect.timeoutFail({
            duration: options.timeout ?? "60 seconds",
            onTimeout: () => new Retryable({ message: `${where}: timed out` })
          }),
          Effect.catchTags({
            RequestError: (e) => Effect.fail(new Retryable({ message: `${where}: ${e.message}` })),
            ResponseError: (e) => Effect.fail(new Retryable({ message: `${where}: ${e.message}` }))
          })
        )
        if (response.status === 429 || response.status >= 500) {
          return yield* new Retryable({ message: `${where}: HTTP ${response.status}` })
        }
        if (response.status !== 200) {
          const body = yield* response.text.pipe(Effect.orElseSucceed(() => ""))
          return yield* embedderError(`${where}: HTTP ${response.status}${body === "" ? "" : ` ${body.slice(0, 200)}`}`)
        }
        const json = yield* response.json.pipe(
          Effect.mapError(() => embedderError(`${where}: the response is not JSON`))
        )
        const decoded = yield* Schema.decodeUnknown(EmbeddingsResponse)(json).pipe(
          Effect.mapError(() => embedderError(`${where}: the response has no data[].embedding`))
        )
        if (decoded.data.length !== texts.length) {
          return yield* embedderError(`${where}: asked for ${texts.length} embeddings, got ${decoded.data.length}`)
        }
        const out = new Array<ReadonlyArray<number>>(texts.length)
        for (const item of decoded.data) {
          if (!Number.isInteger(item.index) || item.index < 0 || item.index >= texts.length) {
            return yield* embedderError(`${where}: embedding index ${item.index} is out of range`)
          }
          if (item.embedding.length !== options.dimension) {
            return yield* embedderError(
              `${where}: model ${options.model} returned ${item.embedding.length} dimensions, configured ${options.dimension}`
            )
          }
          out[item.index] = normalize(item.embedding)
        }
        return out
      })

    const embedBatch = (texts: ReadonlyArray<string>) =>
      semaphore.withPermits(1)(limiter(once(texts))).pipe(
        Effect.retry({
          schedule: Schedule.exponential(options.retryBase ?? "200 millis", 2).pipe(Schedule.jittered),
          times: options.retries ?? 3,
          while: (e) => e._tag === "Retryable"
        }),
        Effect.catchTag("Retryable", (e) => Effect.fail(embedderError(e.message))),
        Effect.withSpan("retrieval.embed", {
          attributes: { "retrieval.embedder": options.model, "retrieval.batch": texts.length }
        })
      )

    const maxBatch = Math.max(1, options.maxBatch ?? 64)
    const embed = (texts: ReadonlyArray<string>) => {
      if (texts.length === 0) return Effect.succeed([])
      const batches: Array<ReadonlyArray<string>> = []
      for (let i = 0; i < texts.length; i += maxBatch) batches.push(texts.slice(i, i + maxBatch))
      return Effect.map(
        Effect.forEach(batches, embedBatch, { concurrency: options.concurrency ?? 4 }),
        (parts) => parts.flat()
      )
    }
    return {
      name: `openai/${options.model}`,
      version: `d${options.dimension}`,
      dimension: options.dimension,
      maxBatch,
      embed
    }
  })

const normalize = (v: ReadonlyArray<number>): ReadonlyArray<number> => {
  let n = 0
  for (const x of v) n += x * x
  n = Math.sqrt(n)
  return n > 0 && Math.abs(n - 1) > 1e-6 ? v.map((x) => x / n) : v
}

/** The OpenAI-compatible embedder as the `Embedder` service (needs an `HttpClient`, e.g. `FetchHttpClient.layer`). */
export const layerOpenAi = (
  options: OpenAiEmbedderOptions
): Layer.Layer<Embedder, RetrievalError, HttpClient.HttpClient> => Layer.scoped(Embedder, makeOpenAi(options))

/**
 * The embedder options from the environment (settings in `settings.ts`), or
 * none when no embeddings endpoint is configured: `TRELLIS_EMBEDDINGS_URL`
 * (else `OPENAI_BASE_URL`), `TRELLIS_EMBEDDINGS_MODEL` (required with a URL),
 * `TRELLIS_EMBEDDINGS_DIMENSION` (required), `TRELLIS_EMBEDDINGS_API_KEY`
 * (else `OPENAI_API_KEY`). A bad value is a `bad-config` error naming the variable.
 */
export const openAiOptionsFromEnv: Effect.Effect<Option.Option<OpenAiEmbedderOptions>, RetrievalError> = Effect.gen(
  function*() {
    const [baseUrl, model] = yield* Config.all([Settings.embeddingsUrl, Settings.embeddingsModel])
    if (Option.isNone(baseUrl) || Option.isNone(model)) return Option.none()
    const dimension = yield* Settings.embeddingsDimension
    const key = yield* Settings.embeddingsApiKey
    return Option.some({
      baseUrl: baseUrl.value,
      model: model.value,
      dimension,
      ...(Option.isNone(key) ? {} : { apiKey: key.value })
    })
  }
).pipe(Effect.mapError((e) => new RetrievalError({ reason: "bad-config", message: `invalid setting: ${String(e)}` })))
