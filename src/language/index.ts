/**
 * The Trellis DSL: `parse` (text → syntax tree), `lower` (syntax tree → IR
 * with a source map), `compileSource` (both), `print` (IR → text), and
 * `format` (text → canonical text, comments kept: `trellis fmt`).
 */
import type { SourceMap, SyntaxDiagnostic, Violation } from "../ir/diagnostic.js"
import type { Program } from "../ir/schema.js"
import { attachComments } from "./comments.js"
import { lower } from "./lower.js"
import { parse, type ParseOptions } from "./parser.js"
import { print } from "./printer.js"

// The syntax tree, the lexer, the parser, lowering and the printer (each documented where defined).
export type * from "./ast.js"
export { AstKind, CHILD_KEYS, visit } from "./ast.js"
export { attachComments, type CommentMap, type CommentSlot, EMPTY_SLOT, type PrintedComment } from "./comments.js"
export { lex, type LexOptions, type LexResult } from "./lexer.js"
export { isIdentifier, isKeyword, KEYWORDS, type Token, TokenKind } from "./lexToken.js"
export { lower, type LowerResult } from "./lower.js"
export { DEFAULT_MAX_DEPTH, DEFAULT_MAX_TOKENS, parse, type ParseOptions, type ParseResult } from "./parser.js"
export { isSyntheticId, print, type PrintOptions } from "./printer.js"

/** What `compileSource` produced: the IR when the text parsed, with every diagnostic. */
export interface CompileSourceResult {
  readonly program: Program | undefined
  readonly sourceMap: SourceMap
  readonly syntaxErrors: ReadonlyArray<SyntaxDiagnostic>
  readonly violations: ReadonlyArray<Violation>
}

/** Parses and lowers DSL text; never throws. `program` is undefined when there are syntax errors. */
export const compileSource = (source: string, options: ParseOptions = {}): CompileSourceResult => {
  const parsed = parse(source, options)
  if (parsed.file === undefined) {
    return { program: undefined, sourceMap: new Map(), syntaxErrors: parsed.errors, violations: [] }
  }
  const lowered = lower(parsed.file)
  return { program: lowered.program, sourceMap: lowered.sourceMap, syntaxErrors: [], violations: lowered.violations }
}

/** What `format` produced: the canonical text when the source parsed, else the syntax errors. */
export interface FormatResult {
  readonly text: string | undefined
  readonly errors: ReadonlyArray<SyntaxDiagnostic>
}

/**
 * Formats DSL text (`trellis fmt`): parse, lower, attach the comments, print. Never throws.
 * The text lowers to the same program as the source, keeps every comment, and formats to itself.
 */
export const format = (source: string, options: ParseOptions = {}): FormatResult => {
  const parsed = parse(source, options)
  if (parsed.file === undefined) return { text: undefined, errors: parsed.errors }
  const lowered = lower(parsed.file)
  return { text: print(lowered.program, { comments: attachComments(parsed.file, lowered.sourceMap) }), errors: [] }
}
