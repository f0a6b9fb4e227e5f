/**
 * DSL serialization law (SPEC §9): printing a program and parsing the text
 * back gives the same program — for well-formed programs, for their normal
 * forms (without the `labels` side table, which the DSL does not carry),
 * and for the examples — and printing is idempotent.
 */
import { describe, expect, it } from "@effect/vitest"
import { readdirSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import type { Program } from "../src/ir/schema.js"
import { compileSource, print } from "../src/language/index.js"
import { normalize } from "../src/normalize/index.js"
import { arbProgram } from "./arbitrary.js"
import { numRuns } from "./settings.js"

const withoutLabels = ({ labels: _labels, ...rest }: Program): Program => rest

/** The law: text parses without diagnostics, lowers to `p`, and prints to the same text. */
const roundTrip = (p: Program): void => {
  const text = print(p)
  const r = compileSource(text)
  expect(r.syntaxErrors).toEqual([])
  expect(r.violations).toEqual([])
  expect(r.program).toEqual(withoutLabels(p))
  expect(print(r.program as Program)).toBe(text)
}

const dir = fileURLToPath(new URL("../examples/", import.meta.url))

describe("DSL round trip", () => {
  it.prop("lower(parse(print(p))) = p for well-formed programs", [arbProgram], ([p]) => roundTrip(p), {
    fastCheck: { numRuns: numRuns(400) }
  })

  it.prop("… and for their normal forms", [arbProgram], ([p]) => roundTrip(normalize(p)), {
    fastCheck: { numRuns: numRuns(250) }
  })

  it("holds for every example and its normal form", () => {
    const files = readdirSync(dir).filter((f) => f.endsWith(".tr"))
    expect(files.length).toBeGreaterThanOrEqual(5)
    for (const f of files) {
      const p = compileSource(readFileSync(dir + f, "utf8")).program
      expect(p, f).toBeDefined()
      roundTrip(p as Program)
      roundTrip(normalize(p as Program))
    }
  })
})
