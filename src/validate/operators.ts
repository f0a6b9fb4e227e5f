/**
 * Typing rules of operators, field access, indexing and slicing, following
 * the expression semantics of the common brief. Each function takes the
 * operand types and returns the result type and, when the operation cannot
 * work on operands whose types are known, the V6 message. Unknown (`any`)
 * operands never produce a message.
 */
import type { BinaryOp, Expr, Type, UnaryOp } from "../ir/schema.js"
import { anyType, booleanType, fieldType, formatType, join, listOf, numberType, stringType } from "./types.js"

/** A result type, with the message of a certain misuse. */
export interface Typed {
  readonly type: Type
  readonly error?: string
  /** The argument the error is about (builtin calls), when it is one argument's fault. */
  readonly arg?: number
}

const ok = (type: Type): Typed => ({ type })
const fail = (type: Type, error: string): Typed => ({ type, error })

const known = (t: Type): boolean => t.kind !== "any"
/** Known and not of the given kinds. */
const knownNot = (t: Type, ...kinds: ReadonlyArray<Type["kind"]>): boolean => known(t) && !kinds.includes(t.kind)

/** The type of `op arg`. */
export const typeOfUnary = (op: UnaryOp, arg: Type): Typed => {
  switch (op) {
    case "not":
      return knownNot(arg, "boolean")
        ? fail(booleanType, `Operator "not" expects a boolean operand, got ${formatType(arg)}`)
        : ok(booleanType)
    case "-":
      return knownNot(arg, "number")
        ? fail(numberType, `Operator "-" expects a number operand, got ${formatType(arg)}`)
        : ok(numberType)
  }
}

const plus = (left: Type, right: Type): Typed => {
  const bad = () =>
    fail(
      anyType,
      `Operator "+" expects two numbers, two strings or two lists, got ${formatType(left)} and ${formatType(right)}`
    )
  if (knownNot(left, "number", "string", "list") || knownNot(right, "number", "string", "list")) return bad()
  if (!known(left) && !known(right)) return ok(anyType)
  if (known(left) && known(right) && left.kind !== right.kind) return bad()
  const sample = known(left) ? left : right
  if (sample.kind === "list") {
    return left.kind === "list" && right.kind === "list" ? ok(listOf(join(left.of, right.of))) : ok(listOf(anyType))
  }
  return ok(sample)
}

/** The type of `left op right`. */
export const typeOfBinary = (op: BinaryOp, left: Type, right: Type): Typed => {
  switch (op) {
    case "+":
      return plus(left, right)
    case "-":
    case "*":
    case "/":
    case "%": {
      const offender = [left, right].find((t) => knownNot(t, "number"))
      return offender === undefined
        ? ok(numberType)
        : fail(numberType, `Operator "${op}" expects number operands, got ${formatType(offender)}`)
    }
    case "<":
    case "<=":
    case ">":
    case ">=": {
      const bad = knownNot(left, "number", "string") ||
        knownNot(right, "number", "string") ||
        (known(left) && known(right) && left.kind !== right.kind)
      return bad
        ? fail(
          booleanType,
          `Operator "${op}" expects two numbers or two strings, got ${formatType(left)} and ${formatType(right)}`
        )
        : ok(booleanType)
    }
    case "==":
    case "!=":
      return ok(booleanType)
    case "and":
    case "or": {
      const offender = [left, right].find((t) => knownNot(t, "boolean"))
      return offender === undefined
        ? ok(booleanType)
        : fail(booleanType, `Operator "${op}" expects boolean operands, got ${formatType(offender)}`)
    }
  }
}

/** The type of `target.field`. */
export const typeOfGet = (target: Type, field: string): Typed => {
  if (target.kind === "record") {
    const t = fieldType(target, field)
    return t === undefined ? fail(anyType, `Record has no field ${JSON.stringify(field)}`) : ok(t)
  }
  return known(target)
    ? fail(anyType, `Cannot read field ${JSON.stringify(field)} of ${formatType(target)}`)
    : ok(anyType)
}

/** The type of `target[index]`; `indexExpr` lets a string literal key act as a field access. */
export const typeOfIndex = (target: Type, index: Type, indexExpr: Expr): Typed => {
  const expects = (what: string, want: Type["kind"], result: Type): Typed =>
    knownNot(index, want)
      ? fail(result, `Index of ${what} must be a ${want}, got ${formatType(index)}`)
      : ok(result)
  switch (target.kind) {
    case "any":
      return knownNot(index, "number", "string")
        ? fail(anyType, `Index must be a number or a string, got ${formatType(index)}`)
        : ok(anyType)
    case "list":
      return expects("a list", "number", target.of)
    case "string":
      return expects("a string", "number", stringType)
    case "record":
      if (indexExpr.kind === "lit" && typeof indexExpr.value === "string") return typeOfGet(target, indexExpr.value)
      return expects("a record", "string", anyType)
    case "number":
    case "boolean":
    case "null":
      return fail(anyType, `Cannot index ${formatType(target)}`)
  }
}

/** The type of `target[start:end]` (absent bounds are passed as undefined). */
export const typeOfSlice = (target: Type, start: Type | undefined, end: Type | undefined): Typed => {
  if (knownNot(target, "list", "string")) return fail(anyType, `Cannot slice ${formatType(target)}`)
  const offender = [start, end].find((t) => t !== undefined && knownNot(t, "number", "null"))
  return offender === undefined
    ? ok(target)
    : fail(target, `Slice bound must be a number, got ${formatType(offender)}`)
}
