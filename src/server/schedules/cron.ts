/**
 * Cron expressions of schedules, read by `croner` (5 fields, or 6 with
 * seconds first; `@daily`-style nicknames) in an IANA time zone. Pure: the
 * times asked for come from the caller (Effect's Clock), never from the
 * wall clock, so `TestClock` drives the scheduler.
 */
import { Cron } from "croner"
import { Either } from "effect"

/** A parsed expression in its time zone. */
export interface CronSpec {
  readonly expression: string
  readonly timezone: string
  readonly cron: Cron
}

/** Why an expression or a time zone was refused, and which field (`cron` or `timezone`). */
export interface CronProblem {
  readonly field: "cron" | "timezone"
  readonly message: string
}

/** The longest expression accepted. */
const MAX_LENGTH = 256

/** Whether `timezone` is an IANA time zone this runtime knows. */
const knownZone = (timezone: string): boolean => {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: timezone })
    return true
  } catch {
    return false
  }
}

/** Parses `expression` in `timezone`, or says what is wrong with either. */
export const parse = (expression: string, timezone: string): Either.Either<CronSpec, CronProblem> => {
  if (timezone.length === 0 || timezone.length > 64 || !knownZone(timezone)) {
    return Either.left({
      field: "timezone",
      message: `unknown time zone ${
        JSON.stringify(timezone.slice(0, 64))
      } (an IANA name such as "UTC" or "Europe/Paris")`
    })
  }
  const text = expression.trim()
  if (text.length === 0 || text.length > MAX_LENGTH) {
    return Either.left({ field: "cron", message: `a cron expression is 1-${MAX_LENGTH} characters` })
  }
  try {
    const cron = new Cron(text, { timezone, paused: true })
    // An expression that never matches (30 February) is refused rather than stored forever idle.
    if (cron.nextRun(new Date(0)) === null) {
      return Either.left({ field: "cron", message: `the cron expression ${JSON.stringify(text)} never matches` })
    }
    return Either.right({ expression: text, timezone, cron })
  } catch (e) {
    const message = e instanceof Error ? e.message.replace(/^CronPattern: /, "") : String(e)
    return Either.left({ field: "cron", message: `bad cron expression ${JSON.stringify(text)}: ${message}` })
  }
}

/** The first occurrence strictly after `at` (ms), or null when the expression has none. */
export const nextAfter = (spec: CronSpec, at: number): number | null => {
  const next = spec.cron.nextRun(new Date(at))
  return next === null ? null : next.getTime()
}

/** The latest `n` occurrences in `[from, to]`, oldest first. */
export const latestBetween = (spec: CronSpec, from: number, to: number, n: number): ReadonlyArray<number> =>
  // previousRuns takes occurrences before its reference: one millisecond past `to` includes `to` itself.
  spec.cron.previousRuns(n, new Date(to + 1)).map((d) => d.getTime()).filter((t) => t >= from && t <= to).reverse()
