/**
 * The settings of a circuit breaker (issue 17): a tool's `limits.breaker`
 * and an LLM provider's `breaker`. Every field has a default, so
 * `breaker: {}` turns one on. `breakerProblems` names each bad field with
 * its location; `resolveBreaker` gives the numbers the state machine
 * (`runtime/policy/breakerState.ts`) works with.
 */
import { parseDuration } from "../ir/duration.js"
import type { ToolError } from "./errors.js"

/** A circuit breaker's settings, as written. */
export interface BreakerConfig {
  /** The failure rate (0 < r ≤ 1) over `window` at or above which the breaker opens. @default 0.5 */
  readonly failureRate?: number
  /** The fewest calls in `window` for the rate to count. @default 10 */
  readonly minCalls?: number
  /** The span (a duration string) the failure rate is computed over. @default "30s" */
  readonly window?: string
  /** How long (a duration string) the breaker stays open before it lets probes through. @default "10s" */
  readonly openFor?: string
  /** The most calls let through while half-open; the breaker closes when all of them succeed. @default 1 */
  readonly halfOpenProbes?: number
}

/** A breaker's settings, resolved (durations in milliseconds). */
export interface ResolvedBreaker {
  readonly failureRate: number
  readonly minCalls: number
  readonly windowMs: number
  readonly openForMs: number
  readonly halfOpenProbes: number
}

/** The defaults of every field. */
export const BREAKER_DEFAULTS = {
  failureRate: 0.5,
  minCalls: 10,
  window: "30s",
  openFor: "10s",
  halfOpenProbes: 1
} as const

const FIELDS: ReadonlySet<string> = new Set(Object.keys(BREAKER_DEFAULTS))

const isPositiveInt = (n: unknown): boolean => typeof n === "number" && Number.isInteger(n) && n > 0

const positiveDuration = (text: unknown): boolean => {
  if (typeof text !== "string") return false
  const ms = parseDuration(text)
  return ms !== undefined && ms > 0
}

/** The problems of a breaker's settings, each starting with `at` (e.g. `limits.breaker`); empty when valid. */
export const breakerProblems = (config: unknown, at: string): ReadonlyArray<string> => {
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    return [`${at} must be an object (e.g. { failureRate: 0.5, minCalls: 10, window: "30s", openFor: "10s" })`]
  }
  const problems: Array<string> = []
  const c = config as Record<string, unknown>
  for (const key of Object.keys(c)) {
    if (!FIELDS.has(key)) problems.push(`${at}.${key}: unknown setting (known: ${[...FIELDS].join(", ")})`)
  }
  const rate = c.failureRate
  if (rate !== undefined && !(typeof rate === "number" && rate > 0 && rate <= 1)) {
    problems.push(`${at}.failureRate must be a number above 0 and at most 1`)
  }
  if (c.minCalls !== undefined && !isPositiveInt(c.minCalls)) {
    problems.push(`${at}.minCalls must be a positive integer`)
  }
  if (c.halfOpenProbes !== undefined && !isPositiveInt(c.halfOpenProbes)) {
    problems.push(`${at}.halfOpenProbes must be a positive integer`)
  }
  for (const key of ["window", "openFor"] as const) {
    if (c[key] !== undefined && !positiveDuration(c[key])) {
      problems.push(`${at}.${key}: invalid duration ${JSON.stringify(c[key])} (a positive duration such as "10s")`)
    }
  }
  return problems
}

/** The settings with every default applied (call on settings `breakerProblems` found valid). */
export const resolveBreaker = (config: BreakerConfig): ResolvedBreaker => ({
  failureRate: config.failureRate ?? BREAKER_DEFAULTS.failureRate,
  minCalls: config.minCalls ?? BREAKER_DEFAULTS.minCalls,
  windowMs: parseDuration(config.window ?? BREAKER_DEFAULTS.window) ?? 30_000,
  openForMs: parseDuration(config.openFor ?? BREAKER_DEFAULTS.openFor) ?? 10_000,
  halfOpenProbes: config.halfOpenProbes ?? BREAKER_DEFAULTS.halfOpenProbes
})

/**
 * Whether a tool's failure counts against its breaker: the kinds that say the tool (or what is behind it) is
 * unwell — `Timeout`, `Transient`, `RateLimited`, `Defect`. The others (bad arguments, cancellation, budgets,
 * an open breaker itself) count as answered calls.
 */
export const countsAgainstBreaker = (e: ToolError): boolean =>
  e._tag === "Timeout" || e._tag === "Transient" || e._tag === "RateLimited" || e._tag === "Defect"
