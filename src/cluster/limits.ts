/**
 * `SharedLimits` on `@effect/experimental`'s `RateLimiter`: token buckets in
 * Redis (`layerRedis`, cluster mode: every replica takes from the same
 * buckets) or in memory (`layerMemory`, one process). The Redis store keys
 * its buckets under `prefix` and refills them by the callers' clocks, so the
 * replicas' clocks must agree (one machine, or NTP).
 *
 * A store that fails (Redis down) admits the call and logs a warning: a limit
 * must not stop the service it protects. Each failure is logged.
 */
import * as RateLimiter from "@effect/experimental/RateLimiter"
import * as RedisStore from "@effect/experimental/RateLimiter/Redis"
import { Duration, Effect, Layer, Option, Redacted } from "effect"
import { SharedLimits } from "../runtime/policy/sharedLimits.js"
import type { Bucket } from "../runtime/policy/sharedLimits.js"
import * as Breakers from "./breakers.js"
import type { ClusterConfig } from "./config.js"
import * as Settings from "./settings.js"

const admitOnStoreError = <A>(fallback: A) => (e: RateLimiter.RateLimiterError): Effect.Effect<A> =>
  Effect.as(Effect.logWarning(`shared limits: the store failed, admitting (${e.message})`), fallback)

const options = (key: string, bucket: Bucket, tokens: number) => ({
  key,
  limit: Math.max(1, Math.floor(bucket.limit)),
  window: Duration.millis(Math.max(1, bucket.windowMs)),
  tokens,
  algorithm: "token-bucket" as const
})

/** `SharedLimits` over the `RateLimiter` in context. */
export const make: Effect.Effect<SharedLimits["Type"], never, RateLimiter.RateLimiter> = Effect.map(
  RateLimiter.RateLimiter,
  (limiter) =>
    SharedLimits.of({
      acquire: (key, bucket, tokens = 1) =>
        limiter.consume({ ...options(key, bucket, tokens), onExceeded: "delay" }).pipe(
          Effect.flatMap(({ delay }) => (Duration.isZero(delay) ? Effect.void : Effect.sleep(delay))),
          Effect.catchAll(admitOnStoreError(undefined))
        ),
      tryAcquire: (key, bucket, tokens = 1) =>
        limiter.consume({ ...options(key, bucket, tokens), onExceeded: "fail" }).pipe(
          Effect.as(Option.none<number>()),
          Effect.catchAll((e) =>
            e.reason === "Exceeded"
              ? Effect.succeed(Option.some(Math.max(1, Duration.toMillis(e.retryAfter))))
              : admitOnStoreError(Option.none<number>())(e)
          )
        ),
      charge: (key, bucket, tokens) =>
        // The limiter refuses more tokens than the capacity in one take: a larger charge empties the bucket.
        limiter.consume({
          ...options(key, bucket, Math.min(Math.max(0, tokens), Math.max(1, Math.floor(bucket.limit)))),
          onExceeded: "delay"
        }).pipe(Effect.asVoid, Effect.catchAll(admitOnStoreError(undefined))),
      waitMs: (key, bucket) =>
        limiter.consume({ ...options(key, bucket, 0), onExceeded: "delay" }).pipe(
          Effect.map(({ remaining }) => {
            if (remaining > 0) return 0
            const o = options(key, bucket, 0)
            return Math.max(1, Math.ceil((1 - remaining) * Duration.toMillis(o.window) / o.limit))
          }),
          Effect.catchAll(admitOnStoreError(0))
        )
    })
)

/** Shared limits in this process's memory (single-process mode, tests). */
export const layerMemory: Layer.Layer<SharedLimits> = Layer.effect(SharedLimits, make).pipe(
  Layer.provide(RateLimiter.layer),
  Layer.provide(RateLimiter.layerStoreMemory)
)

/** The connection options of a `redis://[user:password@]host[:port][/db]` URL, or a message naming the problem. */
export const redisOptions = (url: string) => {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return Option.none()
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") return Option.none()
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0
  if (!Number.isInteger(db) || db < 0) return Option.none()
  return Option.some({
    host: u.hostname.length > 0 ? u.hostname : "127.0.0.1",
    port: u.port.length > 0 ? Number(u.port) : 6379,
    db,
    ...(u.username.length > 0 ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password.length > 0 ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === "rediss:" ? { tls: {} } : {})
  })
}

/** Shared limits in Redis at `options` (cluster mode); keys start with `prefix`. */
export const layerRedis = (
  connection: NonNullable<ReturnType<typeof redisOptions> extends Option.Option<infer A> ? A : never>,
  prefix = "trellis:limits:"
): Layer.Layer<SharedLimits> =>
  Layer.effect(SharedLimits, make).pipe(
    Layer.provide(RateLimiter.layer),
    Layer.provide(RedisStore.layerStore({
      ...connection,
      prefix,
      // A command fails after one reconnect attempt instead of queueing while Redis is down.
      maxRetriesPerRequest: 1,
      connectTimeout: 2_000
    }))
  )

/**
 * The shared limits and circuit breakers of a replica in cluster mode: Redis at `TRELLIS_REDIS_URL` (else the
 * config's `cluster.redisUrl`); `undefined` without either (every limit and breaker stays per replica, and a
 * warning says so).
 */
export const fromSettings = (config: ClusterConfig) =>
  Effect.gen(function*() {
    const fromEnv = yield* Settings.redisUrl
    const url = Option.isSome(fromEnv) ? Redacted.value(fromEnv.value) : config.redisUrl
    if (url === undefined) {
      yield* Effect.logWarning(
        "cluster mode without TRELLIS_REDIS_URL (or cluster.redisUrl): rate limits, quotas and circuit breakers hold per replica"
      )
      return undefined
    }
    const connection = redisOptions(url)
    if (Option.isNone(connection)) {
      return yield* Effect.fail(`the Redis URL of the cluster's limits is not redis://host[:port][/db]`)
    }
    return Layer.merge(layerRedis(connection.value), Breakers.layerRedis(connection.value))
  })
