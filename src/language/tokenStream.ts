/**
 * The parser's primitives: a cursor over the tokens (`peek`, `advance`,
 * `expect`, `expectOptional`, `many`), span construction, the one syntax
 * error factory, the nesting-depth guard and panic-mode synchronization.
 *
 * A syntax error is recorded and then unwinds (as a `SyntaxFailure`, an
 * internal value that never escapes `parse`) to the nearest recovery point:
 * the statement loop of a block, the field loop of a signature, or the
 * declaration loop of the file. There the stream skips to a synchronizing
 * token and parsing continues, so one pass reports several errors.
 */
import { caretExcerpt, type Position, type Span, type SyntaxDiagnostic } from "../ir/diagnostic.js"
import { describeToken, type Token, TokenKind } from "./lexToken.js"

/** Unwinds to the nearest recovery point after an error was recorded. */
export class SyntaxFailure {
  constructor(readonly fatal: boolean) {}
}

/** The most syntax errors one parse reports (graphql-js caps at 100 too). */
const MAX_ERRORS = 100

/** Step keywords: a statement can start with them, and no expression contains them. */
const STEP_KEYWORDS: ReadonlySet<string> = new Set([
  "return",
  "tool",
  "llm",
  "run",
  "map",
  "if",
  "choose",
  "race",
  "wait"
])

/** A cursor over the tokens of one source, collecting syntax errors. */
export class TokenStream {
  private index = 0
  private depth = 0
  private readonly heights = new Map<object, number>()
  readonly errors: Array<SyntaxDiagnostic>

  constructor(
    readonly source: string,
    private readonly tokens: ReadonlyArray<Token>,
    readonly maxDepth: number,
    initialErrors: ReadonlyArray<SyntaxDiagnostic>
  ) {
    this.errors = [...initialErrors]
  }

  /** The token `k` positions ahead (0 = current); EOF past the end. */
  peek(k = 0): Token {
    return this.tokens[Math.min(this.index + k, this.tokens.length - 1)] as Token
  }

  /** True when the current token has this kind (and this text, for keywords). */
  at(kind: TokenKind, value?: string): boolean {
    const t = this.peek()
    return t.kind === kind && (value === undefined || t.value === value)
  }

  /** True when the current token is the keyword `word`. */
  atKeyword(word: string): boolean {
    return this.at(TokenKind.Keyword, word)
  }

  /** Consumes and returns the current token. */
  advance(): Token {
    const t = this.peek()
    if (t.kind !== TokenKind.EOF) this.index++
    return t
  }

  /** Consumes a token of this kind (and text), or fails with `Expected …, found …`. */
  expect(kind: TokenKind, value?: string): Token {
    if (this.at(kind, value)) return this.advance()
    return this.fail(value !== undefined ? JSON.stringify(value) : describeKind(kind))
  }

  /** Consumes the keyword `word`, or fails. */
  expectKeyword(word: string): Token {
    return this.expect(TokenKind.Keyword, word)
  }

  /** Consumes a token of this kind (and text) when present. */
  expectOptional(kind: TokenKind, value?: string): Token | undefined {
    return this.at(kind, value) ? this.advance() : undefined
  }

  /**
   * `open item { "," item } close` (or `open close`): parses a delimited,
   * comma-separated list; the opening token must be current.
   */
  many<A>(open: TokenKind, item: () => A, close: TokenKind): ReadonlyArray<A> {
    this.expect(open)
    const items: Array<A> = []
    if (this.expectOptional(close) !== undefined) return items
    do {
      items.push(item())
    } while (this.expectOptional(TokenKind.Comma) !== undefined)
    this.expect(close)
    return items
  }

  /** The span from `start` to the end of the last consumed token. */
  spanFrom(start: Token | Position): Span {
    const startPos = "kind" in start ? start.span.start : start
    const prev = this.index === 0 ? undefined : this.tokens[this.index - 1]
    const end = prev === undefined || prev.span.end.offset < startPos.offset ? startPos : prev.span.end
    return { start: startPos, end }
  }

  /** Records `Expected <what>, found <current token>` and unwinds. */
  fail(expected: string): never {
    const t = this.peek()
    return this.failAt(`Expected ${expected}, found ${describeToken(t)}`, t.span)
  }

  /** Records `Expected <what>, found <current token>` without unwinding. */
  reportExpected(expected: string): void {
    const t = this.peek()
    this.report(`Expected ${expected}, found ${describeToken(t)}`, t.span)
  }

  /** Records an error with this message and span, then unwinds. */
  failAt(message: string, span: Span, fatal = false): never {
    this.report(message, span)
    throw new SyntaxFailure(fatal || this.errors.length >= MAX_ERRORS)
  }

  /** Records an error without unwinding (unwinds, fatally, once the cap is reached). */
  report(message: string, span: Span): void {
    const seen = this.errors.some((e) => e.message === message && e.span.start.offset === span.start.offset)
    if (!seen && this.errors.length < MAX_ERRORS) {
      this.errors.push({ message, span, excerpt: caretExcerpt(this.source, span) })
    }
    if (this.errors.length >= MAX_ERRORS) throw new SyntaxFailure(true)
  }

  /** Runs `f` one nesting level deeper; past `maxDepth` the parse stops with a located error. */
  nested<A>(f: () => A): A {
    if (this.depth >= this.maxDepth) this.tooDeep(this.peek().span)
    this.depth++
    try {
      return f()
    } finally {
      this.depth--
    }
  }

  /** Records the height of a freshly built expression or type; too tall stops the parse. */
  built<A extends { readonly loc: Span }>(node: A, ...children: ReadonlyArray<object | undefined>): A {
    let h = 0
    for (const c of children) if (c !== undefined) h = Math.max(h, this.heights.get(c) ?? 1)
    if (h + 1 > this.maxDepth) this.tooDeep(this.tokens[Math.max(0, this.index - 1)]?.span ?? node.loc)
    if (h > 0) this.heights.set(node, h + 1)
    return node
  }

  private tooDeep(span: Span): never {
    return this.failAt(`Nesting too deep: more than ${this.maxDepth} levels of blocks and expressions`, span, true)
  }

  /** The current token index, for `synchronize`. */
  mark(): number {
    return this.index
  }

  /**
   * Statement-level recovery: skips from the statement that began at
   * `from` to the next statement start (IDENT "=", `return`, a step
   * keyword), the `}` of the current block, a top-level keyword, or EOF.
   * Brackets opened since `from` are tracked so that a `}` closing one of
   * them, or a `return` inside a nested block, does not stop the skip.
   */
  synchronize(from: number): void {
    const errorAt = this.index
    const stack: Array<TokenKind> = []
    const braces: Array<number> = [] // positions in `stack` of the open "{"
    for (let i = from;; i++) {
      const t = this.tokens[i]
      if (t === undefined || t.kind === TokenKind.EOF) {
        this.index = Math.min(i, this.tokens.length - 1)
        return
      }
      if (i >= errorAt && i > from) {
        const noBrace = braces.length === 0
        if (t.kind === TokenKind.RBrace && noBrace) return this.moveTo(i)
        if (t.kind === TokenKind.Keyword && (t.value === "program" || t.value === "signature")) return this.moveTo(i)
        if (noBrace && this.startsStatement(i)) return this.moveTo(i)
      }
      switch (t.kind) {
        case TokenKind.LBrace:
          braces.push(stack.length)
          stack.push(t.kind)
          break
        case TokenKind.LParen:
        case TokenKind.LBracket:
          stack.push(t.kind)
          break
        case TokenKind.RParen:
        case TokenKind.RBracket:
          if (stack[stack.length - 1] === (t.kind === TokenKind.RParen ? TokenKind.LParen : TokenKind.LBracket)) {
            stack.pop()
          }
          break
        case TokenKind.RBrace: {
          const k = braces.pop()
          if (k !== undefined) stack.length = k
          break
        }
        default:
          break
      }
    }
  }

  /** Declaration-level recovery: skips to the next `program` or `signature` (or to one of `also`). */
  synchronizeTo(from: number, also: ReadonlyArray<string> = []): void {
    for (let i = Math.max(from + 1, this.index);; i++) {
      const t = this.tokens[i]
      if (t === undefined || t.kind === TokenKind.EOF) {
        this.index = this.tokens.length - 1
        return
      }
      if (t.kind === TokenKind.Keyword && (t.value === "program" || t.value === "signature")) return this.moveTo(i)
      if ((t.kind === TokenKind.Keyword || t.kind === TokenKind.RBrace) && also.includes(t.value)) return this.moveTo(i)
    }
  }

  /**
   * Header recovery: moves to the next "{" that can open a program body (not
   * after ":", "=" or ",", where it would be a type or a value), unless a
   * `program` or `signature` comes first. True when found.
   */
  skipToBody(): boolean {
    for (let i = this.index;; i++) {
      const t = this.tokens[i]
      if (t === undefined || t.kind === TokenKind.EOF) return false
      if (t.kind === TokenKind.Keyword && (t.value === "program" || t.value === "signature") && i > this.index) {
        return false
      }
      const prev = this.tokens[i - 1]?.kind
      if (
        t.kind === TokenKind.LBrace && prev !== TokenKind.Colon && prev !== TokenKind.Eq && prev !== TokenKind.Comma
      ) {
        this.index = i
        return true
      }
    }
  }

  private moveTo(i: number): void {
    this.index = i
  }

  private startsStatement(i: number): boolean {
    const t = this.tokens[i] as Token
    const prev = this.tokens[i - 1]
    if (prev !== undefined && prev.kind === TokenKind.Dot) return false
    if (t.kind === TokenKind.Keyword) return STEP_KEYWORDS.has(t.value)
    return t.kind === TokenKind.Ident && this.tokens[i + 1]?.kind === TokenKind.Eq
  }
}

/** How a token kind is named in `Expected …`. */
const describeKind = (kind: TokenKind): string => {
  switch (kind) {
    case TokenKind.Ident:
      return "identifier"
    case TokenKind.Number:
      return "number"
    case TokenKind.String:
      return "string"
    case TokenKind.EOF:
      return "end of input"
    default:
      return JSON.stringify(kind)
  }
}
