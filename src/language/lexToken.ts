/**
 * Tokens of the Trellis DSL: their kinds, the keyword table, and how a
 * token is named in a syntax error (`found "}"`, `found identifier "x"`).
 */
import type { Span } from "../ir/diagnostic.js"

/** The kinds of token the lexer produces. */
export const TokenKind = {
  EOF: "<EOF>",
  Ident: "Ident",
  Keyword: "Keyword",
  Number: "Number",
  String: "String",
  Comment: "Comment",
  LParen: "(",
  RParen: ")",
  LBrace: "{",
  RBrace: "}",
  LBracket: "[",
  RBracket: "]",
  Comma: ",",
  Colon: ":",
  Dot: ".",
  Eq: "=",
  EqEq: "==",
  NotEq: "!=",
  Lt: "<",
  LtEq: "<=",
  Gt: ">",
  GtEq: ">=",
  Plus: "+",
  Minus: "-",
  Star: "*",
  Slash: "/",
  Percent: "%"
} as const
/** A token kind. */
export type TokenKind = (typeof TokenKind)[keyof typeof TokenKind]

/** The reserved words of the DSL (SPEC §1). */
export const KEYWORDS = [
  "program",
  "signature",
  "input",
  "output",
  "tool",
  "llm",
  "run",
  "map",
  "in",
  "if",
  "else",
  "choose",
  "race",
  "wait",
  "return",
  "with",
  "true",
  "false",
  "null",
  "and",
  "or",
  "not"
] as const
/** A reserved word. */
export type Keyword = (typeof KEYWORDS)[number]

const KEYWORD_SET: ReadonlySet<string> = new Set(KEYWORDS)

/** True when `word` is a reserved word. */
export const isKeyword = (word: string): word is Keyword => KEYWORD_SET.has(word)

/** True when `text` is IDENT-shaped: `[A-Za-z_][A-Za-z0-9_]*` (keywords included). */
export const isWord = (text: string): boolean => /^[A-Za-z_][A-Za-z0-9_]*$/.test(text)

/** True when `text` can be written as a bare identifier: IDENT-shaped and not a keyword. */
export const isIdentifier = (text: string): boolean => isWord(text) && !isKeyword(text)

/**
 * One token. `value` is the identifier or keyword text, the decoded string
 * contents, or the source text of a number or punctuator.
 */
export interface Token {
  readonly kind: TokenKind
  readonly value: string
  readonly span: Span
}

/** How a token is named in an error message: `"}"`, `identifier "x"`, `end of input`. */
export const describeToken = (token: Token): string => {
  switch (token.kind) {
    case TokenKind.EOF:
      return "end of input"
    case TokenKind.Ident:
      return `identifier ${JSON.stringify(token.value)}`
    case TokenKind.Number:
      return `number ${token.value}`
    case TokenKind.String:
      return `string ${JSON.stringify(token.value.length > 24 ? token.value.slice(0, 24) + "…" : token.value)}`
    case TokenKind.Comment:
      return "comment"
    default:
      return JSON.stringify(token.value)
  }
}
