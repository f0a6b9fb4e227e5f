/** `json.parse(text)`: parses JSON text; bad JSON is `Permanent` with its position. */
import { Schema } from "effect"
import { jsonSyntaxError } from "../../ir/json.js"
import { Permanent } from "../errors.js"
import { make } from "../tool.js"

/** The 1-based line and column of a code-unit offset. */
const lineColumn = (text: string, offset: number): { readonly line: number; readonly column: number } => {
  let line = 1
  let lineStart = 0
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++
      lineStart = i + 1
    }
  }
  return { line, column: offset - lineStart + 1 }
}

/** Parses a JSON text (RFC 8259); a syntax error names its line, column and offset. */
export const jsonParse = make({
  name: "json.parse",
  description: "Parses a JSON text into a value.",
  input: Schema.Struct({ text: Schema.String }),
  output: Schema.Unknown,
  idempotent: true,
  run: (args): unknown => {
    const error = jsonSyntaxError(args.text)
    if (error !== undefined) {
      const { column, line } = lineColumn(args.text, error.offset)
      throw new Permanent({
        message: `invalid JSON at line ${line}, column ${column} (offset ${error.offset}): ${
          error.message.replace(/^Invalid JSON: /, "")
        }`
      })
    }
    try {
      return JSON.parse(args.text)
    } catch (e) {
      throw new Permanent({ message: `invalid JSON: ${e instanceof Error ? e.message : String(e)}` })
    }
  }
})
