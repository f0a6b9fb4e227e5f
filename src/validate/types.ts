/**
 * The static type algebra of the validator (V6): constructors, equality,
 * join, assignability and printing. Types are the IR's `Type`; `any` means
 * "unknown", and nothing is ever reported against it. Every function here
 * stops descending after `MAX_TYPE_DEPTH` levels, so absurdly deep types
 * degrade to `any` instead of overflowing the stack.
 */
import type { Expr, PrimitiveTypeName, Scalar, Type } from "../ir/schema.js"

/** How deep the type functions descend before answering as if they met `any`. */
export const MAX_TYPE_DEPTH = 64

const primitive = (kind: PrimitiveTypeName): Type => ({ kind })

/** The unknown type: compatible with everything. */
export const anyType: Type = primitive("any")
/** The type of strings. */
export const stringType: Type = primitive("string")
/** The type of numbers. */
export const numberType: Type = primitive("number")
/** The type of booleans. */
export const booleanType: Type = primitive("boolean")
/** The type of `null`. */
export const nullType: Type = primitive("null")

/** A list of `of`. */
export const listOf = (of: Type): Type => ({ kind: "list", of })

/** A record with the given fields, in the given order. */
export const recordOf = (fields: ReadonlyArray<{ readonly name: string; readonly type: Type }>): Type => ({
  kind: "record",
  fields
})

/** The type of a scalar literal. */
export const typeOfScalar = (value: Scalar): Type =>
  value === null
    ? nullType
    : typeof value === "string"
    ? stringType
    : typeof value === "number"
    ? numberType
    : booleanType

/** The type of a record's field, or undefined when the record has no such field. */
export const fieldType = (t: Type & { readonly kind: "record" }, name: string): Type | undefined => {
  for (const f of t.fields) if (f.name === name) return f.type
  return undefined
}

/** Structural equality of two types (record field order irrelevant). */
export const typeEquals = (a: Type, b: Type, depth = 0): boolean => {
  if (depth > MAX_TYPE_DEPTH) return true
  if (a.kind === "list") return b.kind === "list" && typeEquals(a.of, b.of, depth + 1)
  if (a.kind === "record") {
    if (b.kind !== "record" || a.fields.length !== b.fields.length) return false
    return a.fields.every((f) => {
      const other = fieldType(b, f.name)
      return other !== undefined && typeEquals(f.type, other, depth + 1)
    })
  }
  return a.kind === b.kind
}

/**
 * The least type covering both: the type itself when they agree, lists and
 * records with the same fields joined member-wise, otherwise `any`.
 */
export const join = (a: Type, b: Type, depth = 0): Type => {
  if (depth > MAX_TYPE_DEPTH || a.kind === "any" || b.kind === "any") return anyType
  if (a.kind === "list" && b.kind === "list") return listOf(join(a.of, b.of, depth + 1))
  if (a.kind === "record" && b.kind === "record") {
    if (a.fields.length !== b.fields.length) return anyType
    const fields: Array<{ name: string; type: Type }> = []
    for (const f of a.fields) {
      const other = fieldType(b, f.name)
      if (other === undefined) return anyType
      fields.push({ name: f.name, type: join(f.type, other, depth + 1) })
    }
    return recordOf(fields)
  }
  return a.kind === b.kind ? a : anyType
}

/** Joins a list of types; the empty list joins to `any`. */
export const joinAll = (types: ReadonlyArray<Type>): Type => {
  const [first, ...rest] = types
  return first === undefined ? anyType : rest.reduce((acc, t) => join(acc, t), first)
}

/**
 * Whether a value of type `actual` may be used where `expected` is wanted.
 * `any` on either side is accepted; lists compare their items; records
 * compare the fields they have in common (a field may be optional, and an
 * extra field is harmless), so only a certain mismatch is refused.
 */
export const isAssignable = (actual: Type, expected: Type, depth = 0): boolean => {
  if (depth > MAX_TYPE_DEPTH || actual.kind === "any" || expected.kind === "any") return true
  if (expected.kind === "list") return actual.kind === "list" && isAssignable(actual.of, expected.of, depth + 1)
  if (expected.kind === "record") {
    if (actual.kind !== "record") return false
    return expected.fields.every((f) => {
      const have = fieldType(actual, f.name)
      return have === undefined || isAssignable(have, f.type, depth + 1)
    })
  }
  return actual.kind === expected.kind
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/

/** Renders a type in DSL syntax: `string`, `number[]`, `{ text: string, score: number }`. */
export const formatType = (t: Type, depth = 0): string => {
  if (depth > MAX_TYPE_DEPTH) return "…"
  switch (t.kind) {
    case "list": {
      const inner = formatType(t.of, depth + 1)
      return `${inner}[]`
    }
    case "record":
      return t.fields.length === 0
        ? "{}"
        : `{ ${
          t.fields
            .map((f) => `${IDENT.test(f.name) ? f.name : JSON.stringify(f.name)}: ${formatType(f.type, depth + 1)}`)
            .join(", ")
        } }`
    case "string":
    case "number":
    case "boolean":
    case "null":
    case "any":
      return t.kind
  }
}

/**
 * Whether an expression is a literal: a scalar, or a list or record built
 * only from literals. V4/V5 check literal arguments; V6 checks the others.
 */
export const isLiteralExpr = (expr: Expr): boolean => {
  const stack: Array<Expr> = [expr]
  while (stack.length > 0) {
    const e = stack.pop()!
    switch (e.kind) {
      case "lit":
        break
      case "list":
        for (const item of e.items) stack.push(item)
        break
      case "record":
        for (const entry of e.entries) stack.push(entry.value)
        break
      default:
        return false
    }
  }
  return true
}
