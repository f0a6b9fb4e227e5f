/**
 * The CLI's edge: reading a program from a path or standard input, writing
 * to stdout/stderr, and the one error type that turns into an exit code.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Data, Effect } from "effect"

/** A failure the CLI reports as a plain message and an exit code; never a stack trace. */
export class CliError extends Data.TaggedError("CliError")<{
  readonly message: string
  /** @default 1 */
  readonly exitCode?: number
}> {}

/** A text read from a file or stdin, with the name to report it under. */
export interface Input {
  readonly name: string
  readonly text: string
}

const readStdin = Effect.async<string, CliError>((resume) => {
  const chunks: Array<Buffer> = []
  process.stdin.on("data", (c: Buffer) => chunks.push(c))
  process.stdin.on("end", () => resume(Effect.succeed(Buffer.concat(chunks).toString("utf8"))))
  process.stdin.on("error", (e) => resume(Effect.fail(new CliError({ message: `cannot read stdin: ${e.message}` }))))
})

/** Reads `path`, or standard input when the path is `-`. */
export const readInput = (path: string): Effect.Effect<Input, CliError, FileSystem.FileSystem> =>
  path === "-"
    ? Effect.map(readStdin, (text) => ({ name: "<stdin>", text }))
    : Effect.flatMap(FileSystem.FileSystem, (fs) =>
      fs.readFileString(path, "utf8").pipe(
        Effect.map((text) => ({ name: path, text })),
        Effect.mapError((e) =>
          new CliError({
            message: e._tag === "SystemError" && e.reason === "NotFound"
              ? `${path}: no such file`
              : `${path}: cannot read (${e.message})`
          })
        )
      ))

/** Writes a line (or several) to stdout. */
export const out = (text: string): Effect.Effect<void> =>
  Effect.sync(() => void process.stdout.write(text.endsWith("\n") ? text : text + "\n"))

/** Writes a line (or several) to stderr. */
export const err = (text: string): Effect.Effect<void> =>
  Effect.sync(() => void process.stderr.write(text.endsWith("\n") ? text : text + "\n"))

/** Writes `text` to the file `path` (through `FileSystem`), or fails with a `CliError` naming it. */
export const writeText = (path: string, text: string): Effect.Effect<void, CliError, FileSystem.FileSystem> =>
  Effect.flatMap(FileSystem.FileSystem, (fs) =>
    fs.writeFileString(path, text).pipe(
      Effect.mapError((e) => new CliError({ message: `${path}: cannot write (${e.message})` }))
    ))
