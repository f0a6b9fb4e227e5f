/**
 * Locations and diagnostics shared by every phase: source positions and
 * spans, paths into the IR, the source map that lowering produces, and the
 * `Violation` the validator reports.
 */
import { Schema } from "effect"

/** An optional field that is absent rather than `undefined` (exact optional). */
const opt = <S extends Schema.Schema.All>(schema: S) => Schema.optionalWith(schema, { exact: true })

/** A position in source text: 1-based line and column, 0-based offset. */
export const Position = Schema.Struct({
  line: Schema.Number,
  column: Schema.Number,
  offset: Schema.Number
})
export type Position = typeof Position.Type

/** A half-open range of source text. */
export const Span = Schema.Struct({ start: Position, end: Position })
export type Span = typeof Span.Type

/** A path into the IR document, e.g. `["programs", "main", "nodes", 2, "args", "k"]`. */
export type Path = ReadonlyArray<string | number>

/** Renders a path as a JSON Pointer (RFC 6901): `/programs/main/nodes/2/args/k`. */
export const pathToPointer = (path: Path): string =>
  path.length === 0 ? "" : "/" + path.map((p) => String(p).replace(/~/g, "~0").replace(/\//g, "~1")).join("/")

/**
 * Where each part of a lowered program came from: JSON Pointer of an IR
 * element → its span in the source text. Produced by lowering; absent for
 * programs that came from JSON or the builder.
 */
export type SourceMap = ReadonlyMap<string, Span>

/** Finds the span of a path, or of its nearest ancestor that has one. */
export const spanOf = (sourceMap: SourceMap | undefined, path: Path): Span | undefined => {
  if (sourceMap === undefined) return undefined
  for (let n = path.length; n >= 0; n--) {
    const span = sourceMap.get(pathToPointer(path.slice(0, n)))
    if (span !== undefined) return span
  }
  return undefined
}

/** The codes of the invariants V1–V9 (SPEC §2), and `bad-demo` (a signature's demos match its fields). */
export const ViolationCode = Schema.Literal(
  "unbound-ref",
  "cycle",
  "duplicate-name",
  "unknown-tool",
  "bad-args",
  "unknown-signature",
  "bad-signature-args",
  "type-mismatch",
  "bad-policy",
  "bad-wait",
  "recursive-call",
  "limits",
  "unknown-program",
  "bad-entry",
  "bad-fan-in",
  "bad-demo"
)
export type ViolationCode = typeof ViolationCode.Type

/** One broken invariant: its code, a message, where in the IR, and where in the source. */
export const Violation = Schema.Struct({
  code: ViolationCode,
  message: Schema.String,
  path: Schema.Array(Schema.Union(Schema.String, Schema.Number)),
  span: opt(Span)
})
export type Violation = typeof Violation.Type

/** A syntax error found while lexing or parsing. */
export const SyntaxDiagnostic = Schema.Struct({
  message: Schema.String,
  span: Span,
  /** The offending source line with a caret underline, ready to print. */
  excerpt: Schema.String
})
export type SyntaxDiagnostic = typeof SyntaxDiagnostic.Type

/** Renders the line of `source` holding `span` with a caret underline. */
export const caretExcerpt = (source: string, span: Span): string => {
  const lines = source.split(/\r\n|\r|\n/)
  const lineText = lines[span.start.line - 1] ?? ""
  const gutter = String(span.start.line)
  const width = span.end.line === span.start.line
    ? Math.max(1, span.end.column - span.start.column)
    : Math.max(1, lineText.length - span.start.column + 1)
  const pad = " ".repeat(gutter.length)
  const indent = lineText.slice(0, span.start.column - 1).replace(/[^\t]/g, " ")
  return `${gutter} | ${lineText}\n${pad} | ${indent}${"^".repeat(width)}`
}
