/** Loading a program for a command: read, compile, and report diagnostics as a CliError. */
import type * as FileSystem from "@effect/platform/FileSystem"
import { Effect } from "effect"
import { check, type Checked, type CompileOptions } from "../compile.js"
import { CliError, err, type Input, readInput } from "./io.js"
import { formatDiagnostics } from "./report.js"

/** A program that compiled with no diagnostics. */
export interface Loaded {
  readonly input: Input
  readonly checked: Checked & { readonly program: NonNullable<Checked["program"]> }
}

/** Reads and checks a program; on any diagnostic prints them to stderr and fails with exit 1. */
export const loadValid = (
  path: string,
  options: CompileOptions = {}
): Effect.Effect<Loaded, CliError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const input = yield* readInput(path)
    const checked = check(input.text, options)
    if (checked.program === undefined || checked.diagnostics.length > 0) {
      yield* err(formatDiagnostics(input.name, checked.diagnostics, { excerpt: true }))
      return yield* new CliError({
        message: `${input.name}: ${checked.diagnostics.length} problem${checked.diagnostics.length === 1 ? "" : "s"}`
      })
    }
    return { input, checked: { ...checked, program: checked.program } }
  })
