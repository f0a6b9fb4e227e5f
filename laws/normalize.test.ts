/**
 * Laws of normalization (SPEC §9): normalize is idempotent; alpha-renamed,
 * reordered and constant-varied variants have the same hash; changing a
 * tool argument changes the hash.
 */
import { Either, Schema } from "effect"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import type { Expr, Node } from "../src/ir/schema.js"
import { Program } from "../src/ir/schema.js"
import { canonicalForm, hashProgram, normalize } from "../src/normalize/index.js"
import { run } from "../test/support/normalizeInterpreter.js"
import { arbProgram } from "./arbitrary.js"
import { numRuns } from "./settings.js"
import { alphaRename, changeToolArgument, hasToolNode, shuffleStatements, varyConstants } from "./variants.js"

/**
 * Programs full of identical steps (`tool t()`) wired to each other in
 * random, often symmetric ways, directly and from map bodies: the hard
 * case for canonical ordering, where names and positions must not leak.
 */
const arbSymmetricProgram: fc.Arbitrary<Program> = fc
  .record({
    leaves: fc.integer({ min: 1, max: 8 }),
    users: fc.array(
      fc.record({
        tool: fc.constantFrom("f", "g"),
        x: fc.nat(),
        y: fc.nat(),
        nested: fc.boolean(),
        after: fc.option(fc.nat(), { nil: undefined })
      }),
      { maxLength: 14 }
    ),
    result: fc.array(fc.nat(), { maxLength: 3 })
  })
  .map(({ leaves, users, result }): Program => {
    const nodes: Array<Node> = []
    const ref = (name: string): Expr => ({ kind: "ref", name })
    for (let i = 0; i < leaves; i++) nodes.push({ id: `a${i}`, kind: "tool", tool: "t", args: {} })
    users.forEach((u, i) => {
      const names = nodes.map((n) => n.id)
      const pick = (k: number) => ref(names[k % names.length]!)
      if (u.nested) {
        nodes.push({
          id: `u${i}`,
          kind: "map",
          over: pick(u.x),
          as: "it",
          body: {
            nodes: [{ id: "w", kind: "tool", tool: u.tool, args: { x: ref("it"), y: pick(u.y) } }],
            result: ref("w")
          }
        })
      } else {
        const after = u.after === undefined ? {} : { policy: { after: [names[u.after % names.length]!] } }
        nodes.push({ id: `u${i}`, kind: "tool", tool: u.tool, args: { x: pick(u.x), y: pick(u.y) }, ...after })
      }
    })
    const names = nodes.map((n) => n.id)
    return {
      ir: "trellis/1",
      entry: "main",
      programs: {
        main: { params: [], nodes, result: { kind: "list", items: result.map((r) => ref(names[r % names.length]!)) } }
      },
      signatures: {}
    }
  })

const seed = fc.integer({ min: 0, max: 0x7fffffff })
const RUNS = { numRuns: numRuns(200) }
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
      { numRuns: numRuns(50) }
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

  it("gives renamed and reordered variants of symmetric programs the same form", () => {
    fc.assert(
      fc.property(arbSymmetricProgram, seed, (p, s) => {
        expect(canonicalForm(shuffleStatements(alphaRename(p, s), s + 1))).toBe(canonicalForm(p))
      }),
      { numRuns: numRuns(500) }
    )
  })

  it("is idempotent on symmetric programs", () => {
    fc.assert(
      fc.property(arbSymmetricProgram, (p) => {
        const once = normalize(p)
        expect(normalize(once)).toEqual(once)
      }),
      { numRuns: numRuns(300) }
    )
  })

  it("preserves meaning: same output and same effects on deterministic tools", () => {
    let compared = 0
    fc.assert(
      fc.property(arbProgram, (p) => {
        const before = run(p)
        // Dropping an unused pure step that fails can only turn a failure into a success.
        if (!before.ok) return
        compared++
        expect(run(normalize(p))).toEqual(before)
      }),
      { numRuns: numRuns(300) }
    )
    expect(compared).toBeGreaterThan(30)
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
