/**
 * Trace summaries (SPEC §5): counts, latency, cost and errors by kind over
 * any set of events — one run, many runs, a time window — as a monoid.
 * `summarize(a ++ b) = combine(summarize(a), summarize(b))`, `combine` is
 * associative and `empty` is its identity on both sides (laws/trace.test.ts),
 * so summaries can be computed per batch, per run or per shard and merged
 * in any grouping.
 *
 * A `Summary` is plain JSON-able data and survives `JSON.stringify` /
 * `JSON.parse` unchanged: every field is always present, and the minimum
 * and maximum of an empty latency set are `null` (not ±Infinity, which
 * JSON cannot carry). Counts, min, max and the histogram combine exactly;
 * sums (latency, cost, tokens) are floating-point additions, exact — hence
 * associative — whenever the sums are exactly representable (integer
 * milliseconds below 2^53, as the runtime records them; costs that are
 * binary fractions), and associative up to rounding otherwise.
 */
import { ErrorKind } from "../ir/schema.js"
import { EVENT_TYPES } from "./events.js"
import type { RunEvent, RunEventType } from "./events.js"

/** Every error kind, in the taxonomy's order (SPEC §3). */
export const ERROR_KINDS: ReadonlyArray<ErrorKind> = ErrorKind.literals

/**
 * Upper bounds (inclusive, in ms) of the latency histogram's buckets; the
 * histogram has one more bucket for latencies above the last bound.
 */
export const LATENCY_BOUNDS_MS: ReadonlyArray<number> = [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000]

/** Tool latency over the tool calls that really ran (results served by cache or idempotency store excluded). */
export interface LatencySummary {
  readonly count: number
  /** Sum of the latencies, ms. */
  readonly sum: number
  /** Smallest latency, ms; null when `count` is 0. */
  readonly min: number | null
  /** Largest latency, ms; null when `count` is 0. */
  readonly max: number | null
  /**
   * Non-cumulative counts: `buckets[i]` counts latencies ≤ `LATENCY_BOUNDS_MS[i]`
   * and above the previous bound; the last entry counts those above every bound.
   */
  readonly buckets: ReadonlyArray<number>
}

/** A summary of events. */
export interface Summary {
  /** Events by type (every type present, 0 when none). */
  readonly events: { readonly [T in RunEventType]: number }
  /** Runs by final status: one count per terminal event. */
  readonly runs: { readonly completed: number; readonly failed: number; readonly cancelled: number }
  /** Nodes completed, failed (any kind but `Cancelled`) and cancelled (`NodeFailed` of kind `Cancelled`). */
  readonly nodes: { readonly completed: number; readonly failed: number; readonly cancelled: number }
  /** Tool calls made (`ToolCalled`, one per attempt). */
  readonly toolCalls: number
  /** Attempts retried (`NodeRetrying`). */
  readonly retries: number
  /** Tool results served by the result cache or the idempotency store. */
  readonly cached: number
  /**
   * Errors by kind: every failed attempt that was retried (`NodeRetrying`),
   * every node failure (`NodeFailed`), and run failures not caused by a
   * node (`RunFailed` without `failedNode`: a run timeout, a budget).
   */
  readonly errors: { readonly [K in ErrorKind]: number }
  readonly latency: LatencySummary
  /** Total cost of tool results. */
  readonly cost: number
  /** Total tokens of tool results that reported tokens. */
  readonly tokens: number
  /** Streamed chunks. */
  readonly chunks: number
}

const zeros = <K extends string>(keys: ReadonlyArray<K>): { [P in K]: number } =>
  Object.fromEntries(keys.map((k) => [k, 0])) as { [P in K]: number }

/** The summary of no events: the identity of `combine`. */
export const empty: Summary = {
  events: zeros(EVENT_TYPES),
  runs: { completed: 0, failed: 0, cancelled: 0 },
  nodes: { completed: 0, failed: 0, cancelled: 0 },
  toolCalls: 0,
  retries: 0,
  cached: 0,
  errors: zeros(ERROR_KINDS),
  latency: { count: 0, sum: 0, min: null, max: null, buckets: LATENCY_BOUNDS_MS.map(() => 0).concat([0]) },
  cost: 0,
  tokens: 0,
  chunks: 0
}

const addCounts = <K extends string>(
  a: { readonly [P in K]: number },
  b: { readonly [P in K]: number }
): { [P in K]: number } => {
  const out = { ...a } as { [P in K]: number }
  for (const k of Object.keys(b) as Array<K>) out[k] = (a[k] ?? 0) + b[k]
  return out
}

const minOf = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.min(a, b))
const maxOf = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.max(a, b))

/** The summary of the events of `a` and `b` together. Associative, with `empty` as identity. */
export const combine = (a: Summary, b: Summary): Summary => ({
  events: addCounts(a.events, b.events),
  runs: addCounts(a.runs, b.runs),
  nodes: addCounts(a.nodes, b.nodes),
  toolCalls: a.toolCalls + b.toolCalls,
  retries: a.retries + b.retries,
  cached: a.cached + b.cached,
  errors: addCounts(a.errors, b.errors),
  latency: {
    count: a.latency.count + b.latency.count,
    sum: a.latency.sum + b.latency.sum,
    min: minOf(a.latency.min, b.latency.min),
    max: maxOf(a.latency.max, b.latency.max),
    buckets: a.latency.buckets.map((n, i) => n + (b.latency.buckets[i] ?? 0))
  },
  cost: a.cost + b.cost,
  tokens: a.tokens + b.tokens,
  chunks: a.chunks + b.chunks
})

/** The histogram bucket of a latency. */
export const latencyBucket = (ms: number): number => {
  for (let i = 0; i < LATENCY_BOUNDS_MS.length; i++) if (ms <= LATENCY_BOUNDS_MS[i]!) return i
  return LATENCY_BOUNDS_MS.length
}

type Draft = {
  -readonly [K in keyof Summary]: Summary[K] extends number ? number
    : { -readonly [P in keyof Summary[K]]: Summary[K][P] }
}

/** The summary of some events (one pass; any order, any mix of runs). */
export const summarize = (events: Iterable<RunEvent>): Summary => {
  const s: Draft = {
    events: { ...empty.events },
    runs: { ...empty.runs },
    nodes: { ...empty.nodes },
    toolCalls: 0,
    retries: 0,
    cached: 0,
    errors: { ...empty.errors },
    latency: { ...empty.latency },
    cost: 0,
    tokens: 0,
    chunks: 0
  }
  const buckets = empty.latency.buckets.slice()
  for (const e of events) {
    s.events[e.type] += 1
    switch (e.type) {
      case "ToolCalled":
        s.toolCalls += 1
        break
      case "ToolReturned": {
        const d = e.data
        s.cost += d.cost
        if (d.tokens !== undefined) s.tokens += d.tokens
        if (d.source !== "tool") {
          s.cached += 1
          break
        }
        const l = s.latency
        l.count += 1
        l.sum += d.latencyMs
        l.min = minOf(l.min, d.latencyMs)
        l.max = maxOf(l.max, d.latencyMs)
        buckets[latencyBucket(d.latencyMs)]! += 1
        break
      }
      case "NodeRetrying":
        s.retries += 1
        s.errors[e.data.errorKind] += 1
        break
      case "NodeFailed":
        if (e.data.errorKind === "Cancelled") s.nodes.cancelled += 1
        else s.nodes.failed += 1
        s.errors[e.data.errorKind] += 1
        break
      case "NodeCompleted":
        s.nodes.completed += 1
        break
      case "Chunk":
        s.chunks += 1
        break
      case "RunCompleted":
        s.runs.completed += 1
        break
      case "RunFailed":
        s.runs.failed += 1
        if (e.data.failedNode === undefined) s.errors[e.data.errorKind] += 1
        break
      case "RunCancelled":
        s.runs.cancelled += 1
        break
      case "RunStarted":
      case "NodeReady":
      case "NodeStarted":
      case "ChoiceMade":
      case "FanInSettled":
      case "FoldUpdated":
      case "BreakerChanged":
      case "Waiting":
      case "Signalled":
      case "TimerFired":
        break
    }
  }
  s.latency.buckets = buckets
  return s
}
