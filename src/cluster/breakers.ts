/**
 * `CircuitBreaker` (the runtime's interface) with its state in Redis, so
 * every replica of a cluster sees and moves the same breakers: what one
 * replica's failures open is open for all of them. Each step of the state
 * machine (`runtime/policy/breakerState.ts`) is one Lua script, atomic in
 * Redis; the script follows the pure machine step for step (a test runs the
 * same random steps through both). Per breaker `name`, keys
 * `<prefix>{<name>}` (a hash: status, episode, until, since, admitted,
 * succeeded) and `<prefix>{<name>}:calls` / `:fails` (sorted sets of the
 * closed window's outcomes, scored by time). Keys expire after a while
 * without calls. Time is the caller's clock, as for the shared rate limits.
 *
 * A Redis that cannot be reached admits the call (and logs a warning): a
 * breaker must not take down the service it protects.
 */
import { Clock, Effect, Layer } from "effect"
import { Redis } from "ioredis"
import type { RedisOptions } from "ioredis"
import { CircuitBreaker } from "../runtime/policy/breaker.js"
import type { AdmitResult, CircuitBreakerService } from "../runtime/policy/breaker.js"
import type { BreakerStatus, Transition } from "../runtime/policy/breakerState.js"
import type { ResolvedBreaker } from "../tools/breaker.js"

/** admit: KEYS[1] state; ARGV now, halfOpenProbes, openForMs, ttlMs → {kind, n, episode[, from, to]}. */
const ADMIT = `
local now = tonumber(ARGV[1]); local probes = tonumber(ARGV[2]); local openFor = tonumber(ARGV[3]); local ttl = tonumber(ARGV[4])
local h = redis.call('HMGET', KEYS[1], 'status', 'episode', 'until', 'since', 'admitted')
local status = h[1] or 'closed'
local episode = tonumber(h[2] or '0')
if status == 'closed' then return {'admitted', 0, episode} end
if status == 'open' then
  local untl = tonumber(h[3])
  if now < untl then return {'rejected', untl - now, episode} end
  redis.call('HSET', KEYS[1], 'status', 'half-open', 'since', now, 'admitted', 1, 'succeeded', 0)
  redis.call('PEXPIRE', KEYS[1], ttl)
  return {'admitted', 1, episode, 'open', 'half-open'}
end
local since = tonumber(h[4]); local admitted = tonumber(h[5])
if admitted < probes then
  redis.call('HINCRBY', KEYS[1], 'admitted', 1)
  return {'admitted', 1, episode}
end
if now >= since + openFor then
  redis.call('HSET', KEYS[1], 'status', 'open', 'episode', episode + 1, 'until', now + openFor)
  redis.call('PEXPIRE', KEYS[1], ttl)
  return {'rejected', openFor, episode + 1, 'half-open', 'open'}
end
return {'rejected', math.max(1, since + openFor - now), episode}
`

/**
 * record: KEYS state, calls, fails; ARGV now, failed, probe, episode, windowMs, minCalls, failureRate, openForMs,
 * halfOpenProbes, ttlMs → {} or {from, to[, calls, failures]}.
 */
const RECORD = `
local now = tonumber(ARGV[1]); local failed = ARGV[2] == '1'; local probe = ARGV[3] == '1'
local episode = tonumber(ARGV[4]); local windowMs = tonumber(ARGV[5]); local minCalls = tonumber(ARGV[6])
local rate = tonumber(ARGV[7]); local openFor = tonumber(ARGV[8]); local probes = tonumber(ARGV[9]); local ttl = tonumber(ARGV[10])
local h = redis.call('HMGET', KEYS[1], 'status', 'episode')
local status = h[1] or 'closed'
local current = tonumber(h[2] or '0')
if current ~= episode then return {} end
if not probe then
  if status ~= 'closed' then return {} end
  local id = redis.call('HINCRBY', KEYS[1], 'seq', 1)
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - windowMs)
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - windowMs)
  redis.call('ZADD', KEYS[2], now, id)
  if failed then redis.call('ZADD', KEYS[3], now, id) end
  local calls = redis.call('ZCARD', KEYS[2]); local fails = redis.call('ZCARD', KEYS[3])
  if calls >= minCalls and calls > 0 and fails / calls >= rate then
    redis.call('HSET', KEYS[1], 'status', 'open', 'episode', episode + 1, 'until', now + openFor)
    redis.call('DEL', KEYS[2], KEYS[3])
    redis.call('PEXPIRE', KEYS[1], ttl)
    return {'closed', 'open', calls, fails}
  end
  redis.call('PEXPIRE', KEYS[1], ttl); redis.call('PEXPIRE', KEYS[2], ttl); redis.call('PEXPIRE', KEYS[3], ttl)
  return {}
end
if status ~= 'half-open' then return {} end
if failed then
  redis.call('HSET', KEYS[1], 'status', 'open', 'episode', episode + 1, 'until', now + openFor)
  redis.call('PEXPIRE', KEYS[1], ttl)
  return {'half-open', 'open'}
end
local succeeded = redis.call('HINCRBY', KEYS[1], 'succeeded', 1)
if succeeded >= probes then
  redis.call('HSET', KEYS[1], 'status', 'closed')
  redis.call('DEL', KEYS[2], KEYS[3])
  redis.call('PEXPIRE', KEYS[1], ttl)
  return {'half-open', 'closed'}
end
return {}
`

const STATUS = `
local h = redis.call('HMGET', KEYS[1], 'status', 'until')
return {h[1] or 'closed', h[2] or '0'}
`

/** How long a breaker's keys outlive its last call: long enough that no state that still matters expires. */
const ttlOf = (s: ResolvedBreaker): number => 2 * (s.windowMs + s.openForMs) + 60_000

const asArray = (u: unknown): ReadonlyArray<unknown> => (Array.isArray(u) ? u : [])
const asNumber = (u: unknown): number => (typeof u === "number" ? u : Number(u))
const asStatus = (u: unknown): BreakerStatus => (u === "open" || u === "half-open" ? u : "closed")

/** The transition a script reported at `at` (`[from, to, calls?, failures?]` from offset `i`), if any. */
const transitionAt = (reply: ReadonlyArray<unknown>, i: number, at: number): ReadonlyArray<Transition> => {
  if (reply.length < i + 2) return []
  const base = { from: asStatus(reply[i]), to: asStatus(reply[i + 1]), at }
  return reply.length >= i + 4
    ? [{ ...base, calls: asNumber(reply[i + 2]), failures: asNumber(reply[i + 3]) }]
    : [base]
}

const storeFailed = <A>(fallback: A) => (e: unknown): Effect.Effect<A> =>
  Effect.as(
    Effect.logWarning(`circuit breakers: the store failed, admitting (${e instanceof Error ? e.message : String(e)})`),
    fallback
  )

/** An admission no episode matches: its outcome is not recorded (the store was down when it was admitted). */
const unrecorded: AdmitResult = { admission: { _tag: "Admitted", probe: false, episode: -1 }, transitions: [] }

/** `CircuitBreaker` over the Redis client `redis`, keys under `prefix`. */
export const make = (redis: Redis, prefix: string): CircuitBreakerService => {
  const key = (name: string) => `${prefix}{${name}}`
  return {
    admit: (name, s) =>
      Effect.flatMap(
        Clock.currentTimeMillis,
        (now) =>
          Effect.tryPromise(() => redis.eval(ADMIT, 1, key(name), now, s.halfOpenProbes, s.openForMs, ttlOf(s))).pipe(
            Effect.map((raw): AdmitResult => {
              const reply = asArray(raw)
              const episode = asNumber(reply[2])
              return {
                admission: reply[0] === "admitted"
                  ? { _tag: "Admitted", probe: asNumber(reply[1]) === 1, episode }
                  : { _tag: "Rejected", retryAfterMs: asNumber(reply[1]) },
                transitions: transitionAt(reply, 3, now)
              }
            }),
            Effect.catchAll(storeFailed(unrecorded))
          )
      ),
    record: (name, s, admission, failed) =>
      admission.episode < 0 ?
        Effect.succeed([]) :
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.tryPromise(() =>
            redis.eval(
              RECORD,
              3,
              key(name),
              `${key(name)}:calls`,
              `${key(name)}:fails`,
              now,
              failed ? 1 : 0,
              admission.probe ? 1 : 0,
              admission.episode,
              s.windowMs,
              s.minCalls,
              String(s.failureRate),
              s.openForMs,
              s.halfOpenProbes,
              ttlOf(s)
            )
          ).pipe(
            Effect.map((raw) => transitionAt(asArray(raw), 0, now)),
            Effect.catchAll(storeFailed<ReadonlyArray<Transition>>([]))
          )),
    status: (name) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.tryPromise(() => redis.eval(STATUS, 1, key(name))).pipe(
          Effect.map((raw) => {
            const [status, until] = asArray(raw)
            const s = asStatus(status)
            return s === "open" && now >= asNumber(until) ? "half-open" : s
          }),
          Effect.catchAll(storeFailed<BreakerStatus>("closed"))
        ))
  }
}

/** Circuit breakers in Redis at `connection` (cluster mode); keys start with `prefix`. One client, closed with the layer. */
export const layerRedis = (connection: RedisOptions, prefix = "trellis:breakers:"): Layer.Layer<CircuitBreaker> =>
  Layer.scoped(
    CircuitBreaker,
    Effect.map(
      Effect.acquireRelease(
        Effect.sync(() =>
          // A command fails after one reconnect attempt instead of queueing while Redis is down.
          new Redis({ ...connection, maxRetriesPerRequest: 1, connectTimeout: 2_000, lazyConnect: false })
        ),
        (redis) => Effect.promise(() => redis.quit().catch(() => redis.disconnect()))
      ),
      (redis) => make(redis, prefix)
    )
  )
