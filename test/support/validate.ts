/**
 * Test helpers for the validator (graphql-js `harness.ts` style):
 * `expectErrors(src)` compiles DSL text and returns an assertion on the
 * violations `validate` reports (with spans from the source map);
 * `expectValid(src)` asserts there are none; `at(src, snippet)` gives the
 * span of a snippet of the source, for exact span assertions.
 */
import { expect } from "vitest"
import type { Span } from "../../src/ir/diagnostic.js"
import type { Program } from "../../src/ir/schema.js"
import type { Type } from "../../src/ir/schema.js"
import { compileSource } from "../../src/language/index.js"
import type { ToolSpec, ToolTable, ValidationContext } from "../../src/validate/index.js"
import { validate } from "../../src/validate/index.js"

/** Compiles DSL text to IR and its source map; fails the test on syntax or lowering errors. */
export const compile = (src: string) => {
  const result = compileSource(src)
  if (result.program === undefined || result.syntaxErrors.length > 0 || result.violations.length > 0) {
    throw new Error(
      `The test source does not compile:\n${
        [...result.syntaxErrors, ...result.violations].map((d) => d.message).join("\n")
      }`
    )
  }
  return { program: result.program, sourceMap: result.sourceMap }
}

/** The violations of a DSL source. */
export const violationsOf = (src: string, context: Omit<ValidationContext, "sourceMap"> = {}) => {
  const { program, sourceMap } = compile(src)
  return validate(program, { ...context, sourceMap })
}

/** An assertion on the violations of a DSL source, e.g. `expectErrors(src).toEqual([{ code, message, path, span }])`. */
export const expectErrors = (src: string, context: Omit<ValidationContext, "sourceMap"> = {}) =>
  expect(violationsOf(src, context))

/** Asserts that a DSL source validates clean. */
export const expectValid = (src: string, context: Omit<ValidationContext, "sourceMap"> = {}): void => {
  expectErrors(src, context).toEqual([])
}

/** The violations of a hand-built program (no spans). */
export const expectIrErrors = (program: Program, context: ValidationContext = {}) => expect(validate(program, context))

/**
 * The span of the first occurrence of `snippet` in `src`, or, with
 * `inside`, of the first occurrence of `snippet` within the first
 * occurrence of `inside` (e.g. `at(src, "x", "return x + y")`).
 */
export const at = (src: string, snippet: string, inside?: string): Span => {
  const base = inside === undefined ? 0 : src.indexOf(inside)
  if (base < 0) throw new Error(`Context ${JSON.stringify(inside)} not found`)
  const found = (inside ?? src.slice(base)).indexOf(snippet)
  if (found < 0) throw new Error(`Snippet ${JSON.stringify(snippet)} not found`)
  const offset = base + found
  const position = (o: number) => {
    const before = src.slice(0, o)
    const line = before.split("\n").length
    const column = o - (before.lastIndexOf("\n") + 1) + 1
    return { line, column, offset: o }
  }
  return { start: position(offset), end: position(offset + snippet.length) }
}

/** Shorthands for types in tool tables. */
export const T = {
  string: { kind: "string" } as Type,
  number: { kind: "number" } as Type,
  boolean: { kind: "boolean" } as Type,
  null: { kind: "null" } as Type,
  any: { kind: "any" } as Type,
  list: (of: Type): Type => ({ kind: "list", of }),
  record: (fields: { readonly [name: string]: Type }): Type => ({
    kind: "record",
    fields: Object.entries(fields).map(([name, type]) => ({ name, type }))
  })
}

/** Builds a tool table; inputs are `name` (required) or `name?` (optional). */
export const tools = (
  specs: ReadonlyArray<{
    readonly name: string
    readonly input?: { readonly [name: string]: Type }
    readonly output?: Type
    readonly idempotent?: boolean
  }>
): ToolTable =>
  new Map(
    specs.map((s): [string, ToolSpec] => [
      s.name,
      {
        name: s.name,
        input: Object.entries(s.input ?? {}).map(([name, type]) => ({
          name: name.replace(/\?$/, ""),
          type,
          optional: name.endsWith("?")
        })),
        output: s.output ?? T.any,
        idempotent: s.idempotent ?? false
      }
    ])
  )
