/**
 * The LLM part of the server config (SPEC §8): `providers` (name, kind, base
 * URL, the NAME of the env var holding the API key — never the key —,
 * models, capabilities, concurrency, rate limit, pricing, timeout, retries)
 * and `fallbacks` (`"provider/model": ["other/model", …]`). `resolveLlmConfig`
 * checks what a Schema cannot (duplicate names, a missing `baseUrl`, unknown
 * fallback routes, an unset API key variable) and reads the keys once, as
 * `Redacted` values; every problem is one `LlmConfigError` naming the field.
 */
import { Effect, Either, Option, Schema } from "effect"
import type { Redacted } from "effect"
import { parseDuration } from "../ir/duration.js"
import { resolveBreaker } from "../tools/breaker.js"
import type { ResolvedBreaker } from "../tools/breaker.js"
import { Capability } from "./service.js"
import { providerApiKey } from "./settings.js"

const PositiveInt = Schema.Int.pipe(Schema.positive())
const NonNegativeInt = Schema.Int.pipe(Schema.nonNegative())
const opt = <S extends Schema.Schema.Any>(s: S) => Schema.optionalWith(s, { exact: true })

/** The kinds of provider. */
export const ProviderKind = Schema.Literal("openai", "openai-compatible", "anthropic", "local")
export type ProviderKind = typeof ProviderKind.Type

/** A rate limit: `requests` per `per` (a duration: `"1s"`, `"500ms"`, `"1m"`). */
export const RateLimitConfig = Schema.Struct({
  requests: PositiveInt,
  per: Schema.String.pipe(Schema.filter((s) => {
    const ms = parseDuration(s)
    return ms !== undefined && ms > 0 ? undefined : "a duration such as \"1s\", \"500ms\" or \"1m\""
  }))
})

/** Prices in USD per one million tokens. */
export const PricingConfig = Schema.Struct({
  inputPer1M: Schema.Number.pipe(Schema.nonNegative()),
  outputPer1M: Schema.Number.pipe(Schema.nonNegative())
})

const positiveDuration = Schema.String.pipe(Schema.filter((s) => {
  const ms = parseDuration(s)
  return ms !== undefined && ms > 0 ? undefined : "a positive duration such as \"10s\" or \"500ms\""
}))

/**
 * A provider's circuit breaker (docs/llm.md): the same settings as a tool's `limits.breaker`, every field
 * defaulted. While it is open, requests to the provider fail at once (`CircuitOpen`) and routes fall through
 * to their fallbacks.
 */
export const BreakerConfig = Schema.Struct({
  failureRate: opt(Schema.Number.pipe(Schema.greaterThan(0), Schema.lessThanOrEqualTo(1))),
  minCalls: opt(PositiveInt),
  window: opt(positiveDuration),
  openFor: opt(positiveDuration),
  halfOpenProbes: opt(PositiveInt)
})

/** Retries on one route before the next fallback is tried. */
export const RetryConfig = Schema.Struct({
  /** Retries after the first attempt (429, 5xx, timeouts, cut streams). @default 2 */
  times: opt(NonNegativeInt),
  /** Base of the exponential backoff (jittered) when there is no `Retry-After`. @default 200 */
  baseMs: opt(PositiveInt),
  /** A `Retry-After` longer than this is not waited for on this route: the next fallback is tried. @default 30000 */
  maxRetryAfterMs: opt(PositiveInt)
})

/** One LLM provider. */
export const ProviderConfig = Schema.Struct({
  /** The route prefix: `vllm` serves `vllm/<model>`. */
  name: Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, {
    message: () => "a provider name is 1-64 letters, digits, '_', '.' or '-' (no '/')"
  })),
  kind: ProviderKind,
  /** The API base, e.g. `http://127.0.0.1:8000/v1` (required for `openai-compatible`). */
  baseUrl: opt(Schema.String.pipe(Schema.pattern(/^https?:\/\/[^\s]+$/, { message: () => "an http(s) URL" }))),
  /** The NAME of the environment variable holding the API key (never the key). */
  apiKeyEnv: opt(Schema.String.pipe(Schema.pattern(/^[A-Za-z_][A-Za-z0-9_]*$/, {
    message: () => "the name of an environment variable (letters, digits, '_'), not a key"
  }))),
  /** The models served, without the provider prefix. */
  models: Schema.NonEmptyArray(Schema.String.pipe(Schema.minLength(1))),
  /** @default ["stream", "tools", "json"] (`openai`, `anthropic`: ["stream", "json"]) */
  capabilities: opt(Schema.Array(Capability)),
  /** Requests in flight at once. @default 16 */
  concurrency: opt(PositiveInt),
  /** @default none */
  rateLimit: opt(RateLimitConfig),
  /** @default none (cost not recorded) */
  pricing: opt(PricingConfig),
  /** Time for a whole non-streamed answer, and for the first chunk and each gap between chunks of a stream. @default 60000 */
  timeoutMs: opt(PositiveInt),
  retry: opt(RetryConfig),
  /** @default none */
  breaker: opt(BreakerConfig)
})
export type ProviderConfig = typeof ProviderConfig.Type

/** `fallbacks`: a route's ordered alternatives. */
export const FallbacksConfig = Schema.Record({ key: Schema.String, value: Schema.Array(Schema.String) })

/** The LLM config could not be resolved. */
export class LlmConfigError extends Schema.TaggedError<LlmConfigError>()("LlmConfigError", {
  message: Schema.String
}) {}

/** A provider with defaults applied and its key read. */
export interface ResolvedProvider {
  readonly name: string
  readonly kind: ProviderKind
  readonly baseUrl: string | undefined
  readonly apiKey: Redacted.Redacted<string> | undefined
  readonly models: ReadonlyArray<string>
  readonly capabilities: ReadonlyArray<Capability>
  readonly concurrency: number
  readonly rateLimit: { readonly requests: number; readonly perMs: number } | undefined
  readonly pricing: typeof PricingConfig.Type | undefined
  readonly timeoutMs: number
  readonly retry: { readonly times: number; readonly baseMs: number; readonly maxRetryAfterMs: number }
  /** The provider's circuit breaker, when it has one. */
  readonly breaker?: ResolvedBreaker | undefined
}

/** The resolved LLM config. */
export interface LlmConfig {
  readonly providers: ReadonlyArray<ResolvedProvider>
  /** `provider/model` → ordered fallback routes. */
  readonly fallbacks: Readonly<Record<string, ReadonlyArray<string>>>
  /** How long a cached response is served. @default 300000 (5 min) */
  readonly cacheTtlMs: number
  /** Cached responses kept at most (oldest evicted first). @default 1000 */
  readonly cacheCapacity: number
}

/** The built-in provider: `local/echo`, always present unless a provider named `local` is configured. */
export const LOCAL_ECHO: ResolvedProvider = {
  name: "local",
  kind: "local",
  baseUrl: undefined,
  apiKey: undefined,
  models: ["echo"],
  capabilities: ["stream", "tools", "json"],
  concurrency: 64,
  rateLimit: undefined,
  pricing: undefined,
  timeoutMs: 60_000,
  retry: { times: 0, baseMs: 200, maxRetryAfterMs: 30_000 }
}

const DEFAULT_BASE: Partial<Record<ProviderKind, string>> = {
  openai: "https://api.openai.com/v1",
  anthropic: "https://api.anthropic.com"
}

/** Splits a route `provider/model` (the model part may contain `/`). */
export const splitRoute = (route: string): { readonly provider: string; readonly model: string } | undefined => {
  const slash = route.indexOf("/")
  if (slash <= 0 || slash === route.length - 1) return undefined
  return { provider: route.slice(0, slash), model: route.slice(slash + 1) }
}

/** Options of `resolveLlmConfig`. */
export interface ResolveOptions {
  /** The API keys by variable name (`apiKeyEnv`), as `readApiKeys` reads them. @default {} */
  readonly apiKeys?: Readonly<Record<string, Redacted.Redacted<string>>>
  readonly cacheTtlMs?: number
  readonly cacheCapacity?: number
}

/** The config file's part the LLM gateway reads. */
export interface LlmConfigFile {
  readonly providers?: ReadonlyArray<ProviderConfig> | undefined
  readonly fallbacks?: Readonly<Record<string, ReadonlyArray<string>>> | undefined
}

/**
 * Reads the API key of every provider with an `apiKeyEnv` through `Config`
 * (as `Redacted`, `settings.ts`); unset or empty variables are left out
 * (`resolveLlmConfig` names them).
 */
export const readApiKeys = (
  file: LlmConfigFile
): Effect.Effect<Readonly<Record<string, Redacted.Redacted<string>>>, LlmConfigError> =>
  Effect.gen(function*() {
    const keys: Record<string, Redacted.Redacted<string>> = {}
    for (const p of file.providers ?? []) {
      if (p.apiKeyEnv === undefined || Object.hasOwn(keys, p.apiKeyEnv)) continue
      const key = yield* Effect.mapError(
        providerApiKey(p.apiKeyEnv),
        (e) => new LlmConfigError({ message: `config: providers (${p.name}).apiKeyEnv: ${String(e)}` })
      )
      if (Option.isSome(key)) keys[p.apiKeyEnv] = key.value
    }
    return keys
  })

/** `readApiKeys`, then `resolveLlmConfig`: the gateway's configuration from a config file and the environment. */
export const loadLlmConfig = (
  file: LlmConfigFile,
  options: Omit<ResolveOptions, "apiKeys"> = {}
): Effect.Effect<LlmConfig, LlmConfigError> =>
  Effect.flatMap(readApiKeys(file), (apiKeys) => resolveLlmConfig(file, { ...options, apiKeys }))

/**
 * Resolves `providers` and `fallbacks` of a decoded config: defaults, checks,
 * API keys taken from `options.apiKeys` (a missing variable is an error
 * naming it). `local/echo` is always added.
 */
export const resolveLlmConfig = (
  file: LlmConfigFile,
  options: ResolveOptions = {}
): Either.Either<LlmConfig, LlmConfigError> => {
  const apiKeys = options.apiKeys ?? {}
  const fail = (message: string) => Either.left(new LlmConfigError({ message: `config: ${message}` }))
  const providers: Array<ResolvedProvider> = []
  const seen = new Set<string>()
  for (const [i, p] of (file.providers ?? []).entries()) {
    const at = `providers[${i}] (${p.name})`
    if (seen.has(p.name)) return fail(`${at}.name: provider "${p.name}" is configured twice`)
    seen.add(p.name)
    const baseUrl = p.baseUrl ?? DEFAULT_BASE[p.kind]
    if (p.kind === "openai-compatible" && baseUrl === undefined) {
      return fail(`${at}.baseUrl: required for kind "openai-compatible"`)
    }
    if ((p.kind === "openai" || p.kind === "anthropic") && p.apiKeyEnv === undefined) {
      return fail(`${at}.apiKeyEnv: required for kind "${p.kind}" (the name of the variable holding the key)`)
    }
    const capabilities = p.capabilities ??
      (p.kind === "openai" || p.kind === "anthropic" ? ["stream", "json"] : ["stream", "tools", "json"])
    if ((p.kind === "openai" || p.kind === "anthropic") && capabilities.includes("tools")) {
      return fail(
        `${at}.capabilities: "tools" is not supported for kind "${p.kind}" (@effect/ai needs Effect Schemas for tools); use kind "openai-compatible" for tool calls`
      )
    }
    if (p.kind === "local" && p.models.some((m) => m !== "echo")) {
      return fail(`${at}.models: a "local" provider serves "echo" only`)
    }
    let apiKey: Redacted.Redacted<string> | undefined
    if (p.apiKeyEnv !== undefined) {
      apiKey = Object.hasOwn(apiKeys, p.apiKeyEnv) ? apiKeys[p.apiKeyEnv] : undefined
      if (apiKey === undefined) {
        return fail(
          `${at}.apiKeyEnv: the environment variable ${p.apiKeyEnv} is not set (it must hold the API key of provider "${p.name}")`
        )
      }
    }
    providers.push({
      name: p.name,
      kind: p.kind,
      baseUrl: baseUrl?.replace(/\/+$/, ""),
      apiKey,
      models: p.models,
      capabilities,
      concurrency: p.concurrency ?? 16,
      rateLimit: p.rateLimit === undefined
        ? undefined
        : { requests: p.rateLimit.requests, perMs: parseDuration(p.rateLimit.per)! },
      pricing: p.pricing,
      timeoutMs: p.timeoutMs ?? 60_000,
      retry: {
        times: p.retry?.times ?? 2,
        baseMs: p.retry?.baseMs ?? 200,
        maxRetryAfterMs: p.retry?.maxRetryAfterMs ?? 30_000
      },
      breaker: p.breaker === undefined ? undefined : resolveBreaker(p.breaker)
    })
  }
  if (!seen.has("local")) providers.push(LOCAL_ECHO)
  const serves = (route: string) => {
    const r = splitRoute(route)
    return r !== undefined && providers.some((p) => p.name === r.provider && p.models.includes(r.model))
  }
  const fallbacks: Record<string, ReadonlyArray<string>> = {}
  for (const [from, to] of Object.entries(file.fallbacks ?? {})) {
    if (!serves(from)) return fail(`fallbacks["${from}"]: no provider serves "${from}" (a route is provider/model)`)
    for (const [j, r] of to.entries()) {
      if (!serves(r)) return fail(`fallbacks["${from}"][${j}]: no provider serves "${r}"`)
      if (r === from) return fail(`fallbacks["${from}"][${j}]: a route cannot fall back to itself`)
    }
    fallbacks[from] = to
  }
  return Either.right({
    providers,
    fallbacks,
    cacheTtlMs: options.cacheTtlMs ?? 300_000,
    cacheCapacity: options.cacheCapacity ?? 1000
  })
}
