/**
 * Per-tool limits (SPEC §3, §4): a token-bucket `RateLimiter` (Effect's)
 * from `limits.rate` and a `Semaphore` from `limits.concurrency`, created
 * once per tool name and kept for the life of the layer. A call first takes
 * a concurrency permit, then a rate token, so every admitted call starts
 * the moment it is admitted. A tool without limits passes straight through.
 */
import { Context, Duration, Effect, Layer, Option, RateLimiter, Scope } from "effect"
import type { AnyTool, ToolLimits } from "../../tools/tool.js"
import { SharedLimits } from "./sharedLimits.js"
import type { SharedLimitsService } from "./sharedLimits.js"

/** Wraps an effect in a tool's limits. */
export type Guard = <A, E, R>(eff: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>

const passThrough: Guard = (eff) => eff

/**
 * The token bucket of a rate limit: capacity `burst` (at least 1), one
 * token back every ⌈1000 / perSecond⌉ ms. Effect's RateLimiter refills in
 * whole milliseconds, so the effective rate is 1000 / ⌈1000 / perSecond⌉
 * per second: exact when 1000 / perSecond is whole, never above `perSecond`.
 */
export const bucketOptions = (rate: NonNullable<ToolLimits["rate"]>): RateLimiter.RateLimiter.Options => {
  const limit = Math.max(1, Math.floor(rate.burst))
  const millisPerToken = Math.max(1, Math.ceil(1000 / rate.perSecond))
  return { limit, interval: `${limit * millisPerToken} millis`, algorithm: "token-bucket" }
}

/** Whether a tool declares a rate or concurrency limit. */
export const hasLimits = (limits: ToolLimits): boolean => limits.rate !== undefined || limits.concurrency !== undefined

/** The rate guard of `limits.rate` on the shared bucket `tool:<name>` (every replica takes from it). */
const sharedRate = (shared: SharedLimitsService, name: string, rate: NonNullable<ToolLimits["rate"]>): Guard => {
  const o = bucketOptions(rate)
  const bucket = { limit: o.limit, windowMs: Duration.toMillis(o.interval) }
  const key = `tool:${name}`
  return (eff) => Effect.zipRight(shared.acquire(key, bucket), eff)
}

/**
 * Builds the guard of one tool's limits in `scope`; with `shared`, the rate is taken from the shared bucket of
 * the tool's name (cluster-wide) and the concurrency stays per process.
 */
export const makeGuard = (
  limits: ToolLimits,
  shared?: { readonly limits: SharedLimitsService; readonly name: string }
): Effect.Effect<Guard, never, Scope.Scope> =>
  Effect.gen(function*() {
    const rate = limits.rate === undefined
      ? undefined
      : shared === undefined
      ? yield* RateLimiter.make(bucketOptions(limits.rate))
      : sharedRate(shared.limits, shared.name, limits.rate)
    const sem = limits.concurrency === undefined
      ? undefined
      : yield* Effect.makeSemaphore(Math.max(1, Math.floor(limits.concurrency)))
    if (rate === undefined) return sem === undefined ? passThrough : sem.withPermits(1)
    if (sem === undefined) return rate
    return (eff) => sem.withPermits(1)(rate(eff))
  })

/** One bucket (or shared bucket) and semaphore per tool name, made on first use, released with the scope. */
const makeLimiter = (shared: SharedLimitsService | undefined) =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const guards = new Map<string, Guard>()
    const creating = yield* Effect.makeSemaphore(1)
    const guardOf = (tool: AnyTool): Effect.Effect<Guard> =>
      Effect.suspend(() => {
        const known = guards.get(tool.name)
        if (known !== undefined) return Effect.succeed(known)
        return creating.withPermits(1)(
          Effect.suspend(() => {
            const raced = guards.get(tool.name)
            if (raced !== undefined) return Effect.succeed(raced)
            return Effect.tap(
              Scope.extend(
                makeGuard(tool.limits, shared === undefined ? undefined : { limits: shared, name: tool.name }),
                scope
              ),
              (g) => {
                guards.set(tool.name, g)
              }
            )
          })
        )
      })
    return ToolLimiter.of({
      guard: (tool) => {
        if (!hasLimits(tool.limits)) return passThrough
        const known = guards.get(tool.name)
        if (known !== undefined) return known
        return (eff) => Effect.flatMap(guardOf(tool), (g) => g(eff))
      }
    })
  })

/** Applies each tool's declared rate and concurrency limits to its calls. */
export class ToolLimiter extends Context.Tag("trellis/ToolLimiter")<ToolLimiter, {
  /** The guard of `tool`: wrap each call (every attempt) of that tool in it. */
  readonly guard: (tool: AnyTool) => Guard
}>() {
  /** One bucket and semaphore per tool name, made on first use and released with the layer's scope. */
  static readonly layer: Layer.Layer<ToolLimiter> = Layer.scoped(ToolLimiter, makeLimiter(undefined))

  /**
   * The same, with every rate taken from the `SharedLimits` in context when there is one (cluster mode: a tool's
   * `limits.rate` holds across replicas); without one, `layer`.
   */
  static readonly layerShared: Layer.Layer<ToolLimiter> = Layer.scoped(
    ToolLimiter,
    Effect.flatMap(Effect.serviceOption(SharedLimits), (shared) => makeLimiter(Option.getOrUndefined(shared)))
  )

  /** No limits at all (every call passes straight through). */
  static readonly layerUnlimited: Layer.Layer<ToolLimiter> = Layer.succeed(
    ToolLimiter,
    ToolLimiter.of({
      guard: () => passThrough
    })
  )
}
