/**
 * The LLM layer's one service (SPEC §6): model names such as `vllm/qwen2.5`
 * or `local/echo` resolve to an `@effect/ai` `LanguageModel` with routing,
 * capability gating, fallbacks, 429 handling, per-provider concurrency and
 * the response cache already applied. The gateway (`POST
 * /v1/chat/completions`), llm steps in programs and the planner all go
 * through it.
 */
import type { LanguageModel } from "@effect/ai"
import { Context, Schema } from "effect"
import type { Effect } from "effect"

/** What a request needs from a provider. */
export const Capability = Schema.Literal("stream", "tools", "json")
export type Capability = typeof Capability.Type

/** Why an LLM request failed. */
export const LlmErrorReason = Schema.Literal(
  "UnknownModel", // no provider serves this model name
  "CapabilityMissing", // the provider lacks a capability the request needs
  "BadRequest", // the request itself is invalid
  "RateLimited", // 429 from every route, retries exhausted
  "QuotaExceeded", // the workspace's tokens-per-minute quota
  "Timeout", // the upstream did not answer in time
  "Upstream", // the upstream failed (5xx, cut stream, bad reply)
  "CircuitOpen", // the provider's circuit breaker is open: not asked (retryAfterMs: when it lets a probe through)
  "Unavailable" // no route left (all fallbacks failed)
)
export type LlmErrorReason = typeof LlmErrorReason.Type

/** A typed LLM failure; `provider`/`status` say where it came from when known. */
export class LlmError extends Schema.TaggedError<LlmError>()("LlmError", {
  reason: LlmErrorReason,
  message: Schema.String,
  provider: Schema.optional(Schema.String),
  status: Schema.optional(Schema.Number),
  /** Milliseconds the caller should wait (429). */
  retryAfterMs: Schema.optional(Schema.Number)
}) {}

/** Who is asking and what the request needs. */
export interface RequestContext {
  /** The workspace (cache keys, quotas and metrics labels are per workspace). */
  readonly workspace: string
  /** Capabilities the request needs; a route without one is refused with `CapabilityMissing`. */
  readonly needs: ReadonlyArray<Capability>
  /** Skip the response cache (`Cache-Control: no-cache`). */
  readonly noCache?: boolean
}

/** A model name resolved to a usable `LanguageModel`. */
export interface ResolvedModel {
  /** The first-choice route, `provider/model`. */
  readonly route: string
  /**
   * The model, with fallbacks, retries, concurrency and caching applied.
   * Every response (and every stream) carries a `response-metadata` part
   * whose `modelId` is the route that actually answered (`provider/model`).
   */
  readonly model: LanguageModel.Service
}

export interface LlmRouterService {
  /** Resolves a model name (`provider/model`) for a request. */
  readonly resolve: (model: string, context: RequestContext) => Effect.Effect<ResolvedModel, LlmError>
  /** The model names the configured providers serve (`provider/model`). */
  readonly models: () => ReadonlyArray<string>
}

/** The LLM router service. Layers: see `src/llm/router.ts`. */
export class LlmRouter extends Context.Tag("trellis/LlmRouter")<LlmRouter, LlmRouterService>() {}
