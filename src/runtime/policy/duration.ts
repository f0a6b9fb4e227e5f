/**
 * Duration strings of policies and tool limits, read at run time. The
 * validator (V7) already rejects unparseable ones in programs; a tool's own
 * limits are checked by `Tool.make`, so a fallback here is a last resort.
 */
import { parseDuration } from "../../ir/duration.js"

/** Milliseconds of a duration string (`"150ms"`, `"2s"`), or `fallback` when absent or unparseable. */
export const durationMs = (text: string | undefined, fallback: number): number =>
  text === undefined ? fallback : parseDuration(text) ?? fallback
