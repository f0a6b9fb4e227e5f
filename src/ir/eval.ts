/**
 * The evaluator of pure expressions. One implementation of the expression
 * semantics (README, "Expressions") shared by the normalizer's constant
 * folding, the type checker's expectations and the runtime.
 *
 * Values are JSON: null, booleans, finite numbers, strings, lists and
 * records. Every failure is an `EvalError` value (a `Permanent` node
 * failure at run time), never a thrown exception.
 *
 * Choices where the common semantics leave room:
 * - Results are JSON: `-0` is returned as `0`.
 * - `split(s, "")` splits into code points; `len` counts code points, while
 *   `s[i]` and `s[a:b]` count UTF-16 code units.
 * - `num(s)` reads a decimal number (optional sign, fraction, exponent;
 *   surrounding whitespace ignored); `"0x10"`, `"Infinity"` and `""` fail.
 * - `round(n, d)` rounds half away from zero on the decimal text of `n`
 *   (`round(1.005, 2)` is `1.01`); `d` may be negative.
 * - `concat` takes one or more arguments; `min` / `max` of one number is it.
 * - A record built by a record expression keeps the last value of a
 *   repeated key; `__proto__` is an ordinary key.
 * - An expression nested too deeply for the call stack is an error.
 */
import { Either, Schema } from "effect"
import { canonicalJson, compareCodeUnits } from "./canonical.js"
import type { BinaryOp, BuiltinName, Expr, UnaryOp } from "./schema.js"

/** A JSON value, the only kind of value expressions compute. */
export type Json = null | boolean | number | string | ReadonlyArray<Json> | JsonRecord

/** A JSON object. */
export type JsonRecord = { readonly [key: string]: Json }

/** Why evaluating a pure expression failed: a type error, a division by zero, an unbound ref, … */
export class EvalError extends Schema.TaggedError<EvalError>()("EvalError", {
  message: Schema.String,
  /** Set when a resource limit was reached (a value grew beyond `MAX_VALUE_LENGTH`), not a mistake of the program. */
  resource: Schema.optionalWith(Schema.Boolean, { exact: true })
}) {}

/** The longest list or string (in items / UTF-16 code units) an expression may build. */
export const MAX_VALUE_LENGTH = 10_000_000

/** The largest value (its approximate JSON size in characters) an expression node may produce. */
export const MAX_VALUE_SIZE = 32_000_000

/**
 * Whether the JSON form of `value` is at most `max` characters (approximately). Stops as soon as it is over,
 * so it costs at most O(max) even for a value that shares one big list many times (`[a, a]` doubled).
 */
export const sizeWithin = (value: Json, max: number = MAX_VALUE_SIZE): boolean => {
  let left = max
  const stack: Array<Json> = [value]
  while (stack.length > 0) {
    const v = stack.pop()!
    if (typeof v === "string") left -= v.length + 2
    else if (v === null || typeof v !== "object") left -= 8
    else if (Array.isArray(v)) {
      left -= 2 + v.length
      if (left < 0) return false
      for (let i = 0; i < v.length; i++) stack.push(v[i]!)
    } else {
      const keys = Object.keys(v)
      left -= 2 + keys.length
      if (left < 0) return false
      for (const k of keys) {
        left -= k.length + 3
        stack.push((v as JsonRecord)[k]!)
      }
    }
    if (left < 0) return false
  }
  return true
}

/** The error of a value that would grow beyond `MAX_VALUE_LENGTH`. */
const tooLong = (what: string, length: number): EvalError =>
  new EvalError({
    message: `${what} would build a value of ${length} items, over the limit of ${MAX_VALUE_LENGTH}`,
    resource: true
  })

/** Resolves a ref name to its value; `undefined` means unbound. */
export type Env = ((name: string) => Json | undefined) | ReadonlyMap<string, Json>

/** The longest list `range` builds. */
const MAX_RANGE = 1_000_000

type Out = Json | EvalError

const fail = (message: string): EvalError => new EvalError({ message })

const isError = (v: Out): v is EvalError => v instanceof EvalError

/** Turns `-0` into `0`: JSON has no negative zero. */
const num = (n: number): number => (n === 0 ? 0 : n)

/** True when `v` is a JSON record (a plain object, not a list). */
export const isRecord = (v: Json): v is JsonRecord => typeof v === "object" && v !== null && !Array.isArray(v)

/** True when `v` is a JSON list. */
export const isList = (v: Json): v is ReadonlyArray<Json> => Array.isArray(v)

/** The name of a value's type in messages: null, boolean, number, string, list or record. */
export const typeName = (v: Json): string =>
  v === null ? "null" : Array.isArray(v) ? "list" : typeof v === "object" ? "record" : typeof v

/** Builds a record whose keys are own data properties (safe for `__proto__`). */
const makeRecord = (entries: Iterable<readonly [string, Json]>): JsonRecord => Object.fromEntries(entries)

const hasOwn = (r: JsonRecord, key: string): boolean => Object.prototype.hasOwnProperty.call(r, key)

/** The field `key` of a record, or null when absent. */
const field = (r: JsonRecord, key: string): Json => (hasOwn(r, key) ? r[key]! : null)

/** Deep structural equality of JSON values; record key order is irrelevant. */
export const jsonEquals = (a: Json, b: Json): boolean => {
  const stack: Array<Json> = [a, b]
  while (stack.length > 0) {
    const y = stack.pop()!
    const x = stack.pop()!
    if (x === y) continue
    if (x === null || y === null || typeof x !== "object" || typeof y !== "object") return false
    if (Array.isArray(x)) {
      if (!Array.isArray(y) || x.length !== y.length) return false
      for (let i = 0; i < x.length; i++) stack.push(x[i]!, y[i]!)
      continue
    }
    if (Array.isArray(y)) return false
    const rx = x as JsonRecord
    const ry = y as JsonRecord
    const kx = Object.keys(rx)
    if (kx.length !== Object.keys(ry).length) return false
    for (const k of kx) {
      if (!hasOwn(ry, k)) return false
      stack.push(rx[k]!, ry[k]!)
    }
  }
  return true
}

/** Number of code points of a string. */
const codePointLength = (s: string): number => {
  let n = s.length
  for (let i = 0; i < s.length - 1; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1)
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--
        i++
      }
    }
  }
  return n
}

const finite = (op: string, n: number): Out =>
  Number.isFinite(n) ? num(n) : fail(`Operator "${op}" produced a non-finite number`)

/** Applies a unary operator to a value. */
export const applyUnary = (op: UnaryOp, v: Json): Either.Either<Json, EvalError> => toEither(unary(op, v))

const unary = (op: UnaryOp, v: Json): Out => {
  switch (op) {
    case "not":
      return typeof v === "boolean" ? !v : fail(`Operator "not" expects a boolean, got ${typeName(v)}`)
    case "-":
      return typeof v === "number" ? num(-v) : fail(`Operator "-" expects a number, got ${typeName(v)}`)
  }
  return fail(`Unknown unary operator "${String(op)}"`)
}

/**
 * Applies a binary operator to two evaluated operands. For `and` / `or`
 * both operands must be booleans (`evalPure` short-circuits before this).
 */
export const applyBinary = (op: BinaryOp, left: Json, right: Json): Either.Either<Json, EvalError> =>
  toEither(binary(op, left, right))

const binary = (op: BinaryOp, l: Json, r: Json): Out => {
  switch (op) {
    case "or":
    case "and":
      if (typeof l !== "boolean" || typeof r !== "boolean") {
        return fail(`Operator "${op}" expects booleans, got ${typeName(l)} and ${typeName(r)}`)
      }
      return op === "and" ? l && r : l || r
    case "==":
      return jsonEquals(l, r)
    case "!=":
      return !jsonEquals(l, r)
    case "<":
    case "<=":
    case ">":
    case ">=": {
      if (!((typeof l === "number" && typeof r === "number") || (typeof l === "string" && typeof r === "string"))) {
        return fail(`Operator "${op}" expects two numbers or two strings, got ${typeName(l)} and ${typeName(r)}`)
      }
      return op === "<" ? l < r : op === "<=" ? l <= r : op === ">" ? l > r : l >= r
    }
    case "+":
      if (typeof l === "number" && typeof r === "number") return finite(op, l + r)
      if ((typeof l === "string" && typeof r === "string") || (Array.isArray(l) && Array.isArray(r))) {
        const length = (l as string | ReadonlyArray<Json>).length + (r as string | ReadonlyArray<Json>).length
        if (length > MAX_VALUE_LENGTH) return tooLong(`Operator "+"`, length)
        return typeof l === "string"
          ? l + (r as string)
          : [...(l as ReadonlyArray<Json>), ...(r as ReadonlyArray<Json>)]
      }
      return fail(`Operator "+" expects two numbers, two strings or two lists, got ${typeName(l)} and ${typeName(r)}`)
    case "-":
    case "*":
    case "/":
    case "%": {
      if (typeof l !== "number" || typeof r !== "number") {
        return fail(`Operator "${op}" expects two numbers, got ${typeName(l)} and ${typeName(r)}`)
      }
      if ((op === "/" || op === "%") && r === 0) return fail(op === "/" ? "Division by zero" : "Modulo by zero")
      return finite(op, op === "-" ? l - r : op === "*" ? l * r : op === "/" ? l / r : l % r)
    }
  }
  return fail(`Unknown operator "${String(op)}"`)
}

/** `x[i]`: list or string by integer (negative from the end), record by string key. */
const indexValue = (target: Json, index: Json): Out => {
  if (Array.isArray(target) || typeof target === "string") {
    if (typeof index !== "number" || !Number.isInteger(index)) {
      return fail(
        `Cannot index a ${typeName(target)} with ${
          typeName(index) === "number" ? "a non-integer number" : typeName(index)
        }`
      )
    }
    const i = index < 0 ? target.length + index : index
    if (i < 0 || i >= target.length) return null
    return typeof target === "string" ? target.charAt(i) : (target as ReadonlyArray<Json>)[i]!
  }
  if (isRecord(target)) {
    if (typeof index !== "string") return fail(`Cannot index a record with ${typeName(index)}`)
    return field(target, index)
  }
  return fail(`Cannot index ${typeName(target)}`)
}

/** Resolves one slice bound with Python semantics (negatives from the end, clamped). */
const sliceBound = (bound: Json, length: number, fallback: number): number | EvalError => {
  if (bound === null) return fallback
  if (typeof bound !== "number" || !Number.isInteger(bound)) {
    return fail(
      `Slice bounds must be integers, got ${typeName(bound) === "number" ? "a non-integer number" : typeName(bound)}`
    )
  }
  const b = bound < 0 ? length + bound : bound
  return Math.min(Math.max(b, 0), length)
}

/** `x[a:b]` on a list or string. */
const sliceValue = (target: Json, start: Json, end: Json): Out => {
  if (!Array.isArray(target) && typeof target !== "string") return fail(`Cannot slice ${typeName(target)}`)
  const length = target.length
  const a = sliceBound(start, length, 0)
  if (typeof a !== "number") return a
  const b = sliceBound(end, length, length)
  if (typeof b !== "number") return b
  if (b <= a) return typeof target === "string" ? "" : []
  return target.slice(a, b)
}

/** `x.f` on a record. */
const getValue = (target: Json, name: string): Out =>
  isRecord(target) ? field(target, name) : fail(`Cannot read field "${name}" of ${typeName(target)}`)

const arity = (fn: BuiltinName, args: ReadonlyArray<Json>, min: number, max: number): EvalError | undefined => {
  if (args.length >= min && args.length <= max) return undefined
  const expected = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`
  // "1 argument", "at least 1 argument", "2 arguments", "1 to 2 arguments"
  return fail(
    `${fn}() takes ${expected} argument${max === 1 || (max === Infinity && min === 1) ? "" : "s"}, got ${args.length}`
  )
}

const argError = (fn: BuiltinName, expected: string, got: Json): EvalError =>
  fail(`${fn}() expects ${expected}, got ${typeName(got)}`)

const allNumbers = (items: ReadonlyArray<Json>): items is ReadonlyArray<number> =>
  items.every((x) => typeof x === "number")

const NUMERIC = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/

/** Rounds half away from zero at `digits` decimal places, on the decimal text of `n`. */
const roundHalfAway = (n: number, digits: number): number => {
  const shift = (x: number, d: number): number => {
    const [mantissa, exponent] = String(x).split("e")
    return Number(`${mantissa}e${Number(exponent ?? 0) + d}`)
  }
  const abs = Math.abs(n)
  const scaled = shift(abs, digits)
  // At that precision the number has no digits left to round.
  if (!Number.isFinite(scaled) || scaled >= 2 ** 52) return n
  const rounded = shift(Math.round(scaled), -digits)
  return num(n < 0 ? -rounded : rounded)
}

/** Applies a builtin function to evaluated arguments. */
export const applyBuiltin = (fn: BuiltinName, args: ReadonlyArray<Json>): Either.Either<Json, EvalError> =>
  toEither(builtin(fn, args))

const builtin = (fn: BuiltinName, args: ReadonlyArray<Json>): Out => {
  const a0 = args[0] ?? null
  switch (fn) {
    case "len": {
      const e = arity(fn, args, 1, 1)
      if (e) return e
      if (typeof a0 === "string") return codePointLength(a0)
      if (Array.isArray(a0)) return a0.length
      if (isRecord(a0)) return Object.keys(a0).length
      return argError(fn, "a string, list or record", a0)
    }
    case "keys":
    case "values": {
      const e = arity(fn, args, 1, 1)
      if (e) return e
      if (!isRecord(a0)) return argError(fn, "a record", a0)
      const keys = Object.keys(a0).sort(compareCodeUnits)
      return fn === "keys" ? keys : keys.map((k) => a0[k]!)
    }
    case "concat": {
      const e = arity(fn, args, 1, Infinity)
      if (e) return e
      const total = args.reduce<number>(
        (n, x) => n + (typeof x === "string" || Array.isArray(x) ? (x as string | ReadonlyArray<Json>).length : 0),
        0
      )
      if (total > MAX_VALUE_LENGTH) return tooLong("concat()", total)
      if (args.every((x) => typeof x === "string")) return (args as ReadonlyArray<string>).join("")
      if (args.every((x) => Array.isArray(x))) {
        return ([] as Array<Json>).concat(...(args as ReadonlyArray<ReadonlyArray<Json>>))
      }
      return fail(`concat() expects all lists or all strings, got ${args.map(typeName).join(", ")}`)
    }
    case "join": {
      const e = arity(fn, args, 1, 2)
      if (e) return e
      const sep = args.length > 1 ? args[1]! : ""
      if (!Array.isArray(a0)) return argError(fn, "a list of strings", a0)
      if (typeof sep !== "string") return fail(`join() expects a string separator, got ${typeName(sep)}`)
      const bad = a0.find((x) => typeof x !== "string")
      if (bad !== undefined) return fail(`join() expects a list of strings, found ${typeName(bad)}`)
      const total = (a0 as ReadonlyArray<string>).reduce((n, x) => n + x.length, 0) +
        Math.max(0, a0.length - 1) * sep.length
      if (total > MAX_VALUE_LENGTH) return tooLong("join()", total)
      return (a0 as ReadonlyArray<string>).join(sep)
    }
    case "split": {
      const e = arity(fn, args, 2, 2)
      if (e) return e
      const sep = args[1]!
      if (typeof a0 !== "string") return argError(fn, "a string", a0)
      if (typeof sep !== "string") return fail(`split() expects a string separator, got ${typeName(sep)}`)
      return sep === "" ? Array.from(a0) : a0.split(sep)
    }
    case "lower":
    case "upper": {
      const e = arity(fn, args, 1, 1)
      if (e) return e
      if (typeof a0 !== "string") return argError(fn, "a string", a0)
      return fn === "lower" ? a0.toLowerCase() : a0.toUpperCase()
    }
    case "min":
    case "max": {
      const e = arity(fn, args, 1, Infinity)
      if (e) return e
      const items = args.length === 1 && Array.isArray(a0) ? a0 : args
      if (!allNumbers(items)) {
        return fail(`${fn}() expects one list of numbers or number arguments, got ${args.map(typeName).join(", ")}`)
      }
      if (items.length === 0) return fail(`${fn}() of an empty list`)
      let best = items[0]!
      for (const x of items) if (fn === "min" ? x < best : x > best) best = x
      return num(best)
    }
    case "sum": {
      const e = arity(fn, args, 1, 1)
      if (e) return e
      if (!Array.isArray(a0) || !allNumbers(a0)) return argError(fn, "a list of numbers", a0)
      let total = 0
      for (const x of a0) total += x
      return Number.isFinite(total) ? num(total) : fail("sum() produced a non-finite number")
    }
    case "round": {
      const e = arity(fn, args, 1, 2)
      if (e) return e
      const digits = args.length > 1 ? args[1]! : 0
      if (typeof a0 !== "number") return argError(fn, "a number", a0)
      if (typeof digits !== "number" || !Number.isInteger(digits)) {
        return fail(
          `round() expects an integer number of digits, got ${
            typeName(digits) === "number" ? "a non-integer number" : typeName(digits)
          }`
        )
      }
      return roundHalfAway(a0, digits)
    }
    case "str": {
      const e = arity(fn, args, 1, 1)
      if (e) return e
      return typeof a0 === "string" ? a0 : canonicalJson(a0)
    }
    case "num": {
      const e = arity(fn, args, 1, 1)
      if (e) return e
      if (typeof a0 === "number") return a0
      if (typeof a0 === "boolean") return a0 ? 1 : 0
      if (typeof a0 === "string") {
        const text = a0.trim()
        const n = NUMERIC.test(text) ? Number(text) : NaN
        return Number.isFinite(n) ? num(n) : fail(`num() cannot read a number from ${JSON.stringify(a0)}`)
      }
      return argError(fn, "a number, boolean or numeric string", a0)
    }
    case "range": {
      const e = arity(fn, args, 1, 2)
      if (e) return e
      const [from, to] = args.length === 1 ? [0, a0] : [a0, args[1]!]
      if (typeof from !== "number" || typeof to !== "number" || !Number.isInteger(from) || !Number.isInteger(to)) {
        return fail(
          `range() expects integers, got ${
            args.map((x) => (typeof x === "number" ? "a non-integer number" : typeName(x))).join(", ")
          }`
        )
      }
      const length = Math.max(0, to - from)
      if (length > MAX_RANGE) return fail(`range() of ${length} items exceeds the limit of ${MAX_RANGE}`)
      const out = new Array<Json>(length)
      for (let i = 0; i < length; i++) out[i] = num(from + i)
      return out
    }
    case "patched":
      return fail(`patched(${JSON.stringify(a0)}) is known only while a run executes`)
  }
  return fail(`Unknown builtin "${String(fn)}"`)
}

const lookup = (env: Env, name: string): Json | undefined => (typeof env === "function" ? env(name) : env.get(name))

/**
 * The name under which a run's environment answers `patched(id)`: no ref can have it (a ref is an
 * identifier). Outside a run nothing answers it, so `patched` is never a constant (normalize keeps it).
 */
export const patchName = (id: string): string => `#patched:${id}`

const patchedValue = (args: ReadonlyArray<Expr>, env: Env): Out => {
  const [arg] = args
  if (args.length !== 1 || arg === undefined || arg.kind !== "lit" || typeof arg.value !== "string") {
    return fail(`Builtin "patched" expects one string literal`)
  }
  const v = lookup(env, patchName(arg.value))
  return typeof v === "boolean" ? v : fail(`patched("${arg.value}") is known only while a run executes`)
}

const evaluate = (expr: Expr, env: Env): Out => {
  switch (expr.kind) {
    case "lit":
      return typeof expr.value === "number" ? num(expr.value) : expr.value
    case "ref": {
      const v = lookup(env, expr.name)
      return v === undefined ? fail(`Unbound reference "${expr.name}"`) : v
    }
    case "get": {
      const t = evaluate(expr.target, env)
      return isError(t) ? t : getValue(t, expr.field)
    }
    case "index": {
      const t = evaluate(expr.target, env)
      if (isError(t)) return t
      const i = evaluate(expr.index, env)
      return isError(i) ? i : indexValue(t, i)
    }
    case "slice": {
      const t = evaluate(expr.target, env)
      if (isError(t)) return t
      const a = expr.start === null ? null : evaluate(expr.start, env)
      if (a !== null && isError(a)) return a
      const b = expr.end === null ? null : evaluate(expr.end, env)
      if (b !== null && isError(b)) return b
      return sliceValue(t, a, b)
    }
    case "unary": {
      const v = evaluate(expr.arg, env)
      return isError(v) ? v : unary(expr.op, v)
    }
    case "binary": {
      const l = evaluate(expr.left, env)
      if (isError(l)) return l
      if (expr.op === "and" || expr.op === "or") {
        if (typeof l !== "boolean") return fail(`Operator "${expr.op}" expects booleans, got ${typeName(l)}`)
        if (expr.op === "and" ? !l : l) return l
        const r = evaluate(expr.right, env)
        if (isError(r)) return r
        return typeof r === "boolean"
          ? r
          : fail(`Operator "${expr.op}" expects booleans, got boolean and ${typeName(r)}`)
      }
      const r = evaluate(expr.right, env)
      return isError(r) ? r : binary(expr.op, l, r)
    }
    case "list": {
      const out: Array<Json> = []
      for (const item of expr.items) {
        const v = evaluate(item, env)
        if (isError(v)) return v
        out.push(v)
      }
      return out
    }
    case "record": {
      const entries: Array<readonly [string, Json]> = []
      for (const entry of expr.entries) {
        const v = evaluate(entry.value, env)
        if (isError(v)) return v
        entries.push([entry.key, v])
      }
      return makeRecord(entries)
    }
    case "call": {
      if (expr.fn === "patched") return patchedValue(expr.args, env)
      const values: Array<Json> = []
      for (const arg of expr.args) {
        const v = evaluate(arg, env)
        if (isError(v)) return v
        values.push(v)
      }
      return builtin(expr.fn, values)
    }
  }
}

const toEither = (out: Out): Either.Either<Json, EvalError> => (isError(out) ? Either.left(out) : Either.right(out))

/**
 * Evaluates a pure expression. `env` gives the values of refs (params,
 * node results, map binders). Never throws: type errors, division by zero,
 * unbound refs and expressions nested too deeply for the stack are
 * `EvalError`s.
 */
export const evalPure = (expr: Expr, env: Env): Either.Either<Json, EvalError> => {
  try {
    return toEither(evaluate(expr, env))
  } catch (e) {
    if (e instanceof RangeError) {
      // A stack overflow, or an allocation JavaScript refuses (an array or string too long).
      return Either.left(
        /call stack/i.test(e.message)
          ? fail("Expression nested too deeply to evaluate")
          : new EvalError({ message: `Expression builds a value too large to hold (${e.message})`, resource: true })
      )
    }
    throw e
  }
}
