/** `--since` of `trellis eval policy`: a duration back from now, or an ISO date/time. */
import { describe, expect, it } from "vitest"
import { parseSince } from "../../src/cli/evalPolicy.js"

describe("parseSince", () => {
  const now = Date.UTC(2026, 0, 10)

  it("reads a duration back from now and an ISO date or date/time", () => {
    expect(parseSince("24h", now)).toBe(now - 86_400_000)
    expect(parseSince("7d", now)).toBe(now - 7 * 86_400_000)
    expect(parseSince("2026-01-02", now)).toBe(Date.UTC(2026, 0, 2))
    expect(parseSince("2026-01-02T03:04:05Z", now)).toBe(Date.UTC(2026, 0, 2, 3, 4, 5))
  })

  it("refuses anything else", () => {
    expect(parseSince("yesterday", now)).toBeUndefined()
    expect(parseSince("2026-13-45", now)).toBeUndefined()
    expect(parseSince("12", now)).toBeUndefined()
  })
})
