/** Properties of `validate` over generated programs (fast-check). */
import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import * as fc from "fast-check"
import { arbProgram, arbSchemaProgram } from "../../laws/arbitrary.js"
import { ViolationCode } from "../../src/ir/diagnostic.js"
import type { Path } from "../../src/ir/diagnostic.js"
import type { Program } from "../../src/ir/schema.js"
import { validate } from "../../src/validate/index.js"

const isCode = Schema.is(ViolationCode)

/** Whether a path names something that exists in the document. */
const resolves = (program: Program, path: Path): boolean => {
  let here: unknown = program
  for (const key of path) {
    if (here === null || typeof here !== "object" || !Object.hasOwn(here, key)) return false
    here = (here as Record<string | number, unknown>)[key]
  }
  return true
}

describe("validate properties", () => {
  it.prop(
    "well-formed generated programs have no unbound refs, cycles, duplicates or recursive calls",
    [arbProgram],
    ([program]) => {
      const structural = validate(program).filter((v) =>
        ["unbound-ref", "cycle", "duplicate-name", "recursive-call", "unknown-program", "bad-entry"].includes(v.code)
      )
      expect(structural).toEqual([])
    },
    { fastCheck: { numRuns: 300 } }
  )

  it.prop(
    "any Schema-valid document: never throws, deterministic, capped, and every path exists",
    [arbSchemaProgram],
    ([program]) => {
      const violations = validate(program)
      expect(validate(program)).toEqual(violations)
      expect(violations.length).toBeLessThanOrEqual(100)
      for (const v of violations) {
        expect(isCode(v.code)).toBe(true)
        expect(v.message.length).toBeGreaterThan(0)
        expect(resolves(program, v.path), `${v.code} at ${v.path.join("/")}`).toBe(true)
      }
    },
    { fastCheck: { numRuns: 500 } }
  )

  it.prop(
    "a dangling result ref is reported at the entry program's result",
    [arbProgram, fc.constantFrom("zz_unbound", "__proto__", "constructor")],
    ([program, name]) => {
      const entry = program.programs[program.entry]!
      const broken: Program = {
        ...program,
        programs: { ...program.programs, [program.entry]: { ...entry, result: { kind: "ref", name } } }
      }
      const shadowed = entry.params.some((p) => p.name === name) || entry.nodes.some((n) => n.id === name)
      fc.pre(!shadowed)
      expect(validate(broken).filter((v) => v.code === "unbound-ref")).toContainEqual({
        code: "unbound-ref",
        message: `Unbound reference ${JSON.stringify(name)}`,
        path: ["programs", program.entry, "result"]
      })
    },
    { fastCheck: { numRuns: 200 } }
  )
})
