import { describe, expect, it } from "vitest"
import { parseDuration } from "../../src/ir/duration.js"

describe("parseDuration", () => {
  it("parses each unit to milliseconds", () => {
    expect(parseDuration("150ms")).toBe(150)
    expect(parseDuration("2s")).toBe(2000)
    expect(parseDuration("1.5s")).toBe(1500)
    expect(parseDuration("1m")).toBe(60_000)
    expect(parseDuration("1h")).toBe(3_600_000)
    expect(parseDuration("0s")).toBe(0)
  })

  it("refuses anything else", () => {
    for (const bad of ["2 sec", "2", "s", "-1s", "1.s", ".5s", "1e3ms", "2S", " 2s", "2s ", "1d", "", "1.5.5s"]) {
      expect(parseDuration(bad), bad).toBeUndefined()
    }
  })

  it("refuses durations too large to represent", () => {
    expect(parseDuration(`${"9".repeat(400)}h`)).toBeUndefined()
  })
})
