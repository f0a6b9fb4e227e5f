/**
 * The code blocks of the documentation (README.md and docs/*.md), as the docs tests read them.
 *
 * A fenced block's info string is its language, optionally followed by `no-run: <reason>` to opt out of
 * running (a ```ts no-run block is still type-checked). Languages and what the tests do with them:
 * - `ts`: type-checked (examples.test.ts) and run with tsx (examples.integration.test.ts);
 * - `tr`: compiled with `Program.check`, which must report nothing;
 * - `json`: parsed with `JSON.parse`;
 * - `console`, `sh`: every `$ ` line is a command, run through the real CLI; the lines up to the next `$ `
 *   are its expected output (`…` matches anything, also several lines); `# exit N` at the end of a command
 *   expects that exit code instead of 0;
 * - `text` and other languages are shown, not run. A block without a language is an error.
 */
import { readdirSync, readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

/** The repository root. */
export const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..")

/** One fenced code block of a Markdown file. */
export interface Block {
  /** Path relative to the repository root. */
  readonly file: string
  /** 1-based line of the opening fence. */
  readonly line: number
  readonly lang: string
  /** The reason given after `no-run:`, when the block opts out of running. */
  readonly noRun: string | undefined
  /** The info string after the language, verbatim. */
  readonly rest: string
  readonly code: string
}

/** The Markdown files the docs tests cover: README.md and every docs/*.md. */
export const docFiles = (): ReadonlyArray<string> => [
  "README.md",
  ...readdirSync(join(root, "docs"))
    .filter((f) => f.endsWith(".md"))
    .sort()
    .map((f) => `docs/${f}`)
]

/** Every fenced block of a Markdown file (fences of three or more backticks, nesting by length). */
export const blocksOf = (file: string): ReadonlyArray<Block> => {
  const lines = readFileSync(join(root, file), "utf8").split("\n")
  const out: Array<Block> = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,})([^`]*)$/.exec(lines[i]!)
    if (open === null) continue
    const fence = open[1]!
    const info = open[2]!.trim()
    const body: Array<string> = []
    let j = i + 1
    while (j < lines.length && lines[j]!.trimEnd() !== fence) body.push(lines[j++]!)
    const [lang = "", ...restWords] = info.split(/\s+/)
    const rest = restWords.join(" ")
    const noRun = /^no-run:\s*(.+)$/.exec(rest)
    out.push({
      file,
      line: i + 1,
      lang,
      noRun: noRun === null ? (rest.startsWith("no-run") ? "" : undefined) : noRun[1]!.trim(),
      rest,
      code: body.join("\n") + "\n"
    })
    i = j
  }
  return out
}

/** Every block of every covered file. */
export const allBlocks = (): ReadonlyArray<Block> => docFiles().flatMap(blocksOf)

/** A short, file-system-safe name of a block: `docs-running-md-L42`. */
export const slug = (b: Block): string => `${b.file.replace(/[^A-Za-z0-9]+/g, "-")}-L${b.line}`

/** A command of a console block and the output expected of it. */
export interface Command {
  readonly line: number
  /** The command as written after `$ ` (continuation lines joined), without a trailing `# exit N`. */
  readonly command: string
  readonly exitCode: number
  readonly expected: string
}

/** The `$ ` commands of a console/sh block with their expected output. */
export const commandsOf = (b: Block): ReadonlyArray<Command> => {
  const lines = b.code.replace(/\n$/, "").split("\n")
  const out: Array<{ line: number; command: string; exitCode: number; expected: Array<string> }> = []
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!
    if (l.startsWith("$ ")) {
      let command = l.slice(2)
      const start = i
      while (command.endsWith("\\") && i + 1 < lines.length) command = command.slice(0, -1) + " " + lines[++i]!.trim()
      const exit = /\s+#\s*exits?\s+(\d+)\s*$/.exec(command)
      out.push({
        line: b.line + 1 + start,
        command: (exit === null ? command : command.slice(0, exit.index)).trim(),
        exitCode: exit === null ? 0 : Number(exit[1]),
        expected: []
      })
    } else if (out.length > 0) {
      out[out.length - 1]!.expected.push(l)
    }
  }
  return out.map((c) => ({ ...c, expected: c.expected.join("\n") }))
}

/**
 * Whether `actual` matches `expected`, where `…` in `expected` matches any text (also across lines).
 * Trailing spaces of lines and trailing blank lines are ignored on both sides.
 */
export const matchesOutput = (expected: string, actual: string): boolean => {
  const tidy = (s: string) => s.split("\n").map((l) => l.trimEnd()).join("\n").replace(/\n+$/, "")
  const pattern = tidy(expected)
    .split("…")
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join("[\\s\\S]*?")
  return new RegExp(`^${pattern}$`).test(tidy(actual))
}
