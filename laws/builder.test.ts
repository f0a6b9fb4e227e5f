/**
 * Laws of the builder's flow algebra (SPEC §9): `seq` is associative with
 * `pure` as identity; `par` is commutative up to output order. Programs are
 * compared by `hashProgram` (normalized identity) and, where the law holds
 * literally, by deep equality.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import {
  all,
  branch,
  compute,
  type Flow,
  get,
  list,
  make,
  map,
  named,
  op,
  par,
  pure,
  ref,
  seq,
  tool
} from "../src/ir/builder.js"
import type { Expr, Program } from "../src/ir/schema.js"
import { hashProgram } from "../src/normalize/index.js"
import { validate } from "../src/validate/index.js"
import { arbExprWith } from "./arbitrary.js"
import { numRuns } from "./settings.js"

/** One step of a generated flow. */
type StepRecipe =
  | { readonly kind: "tool"; readonly tool: string; readonly arg: Expr; readonly named: boolean }
  | { readonly kind: "compute"; readonly expr: Expr }
  | { readonly kind: "map"; readonly tool: string; readonly named: boolean }
  | { readonly kind: "branch"; readonly tool: string; readonly named: boolean }

const arbStep: fc.Arbitrary<StepRecipe> = fc.oneof(
  fc.record({
    kind: fc.constant("tool" as const),
    tool: fc.constantFrom("search", "audit.log", "fetch"),
    arg: arbExprWith(["x"], 2),
    named: fc.boolean()
  }),
  fc.record({ kind: fc.constant("compute" as const), expr: arbExprWith(["x"], 2) }),
  fc.record({ kind: fc.constant("map" as const), tool: fc.constantFrom("summarize", "fetch"), named: fc.boolean() }),
  fc.record({ kind: fc.constant("branch" as const), tool: fc.constantFrom("escalate", "notify"), named: fc.boolean() })
)

/** Builds a flow from recipes; names are prefixed so that flows never clash. */
const buildFlow = (prefix: string, steps: ReadonlyArray<StepRecipe>, result: "last" | "list"): Flow => {
  const x = ref("x")
  const flows = steps.map((s, i): Flow => {
    const name = `${prefix}${i}`
    switch (s.kind) {
      case "tool": {
        const f = tool(s.tool, { q: s.arg })
        return s.named ? named(name, f) : f
      }
      case "compute":
        return named(name, compute(s.expr))
      case "map": {
        const f = map(x, (item) => tool(s.tool, { text: get(item, "text") }), { concurrency: 2 })
        return s.named ? named(name, f) : f
      }
      case "branch": {
        const f = branch(op(">", x, 0), tool(s.tool, { x }), pure(null))
        return s.named ? named(name, f) : f
      }
    }
  })
  const last = flows[flows.length - 1]
  return all(flows, result === "list" ? list(...flows.map((f) => f.result)) : (last?.result ?? null))
}

const arbFlow = (prefix: string): fc.Arbitrary<Flow> =>
  fc
    .tuple(fc.array(arbStep, { maxLength: 4 }), fc.constantFrom("last" as const, "list" as const))
    .map(([steps, result]) => buildFlow(prefix, steps, result))

const doc = (body: Flow): Program => make({ params: { x: "any" }, body })

const STRUCTURAL = new Set(["unbound-ref", "cycle", "duplicate-name", "recursive-call", "unknown-program", "bad-entry"])
const structural = (p: Program) => validate(p).filter((v) => STRUCTURAL.has(v.code))

describe("builder laws", () => {
  it("generated flows make valid programs", () => {
    fc.assert(
      fc.property(arbFlow("a"), arbFlow("b"), (a, b) => {
        expect(structural(doc(seq(a, b)))).toEqual([])
        expect(structural(doc(par(a, b)))).toEqual([])
      }),
      { numRuns: numRuns(100) }
    )
  })

  it("seq is associative", () => {
    fc.assert(
      fc.property(arbFlow("a"), arbFlow("b"), arbFlow("c"), (a, b, c) => {
        const left = doc(seq(seq(a, b), c))
        const right = doc(seq(a, seq(b, c)))
        expect(left).toEqual(right)
        expect(hashProgram(left)).toBe(hashProgram(right))
      }),
      { numRuns: numRuns(100) }
    )
  })

  it("seq is associative with continuations", () => {
    fc.assert(
      fc.property(arbFlow("a"), arbFlow("b"), arbFlow("c"), (a, b, c) => {
        const f = (r: Expr) => all([b], list(r, b.result))
        const g = (r: Expr) => all([c], list(r, c.result))
        const left = doc(seq(seq(a, f), g))
        const right = doc(seq(a, (r) => seq(f(r), g)))
        expect(hashProgram(left)).toBe(hashProgram(right))
      }),
      { numRuns: numRuns(50) }
    )
  })

  it("pure is a left and right identity of seq", () => {
    fc.assert(
      fc.property(arbFlow("a"), arbExprWith(["x"], 2), (a, e) => {
        expect(doc(seq(pure(e), a))).toEqual(doc(a))
        expect(doc(seq(a, pure))).toEqual(doc(a))
        expect(hashProgram(doc(seq(a, pure)))).toBe(hashProgram(doc(a)))
        // left identity with a continuation: seq(pure(e), f) = f(e)
        const f = (r: Expr) => all([a], list(r, a.result))
        expect(doc(seq(pure(e), f))).toEqual(doc(f(e)))
      }),
      { numRuns: numRuns(100) }
    )
  })

  it("par is commutative up to output order", () => {
    fc.assert(
      fc.property(arbFlow("a"), arbFlow("b"), (a, b) => {
        const ab = doc(par(a, b))
        // par(b, a) with its output list put back in (a, b) order
        const ba = doc(all([par(b, a)], list(a.result, b.result)))
        expect(hashProgram(ab)).toBe(hashProgram(ba))
      }),
      { numRuns: numRuns(100) }
    )
  })

  it("the hash tells different flows apart (the laws above can fail)", () => {
    const a = named("a0", tool("search", { q: 1 }))
    const b = named("b0", tool("fetch", { q: 2 }))
    expect(hashProgram(doc(par(a, b)))).not.toBe(hashProgram(doc(par(b, a))))
    expect(doc(seq(a, b))).not.toEqual(doc(seq(b, a)))
  })
})
