/**
 * Duration strings of policies: a non-negative decimal number and a unit,
 * `ms`, `s`, `m` or `h` (`"150ms"`, `"2s"`, `"1.5m"`, `"1h"`); durations of
 * waits may also be given in days (`"3d"`).
 */

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/
const WAIT_DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/

/** The longest duration a program may give (7 days): longer sleeps and timeouts are refused. */
export const MAX_DURATION_MS = 604_800_000

/** The longest a durable wait may last (366 days): a wait's deadline and a durable sleep. */
export const MAX_WAIT_MS = 31_622_400_000

const UNIT_MS: { readonly [unit: string]: number } = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** Parses a duration string to milliseconds; undefined when it does not parse (or overflows). */
export const parseDuration = (text: string): number | undefined => {
  const match = DURATION.exec(text)
  if (match === null) return undefined
  const ms = Number(match[1]) * UNIT_MS[match[2]!]!
  return Number.isFinite(ms) ? ms : undefined
}

/** Parses the duration of a wait (a deadline or a durable sleep), which may also be in days (`"3d"`). */
export const parseWaitDuration = (text: string): number | undefined => {
  const match = WAIT_DURATION.exec(text)
  if (match === null) return undefined
  const ms = Number(match[1]) * UNIT_MS[match[2]!]!
  return Number.isFinite(ms) ? ms : undefined
}
