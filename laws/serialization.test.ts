/**
 * Serialization laws (SPEC §9): the JSON codec and the token stream
 * round-trip every Schema-valid program, and the JSON codec accepts exactly
 * what the Schema accepts.
 */
import { describe, expect, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import * as fc from "fast-check"
import { decodeProgram, encodeProgram, parseProgramJson } from "../src/ir/json.js"
import { Program } from "../src/ir/schema.js"
import { fromTokens, textToTokens, tokensToText, toTokens } from "../src/ir/tokenSerialization.js"
import { arbMutatedJson, arbProgram, arbSchemaProgram } from "./arbitrary.js"
import { numRuns } from "./settings.js"

const isExact = Schema.is(Program, { onExcessProperty: "error" })
const programs = fc.oneof(arbProgram, arbSchemaProgram)

describe("JSON codec", () => {
  it("round-trips: decode(encode(p)) = p, compact and pretty", () => {
    fc.assert(
      fc.property(programs, fc.boolean(), (p, pretty) => {
        const text = encodeProgram(p, { pretty })
        expect(parseProgramJson(text)).toEqual(Either.right(p))
        expect(decodeProgram(JSON.parse(text))).toEqual(Either.right(p))
      }),
      { numRuns: numRuns(200) }
    )
  })

  it("decoding puts fields in Schema order, so encode ∘ decode is idempotent on text", () => {
    fc.assert(
      fc.property(programs, (p) => {
        const once = Either.map(parseProgramJson(encodeProgram(p)), (q) => encodeProgram(q))
        const twice = Either.flatMap(once, (text) => Either.map(parseProgramJson(text), (q) => encodeProgram(q)))
        expect(Either.isRight(once)).toBe(true)
        expect(twice).toEqual(once)
      }),
      { numRuns: numRuns(100) }
    )
  })

  it("accepts exactly what the Schema accepts (unknown fields are errors)", () => {
    fc.assert(
      fc.property(arbMutatedJson(programs), (m) => {
        const decoded = decodeProgram(m)
        expect(Either.isRight(decoded)).toBe(isExact(m))
        if (Either.isRight(decoded)) expect(decoded.right).toEqual(m)
        else expect(decoded.left.issues.length).toBeGreaterThan(0)
      }),
      { numRuns: numRuns(300) }
    )
  })
})

describe("token stream", () => {
  it("round-trips: fromTokens(toTokens(p)) = p", () => {
    fc.assert(
      fc.property(programs, (p) => {
        expect(fromTokens(toTokens(p))).toEqual(Either.right(p))
      }),
      { numRuns: numRuns(200) }
    )
  })

  it("round-trips through the text form", () => {
    fc.assert(
      fc.property(programs, (p) => {
        const tokens = toTokens(p)
        expect(textToTokens(tokensToText(tokens))).toEqual(tokens)
        expect(fromTokens(textToTokens(tokensToText(tokens)))).toEqual(Either.right(p))
      }),
      { numRuns: numRuns(100) }
    )
  })

  it("never throws on a damaged stream, and only yields Schema-valid programs", () => {
    const damaged = fc
      .tuple(
        programs,
        fc.nat(),
        fc.constantFrom("delete", "duplicate", "swap", "replace"),
        fc.constantFrom(
          "<close>",
          "<open:array>",
          "<open:dict>",
          "<field:id>",
          "<null>",
          "<num:1>",
          "<str:\"x\">",
          "<ref:a>",
          "<key:a>",
          "<open:tool>",
          "<bogus"
        )
      )
      .map(([p, n, how, token]) => {
        const ts = [...toTokens(p)]
        const i = n % ts.length
        if (how === "delete") ts.splice(i, 1)
        else if (how === "duplicate") ts.splice(i, 0, ts[i]!)
        else if (how === "swap" && i + 1 < ts.length) [ts[i], ts[i + 1]] = [ts[i + 1]!, ts[i]!]
        else ts[i] = token
        return ts
      })
    fc.assert(
      fc.property(damaged, (ts) => {
        const r = fromTokens(ts)
        if (Either.isRight(r)) expect(isExact(r.right)).toBe(true)
        else {
          expect(r.left.index).toBeGreaterThanOrEqual(0)
          expect(r.left.index).toBeLessThanOrEqual(ts.length)
        }
      }),
      { numRuns: numRuns(300) }
    )
  })
})
