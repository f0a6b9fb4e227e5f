/**
 * Retry policies compiled to Effect `Schedule`s (SPEC §4): exponential,
 * fixed or no backoff, capped by `max`, with full, equal or no jitter drawn
 * from Effect's `Random`, bounded by `times` and `maxElapsed`, retrying only
 * the error kinds listed in `on`, and never sooner than a `RateLimited`
 * error's `retryAfterMs`.
 */
import { Clock, Duration, Effect, Either, Random, Schedule, ScheduleDecision, ScheduleIntervals } from "effect"
import type { ErrorKind, RetryPolicy } from "../../ir/schema.js"
import type { ToolError } from "../../tools/errors.js"
import { DEFAULT_RETRY_ON } from "../../tools/errors.js"
import { durationMs } from "./duration.js"

/** A retry policy with every field resolved to numbers (durations in milliseconds). */
export interface ResolvedRetry {
  readonly times: number
  readonly backoff: "exponential" | "fixed" | "none"
  readonly baseMs: number
  readonly factor: number
  readonly maxMs: number | undefined
  readonly jitter: "full" | "equal" | "none"
  readonly maxElapsedMs: number | undefined
  readonly on: ReadonlySet<ErrorKind>
}

/** Resolves a (normalized or partial) retry policy: documented defaults, durations parsed, `times` made a whole number ≥ 0. */
export const resolveRetry = (policy: RetryPolicy): ResolvedRetry => ({
  times: Math.max(0, Math.floor(policy.times ?? 3)),
  backoff: policy.backoff ?? "exponential",
  baseMs: durationMs(policy.base, 100),
  factor: policy.factor ?? 2,
  maxMs: policy.max === undefined ? undefined : durationMs(policy.max, 0),
  jitter: policy.jitter ?? "full",
  maxElapsedMs: policy.maxElapsed === undefined ? undefined : durationMs(policy.maxElapsed, 0),
  on: new Set(policy.on ?? DEFAULT_RETRY_ON)
})

/** The delay before retry number `retry` (0-based) before jitter: the backoff curve, capped by `max`. */
export const nominalDelayMs = (policy: ResolvedRetry, retry: number): number => {
  const raw = policy.backoff === "exponential"
    ? policy.baseMs * Math.pow(policy.factor, retry)
    : policy.backoff === "fixed"
    ? policy.baseMs
    : 0
  return policy.maxMs === undefined ? raw : Math.min(raw, policy.maxMs)
}

/** The closed interval `[lo, hi]` a jittered delay drawn from nominal delay `d` lies in. */
export const jitterBounds = (jitter: ResolvedRetry["jitter"], d: number): readonly [number, number] =>
  jitter === "full" ? [0, d] : jitter === "equal" ? [d / 2, d] : [d, d]

/** Draws a jittered delay from nominal delay `d` with Effect's `Random`: full = U[0,d], equal = d/2 + U[0,d/2], none = d. */
export const jitterDelay = (jitter: ResolvedRetry["jitter"], d: number): Effect.Effect<number> => {
  if (jitter === "none" || d <= 0 || !Number.isFinite(d)) return Effect.succeed(d)
  return Effect.map(Random.next, (r) => (jitter === "full" ? d * r : d / 2 + (d / 2) * r))
}

/** Options of {@link retrySchedule}. */
export interface RetryScheduleOptions {
  /**
   * Clock time (ms) the first attempt started; `maxElapsed` is measured from
   * it. @default the time of the first failure
   */
  readonly startedAt?: number
}

/** The base delay curve: exponential, fixed or immediate, capped by `max`. */
const backoffSchedule = (p: ResolvedRetry): Schedule.Schedule<unknown> => {
  const curve: Schedule.Schedule<unknown> = p.backoff === "exponential"
    ? Schedule.exponential(Duration.millis(p.baseMs), p.factor)
    : p.backoff === "fixed"
    ? Schedule.spaced(Duration.millis(p.baseMs))
    : Schedule.forever
  const maxMs = p.maxMs
  return maxMs === undefined ? curve : Schedule.modifyDelay(curve, (_, d) => Duration.min(d, Duration.millis(maxMs)))
}

/** Waits at least a `RateLimited` or `CircuitOpen` error's `retryAfterMs`; other errors add no delay. */
const retryAfterFloor: Schedule.Schedule<ToolError, ToolError> = Schedule.addDelay(
  Schedule.identity<ToolError>(),
  (
    e
  ) => ((e._tag === "RateLimited" || e._tag === "CircuitOpen") && e.retryAfterMs !== undefined
    ? Duration.millis(Math.max(0, e.retryAfterMs))
    : Duration.zero)
)

/**
 * Outputs the delay of each decision, and stops instead of scheduling a
 * retry that would start later than `maxElapsedMs` after the start.
 */
const withinElapsed = <In, R>(
  self: Schedule.Schedule<unknown, In, R>,
  maxElapsedMs: number | undefined,
  startedAt: number | undefined
): Schedule.Schedule<Duration.Duration, In, R> =>
  Schedule.makeWithState<readonly [unknown, number | undefined], In, Duration.Duration, R>(
    [self.initial, startedAt],
    (now, input, [inner, start]) =>
      Effect.map(self.step(now, input, inner), ([next, , decision]) => {
        const t0 = start ?? now
        if (ScheduleDecision.isDone(decision)) return [[next, t0], Duration.zero, decision] as const
        const delayMs = Math.max(0, ScheduleIntervals.start(decision.intervals) - now)
        if (maxElapsedMs !== undefined && now + delayMs - t0 > maxElapsedMs) {
          return [[next, t0], Duration.zero, ScheduleDecision.done] as const
        }
        return [[next, t0], Duration.millis(delayMs), decision] as const
      })
  )

/**
 * Compiles a retry policy to a `Schedule` over the errors of failed
 * attempts; its output is the delay before the next attempt.
 */
export const retrySchedule = (
  policy: RetryPolicy,
  options: RetryScheduleOptions = {}
): Schedule.Schedule<Duration.Duration, ToolError> => {
  const p = resolveRetry(policy)
  const jittered = Schedule.modifyDelayEffect(
    backoffSchedule(p),
    (_, d) => Effect.map(jitterDelay(p.jitter, Duration.toMillis(d)), Duration.millis)
  )
  const bounded = Schedule.intersect(jittered, Schedule.recurs(p.times)).pipe(
    Schedule.whileInput((e: ToolError) => p.on.has(e._tag)),
    Schedule.intersect(retryAfterFloor)
  )
  return withinElapsed(bounded, p.maxElapsedMs, options.startedAt)
}

/** Called before each retry with the number of the attempt that failed (1-based), the delay in ms and its error. */
export type OnRetry<R = never> = (attempt: number, delayMs: number, error: ToolError) => Effect.Effect<void, never, R>

/**
 * Runs `eff(attempt)` (attempt is 1-based) and retries it by the policy's
 * schedule, calling `onRetry` before each wait; fails with the last error
 * when the schedule gives up. `maxElapsed` counts from the first attempt's start.
 */
export const retrying =
  <R2 = never>(policy: RetryPolicy, onRetry: OnRetry<R2>) =>
  <A, R>(eff: (attempt: number) => Effect.Effect<A, ToolError, R>): Effect.Effect<A, ToolError, R | R2> =>
    Effect.gen(function*() {
      const startedAt = yield* Clock.currentTimeMillis
      const schedule = retrySchedule(policy, { startedAt })
      let state: unknown = schedule.initial
      let attempt = 1
      while (true) {
        const result = yield* Effect.either(eff(attempt))
        if (Either.isRight(result)) return result.right
        const error = result.left
        const now = yield* Clock.currentTimeMillis
        const [next, delay, decision] = yield* schedule.step(now, error, state)
        if (ScheduleDecision.isDone(decision)) return yield* Effect.fail(error)
        state = next
        const delayMs = Duration.toMillis(delay)
        yield* onRetry(attempt, delayMs, error)
        if (delayMs > 0) yield* Effect.sleep(Duration.millis(delayMs))
        attempt += 1
      }
    })
