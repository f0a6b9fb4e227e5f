/**
 * The embedder's settings (`src/retrieval/settings.ts`) through a
 * `ConfigProvider`: none without an endpoint, the OpenAI fallbacks, the key
 * kept `Redacted`, and a bad dimension as a `bad-config` error naming it.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Redacted } from "effect"
import { openAiOptionsFromEnv } from "../../src/retrieval/embedderOpenAi.js"
import { settingsFrom } from "../support/settings.js"

const options = (env: Record<string, string>) => openAiOptionsFromEnv.pipe(Effect.withConfigProvider(settingsFrom(env)))

describe("retrieval settings", () => {
  it.effect("no endpoint or no model: the local embedder (a bad dimension is not looked at)", () =>
    Effect.gen(function*() {
      expect(Option.isNone(yield* options({}))).toBe(true)
      expect(
        Option.isNone(
          yield* options({ TRELLIS_EMBEDDINGS_URL: "http://127.0.0.1:9/v1", TRELLIS_EMBEDDINGS_DIMENSION: "x" })
        )
      ).toBe(true)
      expect(Option.isNone(yield* options({ TRELLIS_EMBEDDINGS_MODEL: "m", TRELLIS_EMBEDDINGS_URL: "" }))).toBe(true)
    }))

  it.effect("the endpoint, model, dimension and key; OPENAI_BASE_URL / OPENAI_API_KEY as fallbacks", () =>
    Effect.gen(function*() {
      const own = yield* options({
        TRELLIS_EMBEDDINGS_URL: "http://127.0.0.1:9/v1",
        OPENAI_BASE_URL: "http://other/v1",
        TRELLIS_EMBEDDINGS_MODEL: "m",
        TRELLIS_EMBEDDINGS_DIMENSION: "8",
        TRELLIS_EMBEDDINGS_API_KEY: "own-key",
        OPENAI_API_KEY: "openai-key"
      })
      const o = Option.getOrThrow(own)
      expect([o.baseUrl, o.model, o.dimension]).toEqual(["http://127.0.0.1:9/v1", "m", 8])
      expect(o.apiKey !== undefined && Redacted.value(o.apiKey)).toBe("own-key")
      expect(JSON.stringify(o)).not.toContain("own-key")
      const fallback = Option.getOrThrow(
        yield* options({
          OPENAI_BASE_URL: "http://other/v1",
          TRELLIS_EMBEDDINGS_MODEL: "m",
          TRELLIS_EMBEDDINGS_DIMENSION: "8",
          TRELLIS_EMBEDDINGS_API_KEY: "",
          OPENAI_API_KEY: "openai-key"
        })
      )
      expect(fallback.baseUrl).toBe("http://other/v1")
      expect(fallback.apiKey !== undefined && Redacted.value(fallback.apiKey)).toBe("openai-key")
      const keyless = Option.getOrThrow(
        yield* options({
          OPENAI_BASE_URL: "http://o/v1",
          TRELLIS_EMBEDDINGS_MODEL: "m",
          TRELLIS_EMBEDDINGS_DIMENSION: "3"
        })
      )
      expect(keyless.apiKey).toBeUndefined()
    }))

  it.effect("a missing, non-integer or non-positive dimension is a bad-config error naming TRELLIS_EMBEDDINGS_DIMENSION", () =>
    Effect.gen(function*() {
      const base = { TRELLIS_EMBEDDINGS_URL: "http://127.0.0.1:9/v1", TRELLIS_EMBEDDINGS_MODEL: "m" }
      for (const dimension of [undefined, "abc", "1.5", "0", "-3"]) {
        const e = yield* Effect.flip(
          options(dimension === undefined ? base : { ...base, TRELLIS_EMBEDDINGS_DIMENSION: dimension })
        )
        expect(e.reason).toBe("bad-config")
        expect(e.message).toContain("TRELLIS_EMBEDDINGS_DIMENSION")
      }
    }))
})
