/**
 * Typing rules of the builtin functions (V6): arity, argument types and
 * result types, following the expression semantics of the common brief.
 */
import type { BuiltinName, Expr, Type } from "../ir/schema.js"
import type { Typed } from "./operators.js"
import { anyType, booleanType, formatType, joinAll, listOf, numberType, stringType } from "./types.js"

/** Minimum and maximum argument counts of each builtin (`Infinity` when variadic). */
export const BUILTIN_ARITY: { readonly [fn in BuiltinName]: readonly [number, number] } = {
  len: [1, 1],
  keys: [1, 1],
  values: [1, 1],
  concat: [0, Infinity],
  join: [1, 2],
  split: [2, 2],
  lower: [1, 1],
  upper: [1, 1],
  min: [1, Infinity],
  max: [1, Infinity],
  sum: [1, 1],
  round: [1, 2],
  str: [1, 1],
  num: [1, 1],
  range: [1, 2],
  patched: [1, 1]
}

const plural = (n: number) => (n === 1 ? "argument" : "arguments")

const arityMessage = (fn: BuiltinName, got: number): string | undefined => {
  const [min, max] = BUILTIN_ARITY[fn]
  if (got >= min && got <= max) return undefined
  const expected = max === Infinity
    ? `at least ${min} ${plural(min)}`
    : min === max
    ? `${min} ${plural(min)}`
    : `${min} to ${max} arguments`
  return `Builtin "${fn}" expects ${expected}, got ${got}`
}

/** The result type of each builtin when its arguments are fine. */
const resultOf = (fn: BuiltinName, args: ReadonlyArray<Type>): Type => {
  switch (fn) {
    case "len":
    case "min":
    case "max":
    case "sum":
    case "round":
    case "num":
      return numberType
    case "keys":
    case "split":
      return listOf(stringType)
    case "values": {
      const [r] = args
      return r !== undefined && r.kind === "record" ? listOf(joinAll(r.fields.map((f) => f.type))) : listOf(anyType)
    }
    case "concat": {
      if (args.some((a) => a.kind === "string")) return stringType
      if (args.some((a) => a.kind === "list")) {
        return args.every((a) => a.kind === "list")
          ? listOf(joinAll(args.map((a) => (a.kind === "list" ? a.of : anyType))))
          : listOf(anyType)
      }
      return anyType
    }
    case "join":
    case "lower":
    case "upper":
    case "str":
      return stringType
    case "range":
      return listOf(numberType)
    case "patched":
      return booleanType
  }
}

/** Describes what argument `i` of `fn` accepts, or undefined when it accepts anything. */
type ArgCheck = (t: Type, i: number, all: ReadonlyArray<Type>) => string | undefined

const kinds = (description: string, ...accepted: ReadonlyArray<Type["kind"]>): ArgCheck => (t) =>
  t.kind === "any" || accepted.includes(t.kind) ? undefined : description

const listOfKind = (description: string, item: Type["kind"]): ArgCheck => (t) =>
  t.kind === "any" || (t.kind === "list" && (t.of.kind === "any" || t.of.kind === item)) ? undefined : description

const numbers: ArgCheck = (t, _i, all) =>
  all.length === 1
    ? t.kind === "number"
      ? undefined
      : listOfKind("a number or a list of numbers", "number")(t, 0, all)
    : kinds("a number", "number")(t, 0, all)

const concatCheck: ArgCheck = (t, _i, all) => {
  if (t.kind === "any") return undefined
  if (t.kind !== "list" && t.kind !== "string") return "a list or a string"
  const first = all.find((a) => a.kind === "list" || a.kind === "string")
  return first !== undefined && first.kind !== t.kind ? `a ${first.kind} like the other arguments` : undefined
}

const CHECKS: { readonly [fn in BuiltinName]: ReadonlyArray<ArgCheck> | ArgCheck } = {
  len: [kinds("a string, list or record", "string", "list", "record")],
  keys: [kinds("a record", "record")],
  values: [kinds("a record", "record")],
  concat: concatCheck,
  join: [listOfKind("a list of strings", "string"), kinds("a string", "string")],
  split: [kinds("a string", "string"), kinds("a string", "string")],
  lower: [kinds("a string", "string")],
  upper: [kinds("a string", "string")],
  min: numbers,
  max: numbers,
  sum: [listOfKind("a list of numbers", "number")],
  round: [kinds("a number", "number"), kinds("a number", "number")],
  str: [() => undefined],
  num: [kinds("a number, boolean or string", "number", "boolean", "string")],
  range: [kinds("a number", "number"), kinds("a number", "number")],
  patched: [kinds("a string", "string")]
}

/** A patch id: what `patched(id)` names (letters, digits, `_`, `-`, `.`; 1 to 64 characters). */
export const PATCH_ID = /^[A-Za-z0-9_.-]{1,64}$/

/** Why the arguments of a `patched` call are not one patch id literal (undefined: they are). */
export const patchIdProblem = (args: ReadonlyArray<Expr>): string | undefined => {
  const [arg] = args
  if (args.length !== 1 || arg === undefined) return undefined
  if (arg.kind !== "lit" || typeof arg.value !== "string") {
    return `Argument 1 of "patched" expects a patch id written as a string literal`
  }
  return PATCH_ID.test(arg.value)
    ? undefined
    : `Argument 1 of "patched" is not a patch id: ${
      JSON.stringify(arg.value)
    } (letters, digits, "_", "-" or ".", 1 to 64 characters)`
}

/** The type of a builtin call with the given argument types. */
export const typeOfBuiltin = (fn: BuiltinName, args: ReadonlyArray<Type>): Typed => {
  const result = resultOf(fn, args)
  const arity = arityMessage(fn, args.length)
  if (arity !== undefined) return { type: result, error: arity }
  const checks = CHECKS[fn]
  for (let i = 0; i < args.length; i++) {
    const check = typeof checks === "function" ? checks : checks[i]
    const t = args[i]!
    const expected = check === undefined ? undefined : check(t, i, args)
    if (expected !== undefined) {
      return { type: result, error: `Argument ${i + 1} of "${fn}" expects ${expected}, got ${formatType(t)}`, arg: i }
    }
  }
  return { type: result }
}
