/**
 * The router: model names (`provider/model`) to provider backends with every
 * policy applied once, at the chat-completions level, for the gateway and
 * for `LlmRouter` alike:
 * - routing by prefix; capability gating (`CapabilityMissing` naming it);
 * - per route: the provider's rate limit (`RateLimiter`), concurrency
 *   (a `Semaphore`; a stream holds its permit until it ends), timeout
 *   (whole answer; first chunk and each gap of a stream), retries on 429 /
 *   5xx / timeouts / cut streams with a jittered exponential `Schedule`
 *   that waits at least the upstream's `Retry-After` (longer than
 *   `retry.maxRetryAfterMs`: not waited for, the next route is tried);
 * - a provider's circuit breaker (`breaker`) around each route's attempt:
 *   open, it fails the route at once with `CircuitOpen`;
 * - ordered fallbacks (`fallbacks["p/m"]`) on `RateLimited`, `Upstream`,
 *   `Timeout`, `CircuitOpen`; a stream falls back only until its first chunk arrived;
 * - the response cache (model + request + workspace; TTL; `noCache` skips);
 * - cost: the USD cost of an answer by the provider's `pricing` (0 for a
 *   cache hit) is in `ChatResult.cost` / `ChatStreamResult.price`, and in
 *   the finish part of `LlmRouter` models (`metadata.trellis.cost`);
 * - usage: tokens and cost into metrics, and into the per-workspace
 *   tokens-per-minute window that `checkQuota` enforces (the gateway).
 * `layer(llmConfig)` provides `LlmGateway` and `LlmRouter`; `layerLocal`
 * serves `local/echo` only.
 */
import type { LanguageModel } from "@effect/ai"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import {
  Chunk,
  Clock,
  Context,
  Duration,
  Effect,
  Either,
  ExecutionStrategy,
  Exit,
  Layer,
  Option,
  Random,
  RateLimiter,
  Schedule,
  Scope,
  Stream
} from "effect"
import { CircuitBreaker, protect } from "../runtime/policy/breaker.js"
import { SharedLimits } from "../runtime/policy/sharedLimits.js"
import { assemble, cacheKey, chunksOf, ResponseCache } from "./cache.js"
import type { ChatChunk, ChatCompletion, ChatRequest, ChatUsage } from "./chatCompletions.js"
import { needsOf } from "./chatCompletions.js"
import { chatLanguageModel } from "./chatLanguageModel.js"
import { loadLlmConfig, resolveLlmConfig, splitRoute } from "./config.js"
import type { LlmConfigFile, ResolveOptions } from "./config.js"
import type { LlmConfig, LlmConfigError, ResolvedProvider } from "./config.js"
import { recordFallback, recordOutcome, recordUsage } from "./metrics.js"
import type { ProviderBackend } from "./providers.js"
import { makeBackend } from "./providers.js"
import { LlmError, LlmRouter } from "./service.js"
import type { Capability, RequestContext } from "./service.js"

/** A non-streamed answer. */
export interface ChatResult {
  /** The route that answered (`provider/model`). */
  readonly route: string
  readonly completion: ChatCompletion
  readonly cached: boolean
  /** USD cost from the answering provider's `pricing` (0 without pricing, without usage, or for a cache hit). */
  readonly cost: number
}

/** An opened stream: its first chunk arrived (or it came from the cache). */
export interface ChatStreamResult {
  readonly route: string
  readonly chunks: Stream.Stream<ChatChunk, LlmError>
  readonly cached: boolean
  /** USD cost of the stream's final usage by the answering provider's `pricing` (0 for a cache hit or without pricing). */
  readonly price: (usage: ChatUsage) => number
}

/** What the gateway (and `LlmRouter`) use. */
export interface LlmGatewayService {
  /** A completion for `model` (the request's own `model` field is ignored). */
  readonly complete: (
    model: string,
    request: ChatRequest,
    context: RequestContext
  ) => Effect.Effect<ChatResult, LlmError>
  /** Opens a stream for `model`: fallbacks are tried until a route sends its first chunk. */
  readonly stream: (
    model: string,
    request: ChatRequest,
    context: RequestContext
  ) => Effect.Effect<ChatStreamResult, LlmError, Scope.Scope>
  /** Fails with `QuotaExceeded` (and `retryAfterMs`) when the workspace used its tokens of the last minute. */
  readonly checkQuota: (workspace: string, tokensPerMinute: number | undefined) => Effect.Effect<void, LlmError>
  /** Tokens the workspace used in the last minute. */
  readonly tokensLastMinute: (workspace: string) => Effect.Effect<number>
  /** Checks that `model` is served with `needs` (`UnknownModel`, `CapabilityMissing`). */
  readonly check: (model: string, needs: ReadonlyArray<Capability>) => Effect.Effect<void, LlmError>
  /** Served model names (`provider/model`). */
  readonly models: () => ReadonlyArray<string>
}

/** The gateway's view of the router. */
export class LlmGateway extends Context.Tag("trellis/LlmGateway")<LlmGateway, LlmGatewayService>() {}

interface Route {
  readonly provider: ResolvedProvider
  readonly backend: ProviderBackend
  readonly permits: Effect.Semaphore
  readonly limit: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

/** Streamed answers longer than this (characters of content) are not cached. */
const MAX_CACHED_STREAM_CHARS = 1_000_000

const FALLBACK_REASONS = new Set<LlmError["reason"]>([
  "RateLimited",
  "Upstream",
  "Timeout",
  "Unavailable",
  "CircuitOpen"
])
/** The failures that count against a provider's circuit breaker (the others are answers: bad requests and the like). */
const BREAKER_REASONS = new Set<LlmError["reason"]>(["RateLimited", "Upstream", "Timeout"])
const RETRY_REASONS = new Set<LlmError["reason"]>(["RateLimited", "Upstream", "Timeout"])

/** Whether a failure on one route may be retried there. */
const retryable = (p: ResolvedProvider) => (e: LlmError): boolean =>
  RETRY_REASONS.has(e.reason) && (e.status === undefined || e.status === 429 || e.status >= 500) &&
  (e.retryAfterMs === undefined || e.retryAfterMs <= p.retry.maxRetryAfterMs)

/**
 * The retry schedule of a provider: `times` retries, exponential from
 * `baseMs` with jitter (×0.8–1.2); after a 429 with `Retry-After`, at least
 * that long plus up to 10 % jitter.
 */
export const retrySchedule = (p: ResolvedProvider): Schedule.Schedule<unknown, LlmError> =>
  Schedule.exponential(Duration.millis(p.retry.baseMs)).pipe(
    Schedule.jittered,
    Schedule.intersect(Schedule.recurs(p.retry.times)),
    Schedule.intersect(Schedule.identity<LlmError>()),
    Schedule.whileInput(retryable(p)),
    Schedule.modifyDelayEffect(([, error], delay) =>
      error.retryAfterMs === undefined
        ? Effect.succeed(delay)
        : Effect.map(Random.nextRange(0, Math.max(1, error.retryAfterMs * 0.1)), (extra) =>
          Duration.max(delay, Duration.millis(error.retryAfterMs! + extra)))
    )
  )

const timeoutError = (p: ResolvedProvider, what: string) =>
  new LlmError({
    reason: "Timeout",
    provider: p.name,
    message: `provider ${p.name} did not ${what} within ${p.timeoutMs} ms`
  })

const costOf = (p: ResolvedProvider, usage: ChatUsage | undefined): number | undefined =>
  p.pricing === undefined || usage === undefined
    ? undefined
    // An upstream's usage is not trusted to be complete: missing counts cost nothing.
    : ((Number(usage.prompt_tokens) || 0) * p.pricing.inputPer1M +
      (Number(usage.completion_tokens) || 0) * p.pricing.outputPer1M) / 1_000_000

/** Builds the gateway service over resolved providers (needs an `HttpClient` for HTTP providers). */
export const make = (config: LlmConfig) =>
  Effect.gen(function*() {
    const routes = new Map<string, Route>()
    for (const p of config.providers) {
      const backend = yield* makeBackend(p)
      const permits = yield* Effect.makeSemaphore(p.concurrency)
      const limiter = p.rateLimit === undefined
        ? undefined
        : yield* RateLimiter.make({
          limit: p.rateLimit.requests,
          interval: Duration.millis(p.rateLimit.perMs),
          algorithm: "token-bucket"
        })
      routes.set(p.name, { provider: p, backend, permits, limit: limiter ?? ((e) => e) })
    }
    const served = config.providers.flatMap((p) => p.models.map((m) => `${p.name}/${m}`))
    const cache = new ResponseCache(config.cacheTtlMs, config.cacheCapacity)
    const windows = new Map<string, Array<{ readonly at: number; readonly tokens: number }>>()
    // Cluster mode: tokens per minute is a shared token bucket per workspace (capacity and refill: the quota);
    // `checkQuota` notes each workspace's quota so the answer's usage is charged to the right bucket.
    const shared = Option.getOrUndefined(yield* Effect.serviceOption(SharedLimits))
    // Providers' circuit breakers: in this process's memory, or shared by the cluster's replicas.
    const breakers = yield* CircuitBreaker
    const quotaOf = new Map<string, number>()
    const tpmBucket = (limit: number) => ({ limit, windowMs: 60_000 })

    /** The routes to try for `model`, first choice first. */
    const plan = (
      model: string,
      needs: ReadonlyArray<Capability>
    ): Either.Either<ReadonlyArray<{ route: string; model: string; r: Route }>, LlmError> => {
      const find = (name: string) => {
        const split = splitRoute(name)
        const r = split === undefined ? undefined : routes.get(split.provider)
        return split === undefined || r === undefined || !r.provider.models.includes(split.model)
          ? undefined
          : { route: name, model: split.model, r }
      }
      const first = find(model)
      if (first === undefined) {
        return Either.left(
          new LlmError({
            reason: "UnknownModel",
            message: `unknown model "${model.slice(0, 200)}": models are provider/model, served here: ${
              served.join(", ")
            }`
          })
        )
      }
      const missing = needs.find((n) => !first.r.provider.capabilities.includes(n))
      if (missing !== undefined) {
        return Either.left(
          new LlmError({
            reason: "CapabilityMissing",
            provider: first.r.provider.name,
            message:
              `model ${model} lacks the capability "${missing}" this request needs (provider ${first.r.provider.name} has: ${
                first.r.provider.capabilities.join(", ") || "none"
              })`
          })
        )
      }
      const rest = (config.fallbacks[model] ?? []).flatMap((f) => {
        const found = find(f)
        return found !== undefined && needs.every((n) => found.r.provider.capabilities.includes(n)) ? [found] : []
      })
      return Either.right([first, ...rest])
    }

    const record = (workspace: string, p: ResolvedProvider, model: string, usage: ChatUsage | undefined) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.sync((): Effect.Effect<void> => {
          recordOutcome(p.name, model, workspace, "ok")
          if (usage === undefined) return Effect.void
          recordUsage(
            p.name,
            model,
            workspace,
            usage.prompt_tokens ?? 0,
            usage.completion_tokens ?? 0,
            costOf(p, usage)
          )
          const total = usage.total_tokens ?? (usage.prompt_tokens ?? 0) + (usage.completion_tokens ?? 0)
          const quota = quotaOf.get(workspace)
          if (total > 0 && shared !== undefined && quota !== undefined) {
            return shared.charge(`tpm:${workspace}`, tpmBucket(quota), total)
          }
          if (total > 0) {
            // Pruned on every write, so the window of a workspace without a quota stays one minute long too.
            const w = prune(windows, workspace, now)
            w.push({ at: now, tokens: total })
            windows.set(workspace, w)
          }
          return Effect.void
        }).pipe(Effect.flatten))

    /** One route's attempt (after its retries) through its provider's circuit breaker, when it has one. */
    const guarded = <A, R>(c: { route: string; r: Route }, eff: Effect.Effect<A, LlmError, R>) => {
      const p = c.r.provider
      if (p.breaker === undefined) return eff
      return protect<LlmError>(breakers, `llm:${p.name}`, p.breaker, {
        counts: (e) => BREAKER_REASONS.has(e.reason),
        rejected: (retryAfterMs) =>
          new LlmError({
            reason: "CircuitOpen",
            provider: p.name,
            message: `provider ${p.name}: circuit breaker open, retry after ${retryAfterMs} ms`,
            retryAfterMs
          })
      })(eff)
    }

    /** Tries routes in order; `attempt` runs one route (with its retries). */
    const overRoutes = <A, R>(
      model: string,
      workspace: string,
      candidates: ReadonlyArray<{ route: string; model: string; r: Route }>,
      attempt: (c: { route: string; model: string; r: Route }) => Effect.Effect<A, LlmError, R>
    ): Effect.Effect<A, LlmError, R> => {
      const failures: Array<LlmError> = []
      const loop = (i: number): Effect.Effect<A, LlmError, R> => {
        const c = candidates[i]!
        return guarded(c, attempt(c)).pipe(
          Effect.tap(() => (i > 0 ? Effect.sync(() => recordFallback(model, c.route, workspace)) : Effect.void)),
          Effect.catchAll((e) => {
            recordOutcome(c.r.provider.name, c.model, workspace, e.reason)
            failures.push(e)
            if (FALLBACK_REASONS.has(e.reason) && i + 1 < candidates.length) return loop(i + 1)
            if (candidates.length === 1 || !FALLBACK_REASONS.has(e.reason)) return Effect.fail(e)
            const allLimited = failures.every((f) => f.reason === "RateLimited")
            const waits = failures.flatMap((f) => (f.retryAfterMs === undefined ? [] : [f.retryAfterMs]))
            return Effect.fail(
              new LlmError({
                reason: allLimited ? "RateLimited" : "Unavailable",
                message: `every route of ${model} failed: ${
                  failures.map((f, j) => `${candidates[j]!.route}: ${f.message}`).join("; ")
                }`,
                ...(waits.length > 0 ? { retryAfterMs: Math.min(...waits) } : {})
              })
            )
          })
        )
      }
      return loop(0)
    }

    /** The cached answer for `key` (not with `noCache`), its use counted as a `cached` outcome. */
    const cached = (key: string, context: RequestContext) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        if (context.noCache === true) return undefined
        const hit = cache.get(key, now)
        if (hit === undefined) return undefined
        const p = splitRoute(hit.route)
        if (p !== undefined) recordOutcome(p.provider, p.model, context.workspace, "cached")
        return hit
      })

    const complete: LlmGatewayService["complete"] = (model, request, context) =>
      Effect.gen(function*() {
        const needs = [...new Set([...context.needs, ...needsOf({ ...request, stream: false })])]
        const candidates = yield* plan(model, needs)
        const key = cacheKey(model, request, context.workspace)
        const hit = yield* cached(key, context)
        if (hit !== undefined) return { route: hit.route, completion: hit.completion, cached: true, cost: 0 }
        const result = yield* overRoutes(model, context.workspace, candidates, (c) =>
          c.r.limit(
            c.r.permits.withPermits(1)(
              c.r.backend.complete({ ...request, model: c.model, stream: false }).pipe(
                Effect.timeoutFail({
                  duration: Duration.millis(c.r.provider.timeoutMs),
                  onTimeout: () => timeoutError(c.r.provider, "answer")
                })
              )
            )
          ).pipe(
            Effect.retry(retrySchedule(c.r.provider)),
            Effect.map((completion) => ({
              route: c.route,
              completion,
              cached: false as const,
              cost: costOf(c.r.provider, completion.usage) ?? 0
            })),
            Effect.tap(({ completion }) => record(context.workspace, c.r.provider, c.model, completion.usage))
          ))
        cache.set(key, result.route, result.completion, yield* Clock.currentTimeMillis)
        return result
      }).pipe(
        Effect.withSpan("llm.complete", { attributes: { "llm.model": model, "llm.workspace": context.workspace } })
      )

    /** Opens one route's stream in a child scope of `outer`: waits for the first chunk. */
    const open = (c: { route: string; model: string; r: Route }, request: ChatRequest, outer: Scope.Scope) =>
      Effect.gen(function*() {
        const p = c.r.provider
        const scope = yield* Scope.fork(outer, ExecutionStrategy.sequential)
        const opened = Effect.gen(function*() {
          yield* c.r.limit(Effect.void)
          yield* Effect.acquireRelease(c.r.permits.take(1), () => c.r.permits.release(1))
          const pull = yield* Stream.toPull(c.r.backend.stream({ ...request, model: c.model, stream: true }))
          const next = pull.pipe(
            Effect.timeoutFail({
              duration: Duration.millis(p.timeoutMs),
              onTimeout: () => Option.some(timeoutError(p, "send the next chunk"))
            })
          )
          const first = yield* next.pipe(
            Effect.catchAll((e) => (Option.isNone(e) ? Effect.succeed(Chunk.empty<ChatChunk>()) : Effect.fail(e.value)))
          )
          return Stream.concat(Stream.fromChunk(first), Stream.repeatEffectChunkOption(next))
        }).pipe(Scope.extend(scope))
        return yield* opened.pipe(
          Effect.onExit((exit) => (Exit.isFailure(exit) ? Scope.close(scope, exit) : Effect.void)),
          Effect.map((chunks) => Stream.ensuring(chunks, Scope.close(scope, Exit.void)))
        )
      })

    const stream: LlmGatewayService["stream"] = (model, request, context) =>
      Effect.gen(function*() {
        const needs = [...new Set<Capability>([...context.needs, ...needsOf(request), "stream"])]
        const candidates = yield* plan(model, needs)
        const key = cacheKey(model, request, context.workspace)
        const hit = yield* cached(key, context)
        if (hit !== undefined) {
          return {
            route: hit.route,
            chunks: Stream.fromIterable(chunksOf(hit.completion)),
            cached: true,
            price: () => 0
          }
        }
        const outer = yield* Effect.scope
        return yield* overRoutes(model, context.workspace, candidates, (c) =>
          open(c, request, outer).pipe(
            Effect.retry(retrySchedule(c.r.provider)),
            Effect.map((chunks): ChatStreamResult => {
              // Chunks are kept for the cache only while the answer stays small.
              let seen: Array<ChatChunk> | undefined = []
              let size = 0
              let usage: ChatUsage | undefined
              const observed = chunks.pipe(
                Stream.tap((chunk) =>
                  Effect.sync(() => {
                    if (chunk.usage !== undefined && chunk.usage !== null) usage = chunk.usage
                    if (seen === undefined) return
                    size += chunk.choices[0]?.delta.content?.length ?? 0
                    if (size > MAX_CACHED_STREAM_CHARS) seen = undefined
                    else seen.push(chunk)
                  })
                ),
                Stream.onEnd(Effect.gen(function*() {
                  yield* record(context.workspace, c.r.provider, c.model, usage)
                  const completion = seen === undefined ? undefined : assemble(seen)
                  const done = completion?.choices[0]?.finish_reason
                  if (completion !== undefined && done !== null && done !== undefined) {
                    cache.set(key, c.route, completion, yield* Clock.currentTimeMillis)
                  }
                })),
                Stream.tapError((e) =>
                  Effect.sync(() => recordOutcome(c.r.provider.name, c.model, context.workspace, e.reason))
                )
              )
              return { route: c.route, chunks: observed, cached: false, price: (u) => costOf(c.r.provider, u) ?? 0 }
            })
          ))
      })

    const service: LlmGatewayService = {
      complete,
      stream,
      checkQuota: (workspace, tokensPerMinute) =>
        tokensPerMinute === undefined
          ? Effect.void
          : shared !== undefined
          ? Effect.suspend(() => {
            quotaOf.set(workspace, tokensPerMinute)
            return Effect.flatMap(shared.waitMs(`tpm:${workspace}`, tpmBucket(tokensPerMinute)), (retryAfterMs) =>
              retryAfterMs === 0 ? Effect.void : Effect.fail(
                new LlmError({
                  reason: "QuotaExceeded",
                  message: `workspace ${workspace} spent its ${tokensPerMinute} tokens per minute (cluster-wide)`,
                  retryAfterMs
                })
              ))
          })
          : Effect.flatMap(Clock.currentTimeMillis, (now) => {
            const w = prune(windows, workspace, now)
            const used = w.reduce((n, e) => n + e.tokens, 0)
            if (used < tokensPerMinute) {
              return Effect.void
            }
            const retryAfterMs = Math.max(1, (w[0]?.at ?? now) + 60_000 - now)
            return Effect.fail(
              new LlmError({
                reason: "QuotaExceeded",
                message: `workspace ${workspace} used ${used} of its ${tokensPerMinute} tokens per minute`,
                retryAfterMs
              })
            )
          }),
      tokensLastMinute: (workspace) =>
        Effect.map(Clock.currentTimeMillis, (now) => prune(windows, workspace, now).reduce((n, e) => n + e.tokens, 0)),
      check: (model, needs) => Effect.asVoid(plan(model, needs)),
      models: () => served
    }
    return service
  })

const prune = (
  windows: Map<string, Array<{ readonly at: number; readonly tokens: number }>>,
  workspace: string,
  now: number
) => {
  const w = windows.get(workspace) ?? []
  let drop = 0
  while (drop < w.length && w[drop]!.at <= now - 60_000) drop++
  if (drop > 0) w.splice(0, drop)
  return w
}

/** `LlmRouter` over the gateway service: `resolve` checks the route now and returns a `LanguageModel`. */
export const routerOf = (gateway: LlmGatewayService): Context.Tag.Service<LlmRouter> => ({
  resolve: (model, context) =>
    Effect.gen(function*() {
      yield* gateway.check(model, context.needs)
      const lm: LanguageModel.Service = yield* chatLanguageModel(model, {
        complete: (request) => gateway.complete(model, request, context),
        stream: (request) => gateway.stream(model, request, context)
      })
      return { route: model, model: lm }
    }),
  models: gateway.models
})

/** The router from a resolved LLM config: `LlmGateway` and `LlmRouter` (HTTP through `fetch`). */
export const layerResolved = (config: LlmConfig): Layer.Layer<LlmGateway | LlmRouter> => {
  const gateway = Layer.scoped(LlmGateway, make(config)).pipe(Layer.provide(FetchHttpClient.layer))
  return Layer.effect(LlmRouter, Effect.map(LlmGateway, routerOf)).pipe(Layer.provideMerge(gateway))
}

/**
 * The router from the config file's `providers`/`fallbacks` (API keys read
 * through `Config` when the layer is built); fails with the first config problem.
 */
export const layer = (
  file: LlmConfigFile,
  options: Omit<ResolveOptions, "apiKeys"> = {}
): Layer.Layer<LlmGateway | LlmRouter, LlmConfigError> =>
  Layer.unwrapEffect(Effect.map(loadLlmConfig(file, options), layerResolved))

/** `local/echo` only. */
export const layerLocal: Layer.Layer<LlmGateway | LlmRouter> = layerResolved(Either.getOrThrow(resolveLlmConfig({})))
