/**
 * The straight line of SPEC §2 in one short function: read a program (DSL
 * text or JSON IR), validate it, normalize it, hash it — returning every
 * diagnostic found instead of throwing. Faces (CLI, server) and library
 * users call this; it is pure.
 */
import { Either } from "effect"
import { caretExcerpt, type Path, type SourceMap, type Span, spanOf } from "./ir/diagnostic.js"
import { parseProgramJson } from "./ir/json.js"
import { jsonSourceMap } from "./ir/jsonSourceMap.js"
import type { Program } from "./ir/schema.js"
import { compileSource } from "./language/index.js"
import { hashNormalized, normalize } from "./normalize/index.js"
import type { ResourceLimits, ToolTable } from "./validate/context.js"
import { validate } from "./validate/index.js"

/** The source formats a program can come in. */
export type SourceFormat = "dsl" | "json"

/** Options of `compile`. */
export interface CompileOptions {
  /** Tools to check tool steps against (V4); unchecked when absent. */
  readonly tools?: ToolTable
  /** Overrides of the static resource limits (V9). */
  readonly limits?: Partial<ResourceLimits>
  /** Refuse DSL input of more tokens than this. @default 5_000_000 */
  readonly maxTokens?: number
  /** Force a format; by default JSON when the text starts with `{`, else DSL. */
  readonly format?: SourceFormat
}

/** One problem found in a program, from any phase, with its location when known. */
export interface Diagnostic {
  /** `syntax`, `bad-ir`, or a violation code such as `unbound-ref`. */
  readonly code: string
  readonly message: string
  readonly path?: Path
  readonly span?: Span
  /** The source line with a caret underline, when the span is known. */
  readonly excerpt?: string
}

/** What `compile` found. `program` is set when the text could be read at all. */
export interface Compiled {
  readonly format: SourceFormat
  readonly program: Program | undefined
  readonly sourceMap: SourceMap
  readonly diagnostics: ReadonlyArray<Diagnostic>
}

/** What `check` found: a compiled program plus, when it is valid, its normal form and hash. */
export interface Checked extends Compiled {
  readonly normalized: Program | undefined
  readonly hash: string | undefined
}

/** Guesses the format of a program text. */
export const detectFormat = (source: string): SourceFormat => (/^\s*\{/.test(source) ? "json" : "dsl")

const withExcerpt = (source: string, d: Omit<Diagnostic, "excerpt">): Diagnostic =>
  d.span === undefined ? d : { ...d, excerpt: caretExcerpt(source, d.span) }

/** Reads and validates a program; never throws. */
export const compile = (source: string, options: CompileOptions = {}): Compiled => {
  const format = options.format ?? detectFormat(source)
  if (format === "json") {
    const sourceMap = jsonSourceMap(source)
    const decoded = parseProgramJson(source)
    if (Either.isLeft(decoded)) {
      const diagnostics = decoded.left.issues.map((issue) => {
        const span = issue.span ?? spanOf(sourceMap, issue.path)
        return withExcerpt(source, {
          code: "bad-ir",
          message: issue.message,
          path: issue.path,
          ...(span === undefined ? {} : { span })
        })
      })
      return { format, program: undefined, sourceMap, diagnostics }
    }
    const program = decoded.right
    const violations = validate(program, { ...validationContext(options), sourceMap })
    return { format, program, sourceMap, diagnostics: violations.map((v) => withExcerpt(source, v)) }
  }
  const lowered = compileSource(source, options.maxTokens === undefined ? {} : { maxTokens: options.maxTokens })
  const syntax: Array<Diagnostic> = lowered.syntaxErrors.map((e) => ({
    code: "syntax",
    message: e.message,
    span: e.span,
    excerpt: e.excerpt
  }))
  if (lowered.program === undefined || syntax.length > 0) {
    return { format, program: lowered.program, sourceMap: lowered.sourceMap, diagnostics: syntax }
  }
  const violations = [
    ...lowered.violations,
    ...validate(lowered.program, { ...validationContext(options), sourceMap: lowered.sourceMap })
  ]
  return {
    format,
    program: lowered.program,
    sourceMap: lowered.sourceMap,
    diagnostics: violations.map((v) => withExcerpt(source, v))
  }
}

const validationContext = (options: CompileOptions) => ({
  ...(options.tools === undefined ? {} : { tools: options.tools }),
  ...(options.limits === undefined ? {} : { limits: options.limits })
})

/** Compiles, and when there is nothing to report, normalizes and hashes. */
export const check = (source: string, options: CompileOptions = {}): Checked => {
  const compiled = compile(source, options)
  if (compiled.program === undefined || compiled.diagnostics.length > 0) {
    return { ...compiled, normalized: undefined, hash: undefined }
  }
  const normalized = normalize(compiled.program)
  return { ...compiled, normalized, hash: hashNormalized(normalized) }
}
