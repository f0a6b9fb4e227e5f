/** `race` and `map … with { take }` through the language: parse, lower, print, and the IR serializations. */
import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { decodeProgram, encodeProgram } from "../../src/ir/json.js"
import { fromTokens, toTokens } from "../../src/ir/tokenSerialization.js"
import { compileSource, print } from "../../src/language/index.js"

const SOURCE = `program main(docs: string[]) {
  fastest = race with { timeout: "2s" } {
    primary: {
      return tool search(q: "a")
    }
    "mirror": {
      return tool search(q: "b")
    }
  }
  firsts = map d in docs with { concurrency: 4, take: 2 } {
    return tool summarize(text: d)
  }
  digest = map d in docs with { fold: merge, init: { count: 0 } } {
    return tool summarize(text: d)
  }
  return { fastest: fastest, firsts: firsts, digest: digest }
}

program merge(acc: any, x: any) {
  return { count: acc.count + 1 }
}
`

describe("race and take in the DSL", () => {
  const compiled = compileSource(SOURCE)

  it("lower to a race node with its options and a map with take", () => {
    expect(compiled.syntaxErrors).toEqual([])
    expect(compiled.violations).toEqual([])
    const nodes = compiled.program!.programs["main"]!.nodes
    const race = nodes.find((n) => n.id === "fastest")!
    expect(race.kind).toBe("race")
    expect(race.kind === "race" && race.options.map((o) => o.label)).toEqual(["primary", "mirror"])
    expect(race.policy).toEqual({ timeout: "2s" })
    const map = nodes.find((n) => n.id === "firsts")!
    expect(map.kind === "map" && [map.concurrency, map.take]).toEqual([4, 2])
    const digest = nodes.find((n) => n.id === "digest")!
    expect(digest.kind === "map" && [digest.fold, digest.init]).toEqual([
      "merge",
      { kind: "record", entries: [{ key: "count", value: { kind: "lit", value: 0 } }] }
    ])
  })

  it("print back to text that lowers to the same IR", () => {
    const text = print(compiled.program!)
    expect(text).toContain("race with { timeout: \"2s\" } {")
    expect(text).toContain("with { concurrency: 4, take: 2 }")
    expect(text).toContain("with { fold: merge, init: { count: 0 } }")
    expect(compileSource(text).program).toEqual(compiled.program)
  })

  it("round-trip through JSON and the token stream", () => {
    const program = compiled.program!
    expect(Either.getOrThrow(decodeProgram(JSON.parse(encodeProgram(program))))).toEqual(program)
    const tokens = toTokens(program)
    expect(tokens).toContain("<open:race>")
    expect(Either.getOrThrow(fromTokens(tokens))).toEqual(program)
  })

  it("reject take off a map, and a race without options, with a location", () => {
    const bad = compileSource(`program main() { a = tool t.x() with { take: 1 } return a }`)
    expect(bad.violations.map((v) => [v.code, v.message])).toEqual([
      ["bad-policy", `"take" is only allowed on map steps`]
    ])
    expect(bad.violations[0]!.span?.start.line).toBe(1)
    const empty = compileSource(`program main() { r = race { } return r }`)
    expect(empty.syntaxErrors.length).toBeGreaterThan(0)
  })
})
