/**
 * Reading the program of a request: exactly one of `source` (DSL text) and
 * `program` (JSON IR), checked against the server's tools with `check`
 * (`compile.ts`). Never throws: a program too deep to serialize is a
 * `BadRequest` too.
 */
import { Effect } from "effect"
import { check } from "../../compile.js"
import type { Checked } from "../../compile.js"
import type { ToolTable } from "../../validate/context.js"
import { BadRequest } from "../api/errors.js"
import type { Violation } from "../api/errors.js"

/** The violations of a check, as the API shows them. */
export const violationsOf = (checked: Checked): ReadonlyArray<Violation> =>
  checked.diagnostics.map((d) => ({
    code: d.code,
    message: d.message,
    ...(d.path === undefined ? {} : { path: [...d.path] }),
    ...(d.span === undefined ? {} : { span: d.span }),
    ...(d.excerpt === undefined ? {} : { excerpt: d.excerpt })
  }))

/** Checks the program of a request body. */
export const checkInput = (
  input: { readonly source?: string; readonly program?: unknown },
  tools: ToolTable
): Effect.Effect<Checked, BadRequest> =>
  Effect.suspend(() => {
    const hasSource = input.source !== undefined
    const hasProgram = input.program !== undefined
    if (hasSource === hasProgram) {
      return Effect.fail(
        new BadRequest({ message: "give exactly one of \"source\" (DSL text) and \"program\" (JSON IR)" })
      )
    }
    try {
      return Effect.succeed(
        hasSource
          ? check(input.source!, { tools, format: "dsl" })
          : check(JSON.stringify(input.program), { tools, format: "json" })
      )
    } catch (e) {
      // A guard of the phases should catch everything; this is the last line (e.g. a stack overflow on absurd nesting).
      return Effect.fail(
        new BadRequest({
          message: `the program cannot be read (${e instanceof RangeError ? "nested too deeply" : "malformed"})`
        })
      )
    }
  })
