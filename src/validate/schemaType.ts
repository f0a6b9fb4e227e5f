/**
 * Converts an `effect/Schema` AST to the IR's static `Type`. Programs only
 * ever hold JSON, so the encoded side of a schema is the one a program
 * sees: transformations are read through their `from` side (a
 * `NumberFromString` argument is a string in the program), refinements
 * through the type they refine. Whatever has no JSON counterpart is `any`.
 */
import type { SchemaAST } from "effect"
import type { Type } from "../ir/schema.js"
import {
  anyType,
  booleanType,
  join,
  listOf,
  MAX_TYPE_DEPTH,
  nullType,
  numberType,
  recordOf,
  stringType,
  typeEquals
} from "./types.js"

/** A property of a struct schema: its name, type and whether it may be absent. */
export interface SchemaField {
  readonly name: string
  readonly type: Type
  readonly optional: boolean
}

const isUndefined = (ast: SchemaAST.AST): boolean => ast._tag === "UndefinedKeyword" || ast._tag === "VoidKeyword"

/** Follows refinements, transformations (encoded side) and suspensions down to a structural AST. */
const unwrap = (ast: SchemaAST.AST): SchemaAST.AST | undefined => {
  let current = ast
  for (let steps = 0; steps < MAX_TYPE_DEPTH; steps++) {
    switch (current._tag) {
      case "Refinement":
        current = current.from
        break
      case "Transformation":
        current = current.from
        break
      case "Suspend":
        current = current.f()
        break
      default:
        return current
    }
  }
  return undefined
}

const literalType = (literal: SchemaAST.LiteralValue): Type =>
  literal === null
    ? nullType
    : typeof literal === "string"
    ? stringType
    : typeof literal === "number"
    ? numberType
    : typeof literal === "boolean"
    ? booleanType
    : anyType

/**
 * A union is its members' type when they all agree (a union of string
 * literals is `string`; `undefined`, which JSON cannot carry, is dropped),
 * otherwise `any`.
 */
const unionType = (members: ReadonlyArray<SchemaAST.AST>, depth: number): Type => {
  const types = members.filter((m) => !isUndefined(m)).map((m) => typeOfAst(m, depth + 1))
  const [first, ...rest] = types
  if (first === undefined) return anyType
  return rest.every((t) => typeEquals(t, first)) ? first : anyType
}

/** The static type of a schema AST (encoded side). */
export const typeOfAst = (ast: SchemaAST.AST, depth = 0): Type => {
  if (depth > MAX_TYPE_DEPTH) return anyType
  const node = unwrap(ast)
  if (node === undefined) return anyType
  switch (node._tag) {
    case "StringKeyword":
    case "TemplateLiteral":
      return stringType
    case "NumberKeyword":
      return numberType
    case "BooleanKeyword":
      return booleanType
    case "Literal":
      return literalType(node.literal)
    case "Enums": {
      const kinds = new Set(node.enums.map(([, v]) => typeof v))
      return kinds.size === 1 ? (kinds.has("string") ? stringType : numberType) : anyType
    }
    case "TupleType": {
      const parts = [...node.elements.map((e) => e.type), ...node.rest.map((r) => r.type)]
      if (parts.length === 0) return listOf(anyType)
      let of: Type | undefined
      for (const part of parts) {
        const t = typeOfAst(part, depth + 1)
        of = of === undefined ? t : join(of, t)
      }
      return listOf(of ?? anyType)
    }
    case "TypeLiteral":
      // A record with an index signature has keys we cannot know: leave it open.
      if (node.indexSignatures.length > 0) return anyType
      return recordOf(fieldsOfTypeLiteral(node, depth).map((f) => ({ name: f.name, type: f.type })))
    case "Union":
      return unionType(node.types, depth)
    default:
      return anyType
  }
}

const fieldsOfTypeLiteral = (node: SchemaAST.TypeLiteral, depth: number): ReadonlyArray<SchemaField> =>
  node.propertySignatures.flatMap((p) =>
    typeof p.name === "string"
      ? [{ name: p.name, type: typeOfAst(p.type, depth + 1), optional: p.isOptional }]
      : []
  )

/**
 * The fields of a struct schema (its property signatures, encoded side), or
 * undefined when the schema is not a struct.
 */
export const fieldsOfAst = (ast: SchemaAST.AST): ReadonlyArray<SchemaField> | undefined => {
  const node = unwrap(ast)
  return node !== undefined && node._tag === "TypeLiteral" ? fieldsOfTypeLiteral(node, 0) : undefined
}
