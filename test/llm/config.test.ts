import { Effect, Either, Exit, Layer, Redacted } from "effect"
import { describe, expect, it } from "vitest"
import { loadLlmConfig, resolveLlmConfig } from "../../src/llm/config.js"
import type { ProviderConfig } from "../../src/llm/config.js"
import { layer } from "../../src/llm/router.js"
import { LlmRouter } from "../../src/llm/service.js"
import { decodeConfig } from "../../src/server/config.js"
import { layerSettings, settingsFrom } from "../support/settings.js"

const vllm: ProviderConfig = {
  name: "vllm",
  kind: "openai-compatible",
  baseUrl: "http://127.0.0.1:9/v1",
  models: ["qwen"]
}

const messageOf = <A, E extends { readonly message: string }>(e: Either.Either<A, E>): string =>
  Either.isLeft(e) ? e.left.message : "(no error)"

describe("LLM config", () => {
  it("the server config decodes providers with the LLM schema, naming bad fields", () => {
    const ok = decodeConfig(JSON.stringify({ providers: [vllm], fallbacks: { "vllm/qwen": ["local/echo"] } }), "t.json")
    expect(Either.isRight(ok)).toBe(true)
    expect(messageOf(decodeConfig(JSON.stringify({ providers: [{ ...vllm, kind: "grpc" }] }), "t.json"))).toContain(
      "providers[0].kind"
    )
    expect(messageOf(decodeConfig(JSON.stringify({ providers: [{ ...vllm, apiKeyEnv: "sk-live abc" }] }), "t.json")))
      .toContain("apiKeyEnv")
    expect(
      messageOf(
        decodeConfig(JSON.stringify({ providers: [{ ...vllm, rateLimit: { requests: 5, per: "soon" } }] }), "t.json")
      )
    ).toContain("rateLimit")
    expect(messageOf(decodeConfig(JSON.stringify({ providers: [{ ...vllm, models: [] }] }), "t.json"))).toContain(
      "models"
    )
    expect(messageOf(decodeConfig(JSON.stringify({ providers: [{ ...vllm, extra: 1 }] }), "t.json"))).toContain("extra")
  })

  it("a missing API key variable is one clear error naming it; the key itself is kept redacted", () => {
    const load = (env: Record<string, string>) =>
      Effect.runSync(
        Effect.either(loadLlmConfig({ providers: [{ ...vllm, apiKeyEnv: "VLLM_KEY_FOR_TEST" }] })).pipe(
          Effect.withConfigProvider(settingsFrom(env))
        )
      )
    expect(messageOf(load({}))).toContain("VLLM_KEY_FOR_TEST is not set")
    expect(messageOf(load({ VLLM_KEY_FOR_TEST: "" }))).toContain("VLLM_KEY_FOR_TEST is not set")
    const present = load({ VLLM_KEY_FOR_TEST: "secret-123" })
    expect(Either.isRight(present)).toBe(true)
    if (Either.isRight(present)) {
      expect(JSON.stringify(present.right)).not.toContain("secret-123")
      const key = present.right.providers[0]!.apiKey
      expect(key !== undefined && Redacted.isRedacted(key) && Redacted.value(key)).toBe("secret-123")
    }
    expect(messageOf(resolveLlmConfig({ providers: [{ name: "o", kind: "openai", models: ["gpt-4o-mini"] }] })))
      .toContain("apiKeyEnv: required")
  })

  it("checks what a schema cannot: duplicates, missing baseUrl, fallbacks to unknown routes, tools on @effect/ai kinds", () => {
    expect(messageOf(resolveLlmConfig({ providers: [vllm, vllm] }))).toContain("configured twice")
    expect(messageOf(resolveLlmConfig({ providers: [{ name: "v", kind: "openai-compatible", models: ["m"] }] })))
      .toContain("baseUrl: required")
    expect(messageOf(resolveLlmConfig({ providers: [vllm], fallbacks: { "vllm/qwen": ["nope/x"] } }))).toContain(
      "\"nope/x\""
    )
    expect(messageOf(resolveLlmConfig({ providers: [vllm], fallbacks: { "vllm/other": ["local/echo"] } }))).toContain(
      "vllm/other"
    )
    expect(messageOf(resolveLlmConfig({
      providers: [{ name: "a", kind: "anthropic", apiKeyEnv: "K", models: ["claude"], capabilities: ["tools"] }]
    }, { apiKeys: { K: Redacted.make("k") } }))).toContain("\"tools\" is not supported")
  })

  it("defaults: local/echo always present, capabilities by kind", () => {
    const r = Either.getOrThrow(
      resolveLlmConfig({ providers: [vllm, { name: "o", kind: "openai", apiKeyEnv: "K", models: ["gpt"] }] }, {
        apiKeys: { K: Redacted.make("k") }
      })
    )
    expect(r.providers.map((p) => p.name)).toEqual(["vllm", "o", "local"])
    expect(r.providers[0]!.capabilities).toEqual(["stream", "tools", "json"])
    expect(r.providers[1]!.capabilities).toEqual(["stream", "json"])
    expect(r.providers[1]!.baseUrl).toBe("https://api.openai.com/v1")
  })

  it("the router layer builds for every kind (openai and anthropic through @effect/ai) and fails on a config error", async () => {
    const models = await Effect.runPromise(
      Effect.map(LlmRouter, (r) => r.models()).pipe(
        Effect.provide(
          layer({
            providers: [
              vllm,
              { name: "openai", kind: "openai", apiKeyEnv: "OAI", models: ["gpt-4o-mini"] },
              { name: "claude", kind: "anthropic", apiKeyEnv: "ANT", models: ["claude-3-5-haiku"] }
            ]
          }).pipe(Layer.provide(layerSettings({ OAI: "k1", ANT: "k2" })))
        )
      )
    )
    expect(models).toEqual(["vllm/qwen", "openai/gpt-4o-mini", "claude/claude-3-5-haiku", "local/echo"])
    const failed = await Effect.runPromiseExit(
      Layer.build(layer({ providers: [{ ...vllm, apiKeyEnv: "NOPE_KEY" }] }).pipe(Layer.provide(layerSettings({}))))
        .pipe(Effect.scoped)
    )
    expect(Exit.isFailure(failed)).toBe(true)
    expect(JSON.stringify(failed)).toContain("NOPE_KEY")
  })
})
