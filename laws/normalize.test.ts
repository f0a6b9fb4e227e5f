/**
 * Laws of normalization (SPEC §9): normalize is idempotent; alpha-renamed,
 * reordered and constant-varied variants have the same hash; changing a
 * tool argument changes the hash.
 */
import { Either, Schema } from "effect"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Program } from "../src/ir/schema.js"
import { canonicalForm, hashProgram, normalize } from "../src/normalize/index.js"
import { arbProgram } from "./arbitrary.js"
import { alphaRename, changeToolArgument, hasToolNode, shuffleStatements, varyConstants } from "./variants.js"

const seed = fc.integer({ min: 0, max: 0x7fffffff })
const RUNS = { numRuns: 200 }
const decode = Schema.decodeUnknownEither(Program)

describe("normalize laws", () => {
  it("produces a valid IR document", () => {
    fc.assert(
      fc.property(arbProgram, (p) => {
        const result = decode(normalize(p))
        expect(Either.isRight(result)).toBe(true)
      }),
      RUNS
    )
  })

  it("is idempotent, labels included", () => {
    fc.assert(
      fc.property(arbProgram, (p) => {
        const once = normalize(p)
        expect(normalize(once)).toEqual(once)
      }),
      RUNS
    )
  })

  it("does not change its input", () => {
    fc.assert(
      fc.property(arbProgram, (p) => {
        const before = JSON.stringify(p)
        normalize(p)
        expect(JSON.stringify(p)).toBe(before)
      }),
      { numRuns: 50 }
    )
  })

  it("gives alpha-renamed variants the same hash", () => {
    fc.assert(
      fc.property(arbProgram, seed, (p, s) => {
        expect(canonicalForm(alphaRename(p, s))).toBe(canonicalForm(p))
      }),
      RUNS
    )
  })

  it("gives reordered variants the same hash", () => {
    fc.assert(
      fc.property(arbProgram, seed, (p, s) => {
        expect(canonicalForm(shuffleStatements(p, s))).toBe(canonicalForm(p))
      }),
      RUNS
    )
  })

  it("gives constant-varied variants the same hash", () => {
    fc.assert(
      fc.property(arbProgram, seed, (p, s) => {
        expect(canonicalForm(varyConstants(p, s))).toBe(canonicalForm(p))
      }),
      RUNS
    )
  })

  it("gives variants combining all three the same hash", () => {
    fc.assert(
      fc.property(arbProgram, seed, (p, s) => {
        const variant = shuffleStatements(alphaRename(varyConstants(p, s), s + 1), s + 2)
        expect(hashProgram(variant)).toBe(hashProgram(p))
      }),
      RUNS
    )
  })

  it("changes the hash when a tool argument changes", () => {
    fc.assert(
      fc.property(
        arbProgram.filter(hasToolNode),
        seed,
        (p, s) => {
          expect(hashProgram(changeToolArgument(p, s))).not.toBe(hashProgram(p))
        }
      ),
      RUNS
    )
  })
})
