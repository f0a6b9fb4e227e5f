/**
 * Printing of expressions, literals and types as DSL text, with the fewest
 * parentheses the precedence table allows (binary operators are
 * left-associative). Two forms keep parentheses on purpose so that they
 * lower back to the same IR: `-(5)` (a unary minus on a literal, not the
 * literal -5) and `x[("k")]` (an index by a string, not the field `k`).
 */
import type { Expr, Scalar, Type } from "../ir/schema.js"
import { isIdentifier, isWord } from "./lexToken.js"
import { Precedence } from "./parseExpression.js"

/** A number in JS shortest form, which the lexer reads back to the same value (`-0` included). */
export const printNumber = (n: number): string => (Object.is(n, -0) ? "-0" : String(n))

/** A string literal, JSON-escaped. */
export const printString = (s: string): string => JSON.stringify(s)

/** A scalar literal. */
export const printScalar = (value: Scalar): string => {
  if (value === null) return "null"
  switch (typeof value) {
    case "string":
      return printString(value)
    case "number":
      return printNumber(value)
    default:
      return value ? "true" : "false"
  }
}

/** A record key or label: bare when it is an identifier, else quoted. */
export const printKey = (key: string): string => (isIdentifier(key) ? key : printString(key))

const isNegative = (value: Scalar): boolean => typeof value === "number" && (value < 0 || Object.is(value, -0))

/** How tightly an expression binds when printed. */
const precedenceOf = (e: Expr): number => {
  switch (e.kind) {
    case "lit":
      return isNegative(e.value) ? Precedence.unary : Precedence.primary
    case "ref":
    case "list":
    case "record":
    case "call":
      return Precedence.primary
    case "get":
    case "index":
    case "slice":
      return Precedence.postfix
    case "unary":
      return e.op === "not" ? Precedence.not : Precedence.unary
    case "binary":
      return Precedence[e.op]
  }
}

/** Prints `e`, parenthesized when it binds more loosely than `min`. */
export const printExpr = (e: Expr, min = 0): string => {
  const text = printBare(e)
  return precedenceOf(e) < min ? `(${text})` : text
}

const printBare = (e: Expr): string => {
  switch (e.kind) {
    case "lit":
      return printScalar(e.value)
    case "ref":
      return e.name
    case "get":
      return `${printExpr(e.target, Precedence.postfix)}${
        isWord(e.field) ? "." + e.field : `[${printString(e.field)}]`
      }`
    case "index": {
      const index = e.index.kind === "lit" && typeof e.index.value === "string"
        ? `(${printString(e.index.value)})`
        : printExpr(e.index)
      return `${printExpr(e.target, Precedence.postfix)}[${index}]`
    }
    case "slice": {
      const start = e.start === null ? "" : printExpr(e.start)
      const end = e.end === null ? "" : printExpr(e.end)
      return `${printExpr(e.target, Precedence.postfix)}[${start}:${end}]`
    }
    case "unary":
      if (e.op === "not") return `not ${printExpr(e.arg, Precedence.not)}`
      if (e.arg.kind === "lit" && typeof e.arg.value === "number" && !isNegative(e.arg.value)) {
        return `-(${printNumber(e.arg.value)})`
      }
      return `-${printExpr(e.arg, Precedence.unary)}`
    case "binary": {
      const p = Precedence[e.op]
      return `${printExpr(e.left, p)} ${e.op} ${printExpr(e.right, p + 1)}`
    }
    case "list":
      return `[${e.items.map((i) => printExpr(i)).join(", ")}]`
    case "record":
      return e.entries.length === 0
        ? "{}"
        : `{ ${e.entries.map((entry) => `${printKey(entry.key)}: ${printExpr(entry.value)}`).join(", ")} }`
    case "call":
      return `${e.fn}(${e.args.map((a) => printExpr(a)).join(", ")})`
  }
}

/** Prints a type annotation. */
export const printType = (t: Type): string => {
  switch (t.kind) {
    case "list":
      return `${printType(t.of)}[]`
    case "record":
      return t.fields.length === 0
        ? "{}"
        : `{ ${t.fields.map((f) => `${printKey(f.name)}: ${printType(f.type)}`).join(", ")} }`
    default:
      return t.kind
  }
}
