/**
 * A fast path for the commonest tool schemas. A "plain" schema — structs,
 * records, arrays, tuples, unions and literals of strings, numbers,
 * booleans, null and unknown, with no transformations, refinements or
 * classes — decodes and encodes every value it accepts to an equal value,
 * so checking the value is all decoding has to do. Effect's Schema parser
 * spends ~4 µs on `{ deps: [null, null, null] }`; the guard compiled here
 * spends ~0.1 µs. Anything else (or any value the guard rejects) goes
 * through Schema as before, which also writes the error message.
 */
import type { SchemaAST } from "effect"

/** Whether a value is accepted; `true` means decoding (and encoding) it is the identity. */
export type Guard = (value: unknown) => boolean

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** Compiles a guard for a plain AST, or undefined when the AST is not plain. */
export const plainGuard = (ast: SchemaAST.AST): Guard | undefined => compile(ast, 0)

const compile = (ast: SchemaAST.AST, depth: number): Guard | undefined => {
  if (depth > 16) return undefined
  switch (ast._tag) {
    case "StringKeyword":
      return (u) => typeof u === "string"
    case "NumberKeyword":
      return (u) => typeof u === "number"
    case "BooleanKeyword":
      return (u) => typeof u === "boolean"
    case "UnknownKeyword":
    case "AnyKeyword":
      return () => true
    case "UndefinedKeyword":
      return (u) => u === undefined
    case "Literal": {
      const literal = ast.literal
      return (u) => u === literal
    }
    case "Union": {
      const members: Array<Guard> = []
      for (const t of ast.types) {
        const g = compile(t, depth + 1)
        if (g === undefined) return undefined
        members.push(g)
      }
      return (u) => {
        for (const g of members) if (g(u)) return true
        return false
      }
    }
    case "TupleType": {
      if (ast.elements.some((e) => e.isOptional)) return undefined
      const elements: Array<Guard> = []
      for (const e of ast.elements) {
        const g = compile(e.type, depth + 1)
        if (g === undefined) return undefined
        elements.push(g)
      }
      if (ast.rest.length > 1) return undefined
      const restType = ast.rest[0]
      const rest = restType === undefined ? undefined : compile(restType.type, depth + 1)
      if (restType !== undefined && rest === undefined) return undefined
      const n = elements.length
      return (u) => {
        if (!Array.isArray(u)) return false
        if (rest === undefined ? u.length !== n : u.length < n) return false
        for (let i = 0; i < n; i++) if (!elements[i]!(u[i])) return false
        if (rest !== undefined) { for (let i = n; i < u.length; i++) if (!rest(u[i])) return false }
        return true
      }
    }
    case "TypeLiteral":
      return compileStruct(ast, depth)
    default:
      return undefined
  }
}

const compileStruct = (ast: SchemaAST.TypeLiteral, depth: number): Guard | undefined => {
  if (ast.indexSignatures.length > 0) {
    // A record: `{ [k: string]: V }` and nothing else.
    if (ast.propertySignatures.length > 0 || ast.indexSignatures.length > 1) return undefined
    const sig = ast.indexSignatures[0]!
    if (sig.parameter._tag !== "StringKeyword") return undefined
    const value = compile(sig.type, depth + 1)
    if (value === undefined) return undefined
    return (u) => {
      if (!isObject(u)) return false
      for (const k in u) {
        // Schema drops an own `__proto__` key when it builds the decoded record: not the identity, so Schema decides.
        if (Object.prototype.hasOwnProperty.call(u, k) && (k === "__proto__" || !value(u[k]))) return false
      }
      return true
    }
  }
  const names: Array<string> = []
  const guards: Array<Guard> = []
  const optional: Array<boolean> = []
  for (const p of ast.propertySignatures) {
    if (typeof p.name !== "string") return undefined
    const g = compile(p.type, depth + 1)
    if (g === undefined) return undefined
    names.push(p.name)
    guards.push(g)
    optional.push(p.isOptional)
  }
  const known = new Set(names)
  const n = names.length
  return (u) => {
    if (!isObject(u)) return false
    let present = 0
    for (let i = 0; i < n; i++) {
      const name = names[i]!
      if (Object.prototype.hasOwnProperty.call(u, name)) {
        present++
        if (!guards[i]!(u[name])) return false
      } else if (!optional[i]) return false
    }
    // Unknown fields are an error (decoders run with `onExcessProperty: "error"`): let Schema say so.
    if (present !== n || Object.keys(u).length !== n) {
      for (const k of Object.keys(u)) if (!known.has(k)) return false
    }
    return true
  }
}
