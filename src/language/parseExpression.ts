/**
 * Expressions: a Pratt parser over the token stream. Binding, loosest to
 * tightest: `or` < `and` < `not` (prefix) < `==` `!=` < `<` `<=` `>` `>=`
 * < `+` `-` < `*` `/` `%` < `-` (prefix) < postfix `.f`, `[i]`, `[a:b]`.
 * Binary operators are left-associative.
 */
import type { BinaryOperator, ExprNode, NameNode, RecordEntryNode, RecordExprNode, StringLiteralNode } from "./ast.js"
import { type Token, TokenKind } from "./lexToken.js"
import type { TokenStream } from "./tokenStream.js"

/** Binding power of each binary operator, and of the prefix and postfix levels. */
export const Precedence = {
  or: 1,
  and: 2,
  not: 3,
  "==": 4,
  "!=": 4,
  "<": 5,
  "<=": 5,
  ">": 5,
  ">=": 5,
  "+": 6,
  "-": 6,
  "*": 7,
  "/": 7,
  "%": 7,
  unary: 8,
  postfix: 9,
  primary: 10
} as const

const binaryOperator = (t: Token): BinaryOperator | undefined => {
  switch (t.kind) {
    case TokenKind.Keyword:
      return t.value === "or" || t.value === "and" ? t.value : undefined
    case TokenKind.EqEq:
    case TokenKind.NotEq:
    case TokenKind.Lt:
    case TokenKind.LtEq:
    case TokenKind.Gt:
    case TokenKind.GtEq:
    case TokenKind.Plus:
    case TokenKind.Minus:
    case TokenKind.Star:
    case TokenKind.Slash:
    case TokenKind.Percent:
      return t.kind
    default:
      return undefined
  }
}

/** True when `t` can begin an expression. */
export const startsExpression = (t: Token): boolean => {
  switch (t.kind) {
    case TokenKind.Number:
    case TokenKind.String:
    case TokenKind.Ident:
    case TokenKind.LParen:
    case TokenKind.LBracket:
    case TokenKind.LBrace:
    case TokenKind.Minus:
      return true
    case TokenKind.Keyword:
      return t.value === "true" || t.value === "false" || t.value === "null" || t.value === "not"
    default:
      return false
  }
}

/** expr = Pratt expression whose operators bind at least as tightly as `minPrecedence`. */
export const parseExpression = (s: TokenStream, minPrecedence = 0): ExprNode =>
  s.nested(() => {
    const start = s.peek()
    let left = parsePrefix(s)
    for (;;) {
      const t = s.peek()
      if (t.kind === TokenKind.Dot || t.kind === TokenKind.LBracket) {
        left = parsePostfix(s, left, start)
        continue
      }
      const op = binaryOperator(t)
      if (op === undefined || Precedence[op] < minPrecedence) return left
      s.advance()
      const right = parseExpression(s, Precedence[op] + 1)
      left = s.built({ kind: "BinaryExpr", op, left, right, loc: s.spanFrom(start) }, left, right)
    }
  })

/** prefix = "not" expr(not) | "-" expr(unary) | postfixExpr */
const parsePrefix = (s: TokenStream): ExprNode => {
  const start = s.peek()
  if (s.atKeyword("not") || s.at(TokenKind.Minus)) {
    s.advance()
    const op = start.kind === TokenKind.Minus ? "-" : "not"
    const operand = parseExpression(s, op === "-" ? Precedence.unary : Precedence.not)
    return s.built({ kind: "UnaryExpr", op, operand, loc: s.spanFrom(start) }, operand)
  }
  return parsePrimary(s)
}

/** postfix = "." WORD | "[" expr "]" | "[" [expr] ":" [expr] "]" */
const parsePostfix = (s: TokenStream, target: ExprNode, start: Token): ExprNode => {
  if (s.expectOptional(TokenKind.Dot) !== undefined) {
    const field = parseWord(s, "field name")
    return s.built({ kind: "MemberExpr", target, field, loc: s.spanFrom(start) }, target)
  }
  s.expect(TokenKind.LBracket)
  const first = s.at(TokenKind.Colon) ? undefined : parseExpression(s)
  if (s.expectOptional(TokenKind.Colon) !== undefined) {
    const end = s.at(TokenKind.RBracket) ? undefined : parseExpression(s)
    s.expect(TokenKind.RBracket)
    return s.built({ kind: "SliceExpr", target, start: first, end, loc: s.spanFrom(start) }, target, first, end)
  }
  s.expect(TokenKind.RBracket)
  const index = first as ExprNode
  return s.built({ kind: "IndexExpr", target, index, loc: s.spanFrom(start) }, target, index)
}

/**
 * primary = NUMBER | STRING | "true" | "false" | "null" | IDENT
 *         | IDENT "(" [ expr { "," expr } ] ")" | "[" [ expr { "," expr } ] "]"
 *         | record | "(" expr ")"
 */
const parsePrimary = (s: TokenStream): ExprNode => {
  const t = s.peek()
  switch (t.kind) {
    case TokenKind.Number:
      s.advance()
      return s.built({ kind: "NumberLiteral", value: Number(t.value), loc: t.span })
    case TokenKind.String:
      s.advance()
      return s.built({ kind: "StringLiteral", value: t.value, loc: t.span })
    case TokenKind.Ident: {
      s.advance()
      if (!s.at(TokenKind.LParen)) return s.built({ kind: "Identifier", name: t.value, loc: t.span })
      const callee: NameNode = { kind: "Name", value: t.value, loc: t.span }
      const args = s.many(TokenKind.LParen, () => parseExpression(s), TokenKind.RParen)
      return s.built({ kind: "CallExpr", callee, args, loc: s.spanFrom(t) }, ...args)
    }
    case TokenKind.LBracket: {
      const items = s.many(TokenKind.LBracket, () => parseExpression(s), TokenKind.RBracket)
      return s.built({ kind: "ListExpr", items, loc: s.spanFrom(t) }, ...items)
    }
    case TokenKind.LBrace:
      return parseRecord(s)
    case TokenKind.LParen: {
      s.advance()
      const expr = parseExpression(s)
      s.expect(TokenKind.RParen)
      return s.built({ kind: "ParenExpr", expr, loc: s.spanFrom(t) }, expr)
    }
    case TokenKind.Keyword:
      if (t.value === "true" || t.value === "false") {
        s.advance()
        return s.built({ kind: "BooleanLiteral", value: t.value === "true", loc: t.span })
      }
      if (t.value === "null") {
        s.advance()
        return s.built({ kind: "NullLiteral", loc: t.span })
      }
      return s.fail("expression")
    default:
      return s.fail("expression")
  }
}

/** record = "{" [ (IDENT|STRING) ":" expr { "," (IDENT|STRING) ":" expr } ] "}" */
export const parseRecord = (s: TokenStream): RecordExprNode =>
  s.nested(() => {
    const start = s.peek()
    const entries = s.many(TokenKind.LBrace, () => parseRecordEntry(s), TokenKind.RBrace)
    return s.built({ kind: "RecordExpr", entries, loc: s.spanFrom(start) }, ...entries.map((e) => e.value))
  })

/** entry = (IDENT|STRING) ":" expr */
const parseRecordEntry = (s: TokenStream): RecordEntryNode => {
  const start = s.peek()
  const key = parseKey(s, "record key")
  s.expect(TokenKind.Colon)
  const value = parseExpression(s)
  return { kind: "RecordEntry", key, value, loc: s.spanFrom(start) }
}

/** key = IDENT | STRING (a keyword must be quoted) */
export const parseKey = (s: TokenStream, what: string): NameNode | StringLiteralNode => {
  const t = s.peek()
  if (t.kind === TokenKind.String) {
    s.advance()
    return { kind: "StringLiteral", value: t.value, loc: t.span }
  }
  if (t.kind === TokenKind.Ident) {
    s.advance()
    return { kind: "Name", value: t.value, loc: t.span }
  }
  return s.fail(what)
}

/** WORD = any IDENT-shaped token, keywords included (field names after "."). */
export const parseWord = (s: TokenStream, what: string): NameNode => {
  const t = s.peek()
  if (t.kind === TokenKind.Ident || t.kind === TokenKind.Keyword) {
    s.advance()
    return { kind: "Name", value: t.value, loc: t.span }
  }
  return s.fail(what)
}

/** IDENT (not a keyword) */
export const parseName = (s: TokenStream, what = "identifier"): NameNode => {
  const t = s.peek()
  if (t.kind === TokenKind.Ident) {
    s.advance()
    return { kind: "Name", value: t.value, loc: t.span }
  }
  return s.fail(what)
}
