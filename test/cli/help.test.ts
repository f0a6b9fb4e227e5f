/** `trellis --help`: every registered command listed, optional options in brackets, plain text. */
import { describe, expect, it } from "vitest"
import pkg from "../../package.json" with { type: "json" }
import {
  COMMANDS,
  helpText,
  plainWanted,
  registeredNames,
  stripAnsi,
  VERSION,
  wantsTopHelp
} from "../../src/cli/help.js"

describe("trellis --help", () => {
  it("lists every command @effect/cli registered, and only those", () => {
    expect(COMMANDS.map((c) => c.name).sort()).toEqual(registeredNames())
    const text = helpText(VERSION)
    for (const name of registeredNames()) expect(text).toMatch(new RegExp(`^  ${name} `, "m"))
  })

  it("shows --input as optional and repeatable, in plain text", () => {
    const text = helpText(VERSION)
    expect(text).toContain("[--input k=v]...")
    expect(text).not.toMatch(/(^|[^[])--input /)
    expect(text).not.toContain("\u001b[")
    // Two lines per command plus ten: one screen.
    expect(text.split("\n").length).toBeLessThan(64)
  })

  it("has the package's version", () => {
    expect(VERSION).toBe(pkg.version)
    expect(helpText(VERSION)).toContain(`trellis ${pkg.version}`)
  })

  it("is asked by --help, -h or nothing; colour is stripped when piped or with NO_COLOR", () => {
    expect(wantsTopHelp([])).toBe(true)
    expect(wantsTopHelp(["-h"])).toBe(true)
    expect(wantsTopHelp(["run", "--help"])).toBe(false)
    expect(plainWanted({ NO_COLOR: "1" }, true)).toBe(true)
    expect(plainWanted({}, false)).toBe(true)
    expect(plainWanted({}, true)).toBe(false)
    expect(stripAnsi("\u001b[0;1mUSAGE\u001b[0m")).toBe("USAGE")
  })
})
