/**
 * The JSON codec of the IR: decode an unknown value or JSON text into a
 * `Program` (strictly: unknown fields are errors), and encode a `Program`
 * back to JSON text.
 */
import { Either, ParseResult, Schema } from "effect"
import { pathToPointer, Span } from "./diagnostic.js"
import type { Path, Position } from "./diagnostic.js"
import { IR_VERSION, Program } from "./schema.js"
import { upgradeProgramDocument } from "./versions.js"

/** One problem found while decoding: where in the document, and what. */
export const IrIssue = Schema.Struct({
  path: Schema.Array(Schema.Union(Schema.String, Schema.Number)),
  message: Schema.String,
  /** Where in the JSON text, for syntax errors. */
  span: Schema.optionalWith(Span, { exact: true })
})
export type IrIssue = typeof IrIssue.Type

/** A value or JSON text that is not a valid `trellis/1` program. */
export class IrDecodeError extends Schema.TaggedError<IrDecodeError>()("IrDecodeError", {
  issues: Schema.Array(IrIssue)
}) {
  /** All issues, one per line: `/programs/main/nodes/0/kind: Expected …`. */
  override get message(): string {
    return this.issues
      .map((i) => {
        const at = i.span === undefined ? pathToPointer(i.path) : `${i.span.start.line}:${i.span.start.column}`
        return at === "" ? i.message : `${at}: ${i.message}`
      })
      .join("\n")
  }
}

const decode = Schema.decodeUnknownEither(Program, { onExcessProperty: "error", errors: "all" })

const toPath = (path: ReadonlyArray<PropertyKey>): Path =>
  path.map((k) => (typeof k === "number" ? k : typeof k === "symbol" ? String(k) : k))

/** A version check that runs first, so an old or future document gets one clear message. */
const versionIssue = (u: unknown): IrIssue | undefined => {
  if (typeof u !== "object" || u === null || Array.isArray(u) || !("ir" in u)) return undefined
  const ir = (u as { readonly ir: unknown }).ir
  if (ir === IR_VERSION) return undefined
  const found = typeof ir === "string" ? JSON.stringify(ir) : `a ${ir === null ? "null" : typeof ir}`
  return { path: ["ir"], message: `Unsupported IR version ${found}: this build reads ${JSON.stringify(IR_VERSION)}` }
}

/**
 * Finds own `__proto__` keys (JSON.parse creates them as plain keys; the
 * Schema's record decoding would silently drop them). Iterative.
 */
const protoKeyIssues = (u: unknown): ReadonlyArray<IrIssue> => {
  const out: Array<IrIssue> = []
  const stack: Array<readonly [unknown, Path]> = [[u, []]]
  while (stack.length > 0) {
    const [v, path] = stack.pop()!
    if (typeof v !== "object" || v === null) continue
    if (Array.isArray(v)) {
      v.forEach((x, i) => stack.push([x, [...path, i]]))
      continue
    }
    if (Object.prototype.hasOwnProperty.call(v, "__proto__")) {
      out.push({ path: [...path, "__proto__"], message: "The key \"__proto__\" is not allowed" })
    }
    for (const [k, x] of Object.entries(v)) stack.push([x, [...path, k]])
  }
  return out
}

const EXPECTED = /^Expected (.*), actual (.*)$/s

/** Issues reported at most (graphql-js caps its errors the same way); one more line says how many were left out. */
export const MAX_ISSUES = 100

/**
 * Formats a parse error as issues; the alternatives of a union that fail at
 * the same path are merged into one issue (`Expected string | null, actual 3`).
 */
const formatIssues = (error: ParseResult.ParseError): ReadonlyArray<IrIssue> => {
  const out: Array<{ path: Path; message: string; expected?: Array<string>; actual?: string }> = []
  for (const issue of ParseResult.ArrayFormatter.formatErrorSync(error)) {
    const path = toPath(issue.path)
    const unexpected = /^is unexpected, expected: (.*)$/.exec(issue.message)
    if (unexpected !== null) {
      const key = path[path.length - 1]
      out.push({ path, message: `Unknown field ${JSON.stringify(String(key))}; expected one of ${unexpected[1]!}` })
      continue
    }
    const m = EXPECTED.exec(issue.message)
    const last = out[out.length - 1]
    if (
      m !== null &&
      last?.expected !== undefined &&
      last.actual === m[2] &&
      pathToPointer(last.path) === pathToPointer(path)
    ) {
      last.expected.push(m[1]!)
      last.message = `Expected ${last.expected.join(" | ")}, actual ${m[2]!}`
      continue
    }
    out.push(
      m === null ? { path, message: issue.message } : { path, message: issue.message, expected: [m[1]!], actual: m[2]! }
    )
  }
  const issues = out.map(({ path, message }) => ({ path, message }))
  if (issues.length <= MAX_ISSUES) return issues
  return [...issues.slice(0, MAX_ISSUES), { path: [], message: `… and ${issues.length - MAX_ISSUES} more issues` }]
}

/** Decodes an unknown value (e.g. parsed JSON) into a Program; unknown fields are errors. */
export const decodeProgram = (input: unknown): Either.Either<Program, IrDecodeError> => {
  // An older document is brought to trellis/1 first (ir/versions.ts); a newer or unknown one is refused below.
  const u = upgradeProgramDocument(input).document
  const version = versionIssue(u)
  if (version !== undefined) return Either.left(new IrDecodeError({ issues: [version] }))
  const proto = protoKeyIssues(u)
  if (proto.length > 0) return Either.left(new IrDecodeError({ issues: proto }))
  return Either.mapLeft(decode(u), (error) => new IrDecodeError({ issues: formatIssues(error) }))
}

/** Parses JSON text and decodes it into a Program; a JSON syntax error reports its line and column. */
export const parseProgramJson = (text: string): Either.Either<Program, IrDecodeError> => {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    const error = jsonSyntaxError(text) ?? { offset: 0, message: "Invalid JSON" }
    const start = positionAt(text, error.offset)
    const end = positionAt(text, Math.min(text.length, error.offset + 1))
    return Either.left(new IrDecodeError({ issues: [{ path: [], message: error.message, span: { start, end } }] }))
  }
  return decodeProgram(value)
}

/** Options of `encodeProgram`. */
export interface EncodeOptions {
  /** Indent with two spaces and break lines. @default false */
  readonly pretty?: boolean
}

/** Encodes a Program as JSON text (fields in document order; compact unless `pretty`). */
export const encodeProgram = (program: Program, options: EncodeOptions = {}): string =>
  options.pretty === true ? JSON.stringify(program, null, 2) : JSON.stringify(program)

// ---------------------------------------------------------------------------
// Locating JSON syntax errors (JSON.parse messages differ between engines
// and often omit the position, so the text is scanned again on failure).
// ---------------------------------------------------------------------------

/** The 1-based line and column of a code-unit offset. */
const positionAt = (text: string, offset: number): Position => {
  let line = 1
  let lineStart = 0
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++
      lineStart = i + 1
    }
  }
  return { line, column: offset - lineStart + 1, offset }
}

/** The first syntax error of a JSON text (RFC 8259), or undefined when the text is valid JSON. */
export const jsonSyntaxError = (text: string): { readonly offset: number; readonly message: string } | undefined => {
  let i = 0
  const isDigit = (c: string | undefined): boolean => c !== undefined && c >= "0" && c <= "9"
  const ws = (): void => {
    while (i < text.length && (text[i] === " " || text[i] === "\t" || text[i] === "\n" || text[i] === "\r")) i++
  }
  // Each reader advances `i` and returns undefined, or what it expected at `i`.
  const digits = (): string | undefined => {
    if (!isDigit(text[i])) return "a digit"
    while (isDigit(text[i])) i++
    return undefined
  }
  const string = (): string | undefined => {
    i++ // the opening quote
    for (;;) {
      if (i >= text.length) return "'\"' to close the string"
      const c = text.charCodeAt(i)
      if (c === 34) {
        i++
        return undefined
      }
      if (c < 32) return "an escaped control character"
      if (c !== 92) {
        i++
        continue
      }
      i++
      const e = text[i]
      if (e === "u") {
        i++
        for (let k = 0; k < 4; k++, i++) if (!/^[0-9a-fA-F]$/.test(text[i] ?? "")) return "a hex digit"
      } else if (e !== undefined && "\"\\/bfnrt".includes(e)) i++
      else return "an escape character"
    }
  }
  const number = (): string | undefined => {
    if (text[i] === "-") i++
    if (text[i] === "0") i++
    else {
      const d = digits()
      if (d !== undefined) return d
    }
    if (text[i] === ".") {
      i++
      const d = digits()
      if (d !== undefined) return d
    }
    if (text[i] === "e" || text[i] === "E") {
      i++
      if (text[i] === "+" || text[i] === "-") i++
      return digits()
    }
    return undefined
  }
  const key = (): string | undefined => {
    ws()
    if (text[i] !== "\"") return "a string key"
    const s = string()
    if (s !== undefined) return s
    ws()
    if (text[i] !== ":") return "':'"
    i++
    return undefined
  }
  /** Reads one value; containers are only opened (their elements are read by the loop below). */
  const open = (): string | undefined => {
    ws()
    const c = text[i]
    if (c === "{" || c === "[") {
      i++
      ws()
      if (text[i] === (c === "{" ? "}" : "]")) {
        i++
        return undefined
      }
      stack.push(c)
      return c === "{" ? key() : undefined
    }
    if (c === "\"") return string()
    if (c === "-" || isDigit(c)) return number()
    for (const word of ["true", "false", "null"]) {
      if (text.startsWith(word, i)) {
        i += word.length
        return undefined
      }
    }
    return "a JSON value"
  }
  // An explicit stack of open containers, so deep nesting cannot overflow the call stack.
  const stack: Array<"[" | "{"> = []
  const error = (expected: string) => ({
    offset: i,
    message: `Invalid JSON: expected ${expected}, found ${i >= text.length ? "end of input" : JSON.stringify(text[i])}`
  })
  let expectValue = true
  for (;;) {
    if (expectValue) {
      const depth = stack.length
      const e = open()
      if (e !== undefined) return error(e)
      // A container that stays open expects its first element next.
      expectValue = stack.length > depth
      continue
    }
    const top = stack[stack.length - 1]
    if (top === undefined) break
    ws()
    const close = top === "{" ? "}" : "]"
    if (text[i] === ",") {
      i++
      if (top === "{") {
        const e = key()
        if (e !== undefined) return error(e)
      }
      expectValue = true
    } else if (text[i] === close) {
      stack.pop()
      i++
    } else return error(`',' or '${close}'`)
  }
  ws()
  return i < text.length ? error("end of input") : undefined
}
