/** The language commands of the CLI: check, fmt, normalize, compile, tokens, schema. */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as FileSystem from "@effect/platform/FileSystem"
import { Effect, Either } from "effect"
import { check } from "../compile.js"
import { countNodes } from "../ir/count.js"
import { encodeProgram } from "../ir/json.js"
import { programJsonSchema } from "../ir/jsonSchema.js"
import { fromTokens, textToTokens, tokensToText, toTokens } from "../ir/tokenSerialization.js"
import { format, print } from "../language/index.js"
import { CliError, err, out, readInput } from "./io.js"
import { loadValid } from "./load.js"
import { formatDiagnostics } from "./report.js"

const fileArg = Args.text({ name: "file" }).pipe(Args.withDescription("A .tr (DSL) or .json (IR) file, or - for stdin"))

/** `trellis check <file>`: report every problem as `file:line:col code message`; exit 1 if any. */
export const checkCommand = Command.make(
  "check",
  { file: fileArg, json: Options.boolean("json").pipe(Options.withDescription("Print the result as JSON")) },
  ({ file, json }) =>
    Effect.gen(function*() {
      const input = yield* readInput(file)
      const result = check(input.text)
      if (json) {
        yield* out(JSON.stringify(
          {
            file: input.name,
            ok: result.diagnostics.length === 0,
            hash: result.hash ?? null,
            diagnostics: result.diagnostics
          },
          null,
          2
        ))
      } else if (result.diagnostics.length > 0) {
        yield* out(formatDiagnostics(input.name, result.diagnostics, { excerpt: true }))
      } else if (result.program !== undefined) {
        yield* out(`${input.name}: ok (${countNodes(result.program)} nodes, hash ${result.hash ?? "?"})`)
      }
      if (result.diagnostics.length > 0) {
        return yield* new CliError({
          message: `${input.name}: ${result.diagnostics.length} problem${result.diagnostics.length === 1 ? "" : "s"}`
        })
      }
    })
).pipe(Command.withDescription("Check a program: syntax and every invariant V1–V9"))

/** `trellis fmt <file>`: print canonical DSL, comments kept; `--check` exits 1 when the file is not formatted. */
export const fmtCommand = Command.make(
  "fmt",
  {
    file: fileArg,
    check: Options.boolean("check").pipe(Options.withDescription("Exit 1 when the file is not already formatted")),
    write: Options.boolean("write").pipe(Options.withDescription("Rewrite the file in place"))
  },
  ({ check: onlyCheck, file, write }) =>
    Effect.gen(function*() {
      const input = yield* readInput(file)
      const formatted = format(input.text)
      const text = formatted.text
      if (text === undefined) {
        const diagnostics = formatted.errors.map((e) => ({
          code: "syntax",
          message: e.message,
          span: e.span,
          excerpt: e.excerpt
        }))
        yield* err(formatDiagnostics(input.name, diagnostics, { excerpt: true }))
        return yield* new CliError({ message: `${input.name}: cannot format a file with syntax errors` })
      }
      if (onlyCheck) {
        if (text !== input.text) {
          return yield* new CliError({
            message: `${input.name}: not formatted (run trellis fmt --write ${input.name})`
          })
        }
        yield* out(`${input.name}: formatted`)
        return
      }
      if (write) {
        if (file === "-") return yield* new CliError({ message: "--write needs a file path, not -" })
        const fs = yield* FileSystem.FileSystem
        yield* fs.writeFileString(file, text).pipe(
          Effect.mapError((e) => new CliError({ message: `${file}: cannot write (${e.message})` }))
        )
        return
      }
      yield* Effect.sync(() => void process.stdout.write(text))
    })
).pipe(Command.withDescription("Print a program as canonical DSL text"))

/** `trellis normalize <file>`: the normal form (DSL by default, `--json`), or only `--hash`. */
export const normalizeCommand = Command.make(
  "normalize",
  {
    file: fileArg,
    json: Options.boolean("json").pipe(Options.withDescription("Print the normalized IR as JSON")),
    hash: Options.boolean("hash").pipe(Options.withDescription("Print only the program's sha256 identity"))
  },
  ({ file, hash, json }) =>
    Effect.gen(function*() {
      const { checked } = yield* loadValid(file)
      const normalized = checked.normalized ?? checked.program
      if (hash) return yield* out(checked.hash ?? "")
      if (json) return yield* out(encodeProgram(normalized, { pretty: true }))
      yield* Effect.sync(() => void process.stdout.write(print(normalized)))
    })
).pipe(Command.withDescription("Print a program's normal form (N1–N6) or its hash"))

/** `trellis compile <file>`: DSL → JSON IR (validated). */
export const compileCommand = Command.make(
  "compile",
  { file: fileArg },
  ({ file }) =>
    Effect.gen(function*() {
      const { checked } = yield* loadValid(file)
      yield* out(encodeProgram(checked.program, { pretty: true }))
    })
).pipe(Command.withDescription("Compile DSL text to JSON IR (after checking it)"))

/** `trellis tokens <file>`: the structural token stream; `--decode` turns tokens back into JSON IR. */
export const tokensCommand = Command.make(
  "tokens",
  {
    file: fileArg,
    decode: Options.boolean("decode").pipe(Options.withDescription("Read a token stream and print its JSON IR"))
  },
  ({ decode, file }) =>
    Effect.gen(function*() {
      if (decode) {
        const input = yield* readInput(file)
        const program = fromTokens(textToTokens(input.text))
        if (Either.isLeft(program)) {
          return yield* new CliError({ message: `${input.name}: ${program.left.message}` })
        }
        return yield* out(encodeProgram(program.right, { pretty: true }))
      }
      const { checked } = yield* loadValid(file)
      yield* out(tokensToText(toTokens(checked.program)))
    })
).pipe(Command.withDescription("Print a program as a structural token stream (or decode one)"))

/** `trellis schema`: the IR's JSON Schema. */
export const schemaCommand = Command.make("schema", {}, () => out(JSON.stringify(programJsonSchema(), null, 2))).pipe(
  Command.withDescription("Print the JSON Schema of the IR (trellis/1)")
)
