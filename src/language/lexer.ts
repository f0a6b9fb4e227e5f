/**
 * The lexer: source text → tokens with spans. Lexical errors (a stray
 * character, an unterminated string, a bad escape or number) are collected
 * as diagnostics, never thrown; the lexer always reaches the end of input.
 */
import { caretExcerpt, type Position, type Span, type SyntaxDiagnostic } from "../ir/diagnostic.js"
import { isKeyword, type Token, TokenKind } from "./lexToken.js"

/** What `lex` produced. */
export interface LexResult {
  /** The tokens (without comments), ending with one EOF token; empty when `count` exceeds `maxTokens`. */
  readonly tokens: ReadonlyArray<Token>
  /** The comments, in source order. */
  readonly comments: ReadonlyArray<Token>
  /** Lexical errors, in source order (at most `maxErrors`). */
  readonly errors: ReadonlyArray<SyntaxDiagnostic>
  /** How many tokens the source holds (without comments and EOF). */
  readonly count: number
}

/** Options of `lex`. */
export interface LexOptions {
  /** Stop keeping tokens beyond this many (they are still counted). @default Infinity */
  readonly maxTokens?: number
  /** Stop recording errors beyond this many. @default 100 */
  readonly maxErrors?: number
}

/** Single-character punctuators by char code; `=`, `!`, `<`, `>` may pair with a following `=`. */
const SINGLE: { readonly [code: number]: TokenKind } = {
  40: TokenKind.LParen,
  41: TokenKind.RParen,
  123: TokenKind.LBrace,
  125: TokenKind.RBrace,
  91: TokenKind.LBracket,
  93: TokenKind.RBracket,
  44: TokenKind.Comma,
  58: TokenKind.Colon,
  46: TokenKind.Dot,
  61: TokenKind.Eq,
  60: TokenKind.Lt,
  62: TokenKind.Gt,
  43: TokenKind.Plus,
  45: TokenKind.Minus,
  42: TokenKind.Star,
  47: TokenKind.Slash,
  37: TokenKind.Percent
}
const DOUBLE: { readonly [code: number]: TokenKind } = {
  61: TokenKind.EqEq,
  33: TokenKind.NotEq,
  60: TokenKind.LtEq,
  62: TokenKind.GtEq
}

const ESCAPES: { readonly [c: string]: string } = {
  "\"": "\"",
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t"
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57
const isWordStart = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95
const isWordPart = (c: number): boolean => isWordStart(c) || isDigit(c)
const isHex = (c: number): boolean => isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102)

/** Splits `source` into tokens; see `LexResult`. */
export const lex = (source: string, options: LexOptions = {}): LexResult => new Lexer(source, options).run()

class Lexer {
  private pos = 0
  private line = 1
  private lineStart = 0
  private readonly tokens: Array<Token> = []
  private readonly comments: Array<Token> = []
  private readonly errors: Array<SyntaxDiagnostic> = []
  private count = 0
  private readonly maxTokens: number
  private readonly maxErrors: number

  constructor(
    private readonly source: string,
    options: LexOptions
  ) {
    this.maxTokens = options.maxTokens ?? Infinity
    this.maxErrors = options.maxErrors ?? 100
  }

  run(): LexResult {
    const src = this.source
    while (this.pos < src.length) {
      const c = src.charCodeAt(this.pos)
      if (c === 10 || c === 13) {
        this.newline(c)
      } else if (c === 32 || c === 9 || c === 11 || c === 12 || c === 0xfeff) {
        this.pos++
      } else if (c === 35) {
        this.comment()
      } else if (isWordStart(c)) {
        this.word()
      } else if (isDigit(c)) {
        this.number()
      } else if (c === 34) {
        this.string()
      } else {
        this.punctuator()
      }
    }
    const end = this.position()
    const eof: Token = { kind: TokenKind.EOF, value: "", span: { start: end, end } }
    const overflow = this.count > this.maxTokens
    return {
      tokens: overflow ? [] : [...this.tokens, eof],
      comments: this.comments,
      errors: this.errors,
      count: this.count
    }
  }

  private position(at: number = this.pos): Position {
    return { line: this.line, column: at - this.lineStart + 1, offset: at }
  }

  private newline(c: number): void {
    this.pos += c === 13 && this.source.charCodeAt(this.pos + 1) === 10 ? 2 : 1
    this.line++
    this.lineStart = this.pos
  }

  private push(kind: TokenKind, value: string, start: Position): void {
    this.count++
    if (this.count <= this.maxTokens) this.tokens.push({ kind, value, span: { start, end: this.position() } })
  }

  private error(message: string, span: Span): void {
    if (this.errors.length < this.maxErrors) {
      this.errors.push({ message, span, excerpt: caretExcerpt(this.source, span) })
    }
  }

  private comment(): void {
    const start = this.position()
    const src = this.source
    let end = this.pos
    while (end < src.length && src.charCodeAt(end) !== 10 && src.charCodeAt(end) !== 13) end++
    const text = src.slice(this.pos + 1, end)
    this.pos = end
    this.comments.push({ kind: TokenKind.Comment, value: text, span: { start, end: this.position() } })
  }

  private word(): void {
    const start = this.position()
    const src = this.source
    let end = this.pos + 1
    while (end < src.length && isWordPart(src.charCodeAt(end))) end++
    const text = src.slice(this.pos, end)
    this.pos = end
    this.push(isKeyword(text) ? TokenKind.Keyword : TokenKind.Ident, text, start)
  }

  /** NUMBER = digit+ ( "." digit+ )? ( ("e"|"E") ("+"|"-")? digit+ )? */
  private number(): void {
    const start = this.position()
    const src = this.source
    let end = this.pos
    while (end < src.length && isDigit(src.charCodeAt(end))) end++
    if (src.charCodeAt(end) === 46 && isDigit(src.charCodeAt(end + 1))) {
      end++
      while (end < src.length && isDigit(src.charCodeAt(end))) end++
    }
    let bad = false
    const e = src.charCodeAt(end)
    if (e === 101 || e === 69) {
      let k = end + 1
      const sign = src.charCodeAt(k)
      if (sign === 43 || sign === 45) k++
      if (isDigit(src.charCodeAt(k))) {
        while (k < src.length && isDigit(src.charCodeAt(k))) k++
      } else {
        bad = true
        while (k < src.length && isWordPart(src.charCodeAt(k))) k++
      }
      end = k
    }
    const text = src.slice(this.pos, end)
    this.pos = end
    const span = { start, end: this.position() }
    if (bad) {
      this.error(`Invalid number ${JSON.stringify(text)}`, span)
      this.push(TokenKind.Number, "0", start)
    } else if (!Number.isFinite(Number(text))) {
      this.error(`Number out of range: ${text}`, span)
      this.push(TokenKind.Number, "0", start)
    } else {
      this.push(TokenKind.Number, text, start)
    }
  }

  /** STRING = '"' ( char | escape )* '"' with JSON escapes; no raw line breaks. */
  private string(): void {
    const start = this.position()
    const src = this.source
    let out = ""
    let i = this.pos + 1
    let chunk = i
    for (;;) {
      if (i >= src.length || src.charCodeAt(i) === 10 || src.charCodeAt(i) === 13) {
        out += src.slice(chunk, i)
        this.pos = i
        this.error("Unterminated string", { start, end: this.position() })
        this.push(TokenKind.String, out, start)
        return
      }
      const c = src.charCodeAt(i)
      if (c === 34) {
        out += src.slice(chunk, i)
        this.pos = i + 1
        this.push(TokenKind.String, out, start)
        return
      }
      if (c !== 92) {
        i++
        continue
      }
      out += src.slice(chunk, i)
      const next = src[i + 1]
      const simple = next === undefined ? undefined : ESCAPES[next]
      if (simple !== undefined) {
        out += simple
        i += 2
      } else if (next === "u") {
        let k = i + 2
        while (k < i + 6 && k < src.length && isHex(src.charCodeAt(k))) k++
        if (k === i + 6) {
          out += String.fromCharCode(parseInt(src.slice(i + 2, k), 16))
        } else {
          this.error(`Invalid Unicode escape sequence "${src.slice(i, k)}"`, this.span(i, k))
        }
        i = k
      } else if (next === undefined || next === "\n" || next === "\r") {
        this.error("Invalid escape sequence \"\\\"", this.span(i, i + 1))
        i += 1
      } else {
        const ch = String.fromCodePoint(src.codePointAt(i + 1) ?? 0)
        this.error(`Invalid escape sequence "\\${ch}"`, this.span(i, i + 1 + ch.length))
        i += 1 + ch.length
      }
      chunk = i
    }
  }

  private span(from: number, to: number): Span {
    return { start: this.position(from), end: this.position(Math.min(to, this.source.length)) }
  }

  private punctuator(): void {
    const start = this.position()
    const src = this.source
    const c = src.charCodeAt(this.pos)
    const double = src.charCodeAt(this.pos + 1) === 61 ? DOUBLE[c] : undefined
    if (double !== undefined) {
      this.pos += 2
      this.push(double, double, start)
      return
    }
    const single = SINGLE[c]
    if (single !== undefined) {
      this.pos += 1
      this.push(single, single, start)
      return
    }
    const cp = src.codePointAt(this.pos) ?? 0
    const ch = String.fromCodePoint(cp)
    this.pos += ch.length
    const shown = cp < 32 || cp === 127 ? `U+${cp.toString(16).toUpperCase().padStart(4, "0")}` : JSON.stringify(ch)
    this.error(`Unexpected character ${shown}`, { start, end: this.position() })
  }
}
