import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { applyBinary, applyBuiltin, applyUnary, EvalError, evalPure, type Json, jsonEquals } from "../../src/ir/eval.js"
import type { BinaryOp, BuiltinName, Expr, Scalar } from "../../src/ir/schema.js"

// Small expression builders.
const lit = (value: Scalar): Expr => ({ kind: "lit", value })
const ref = (name: string): Expr => ({ kind: "ref", name })
const bin = (op: BinaryOp, left: Expr, right: Expr): Expr => ({ kind: "binary", op, left, right })
const list = (...items: ReadonlyArray<Expr>): Expr => ({ kind: "list", items })
const rec = (entries: Record<string, Expr>): Expr => ({
  kind: "record",
  entries: Object.entries(entries).map(([key, value]) => ({ key, value }))
})
const call = (fn: BuiltinName, ...args: ReadonlyArray<Expr>): Expr => ({ kind: "call", fn, args })

/** Turns a JSON value into a constant expression. */
const q = (v: Json): Expr =>
  v === null || typeof v !== "object"
    ? lit(v)
    : Array.isArray(v)
    ? list(...v.map(q))
    : { kind: "record", entries: Object.entries(v).map(([key, value]) => ({ key, value: q(value) })) }

const env = new Map<string, Json>([
  ["xs", [10, 20, 30]],
  ["r", { a: 1, b: { c: "deep" } }],
  ["s", "héllo"],
  ["t", true],
  ["f", false],
  ["n", 7]
])

const ok = (expr: Expr): Json => {
  const result = evalPure(expr, env)
  if (Either.isLeft(result)) throw new Error(`expected a value, got error: ${result.left.message}`)
  return result.right
}
const err = (expr: Expr): string => {
  const result = evalPure(expr, env)
  if (Either.isRight(result)) throw new Error(`expected an error, got ${JSON.stringify(result.right)}`)
  expect(result.left).toBeInstanceOf(EvalError)
  expect(result.left._tag).toBe("EvalError")
  return result.left.message
}
const fn = (name: BuiltinName, ...args: ReadonlyArray<Json>): Json => ok(call(name, ...args.map(q)))
const fnErr = (name: BuiltinName, ...args: ReadonlyArray<Json>): string => err(call(name, ...args.map(q)))

describe("evalPure: literals, refs, env", () => {
  it("evaluates literals and turns -0 into 0", () => {
    expect(ok(lit("x"))).toBe("x")
    expect(ok(lit(null))).toBe(null)
    expect(Object.is(ok(lit(-0)), 0)).toBe(true)
  })
  it("resolves refs from a Map or a function", () => {
    expect(ok(ref("n"))).toBe(7)
    expect(Either.getOrThrow(evalPure(ref("a"), (name) => (name === "a" ? [1] : undefined)))).toEqual([1])
    expect(err(ref("missing"))).toBe("Unbound reference \"missing\"")
    expect(Either.isLeft(evalPure(ref("a"), () => undefined))).toBe(true)
  })
  it("builds lists and records (key __proto__ is an ordinary field)", () => {
    expect(ok(list(lit(1), ref("s")))).toEqual([1, "héllo"])
    const r = ok(rec({ a: lit(1), b: list() })) as Record<string, Json>
    expect(r).toEqual({ a: 1, b: [] })
    expect(ok({ kind: "record", entries: [{ key: "a", value: lit(1) }, { key: "a", value: lit(2) }] })).toEqual({
      a: 2
    })
    const proto = ok({ kind: "record", entries: [{ key: "__proto__", value: lit(5) }] }) as Record<string, Json>
    expect(Object.keys(proto)).toEqual(["__proto__"])
    expect(ok({ kind: "get", target: q(proto), field: "__proto__" })).toBe(5)
  })
})

describe("evalPure: arithmetic", () => {
  it("adds numbers, strings and lists", () => {
    expect(ok(bin("+", lit(2), lit(3)))).toBe(5)
    expect(ok(bin("+", lit("a"), lit("b")))).toBe("ab")
    expect(ok(bin("+", q([1]), q([2, 3])))).toEqual([1, 2, 3])
  })
  it("rejects mixed + operands", () => {
    expect(err(bin("+", lit(1), lit("a")))).toBe(
      "Operator \"+\" expects two numbers, two strings or two lists, got number and string"
    )
    expect(err(bin("+", q([1]), lit("a")))).toMatch(/got list and string/)
    expect(err(bin("+", lit(null), lit(null)))).toMatch(/got null and null/)
  })
  it("- * / % on numbers", () => {
    expect(ok(bin("-", lit(2), lit(5)))).toBe(-3)
    expect(ok(bin("*", lit(4), lit(5)))).toBe(20)
    expect(ok(bin("/", lit(7), lit(2)))).toBe(3.5)
    expect(ok(bin("%", lit(7), lit(3)))).toBe(1)
    expect(ok(bin("%", lit(-7), lit(3)))).toBe(-1)
    expect(Object.is(ok(bin("*", lit(-1), lit(0))), 0)).toBe(true)
  })
  it("errors: non-numbers, division/modulo by zero, non-finite results", () => {
    expect(err(bin("-", lit("a"), lit(1)))).toBe("Operator \"-\" expects two numbers, got string and number")
    expect(err(bin("*", q([]), lit(1)))).toMatch(/"\*" expects two numbers/)
    expect(err(bin("/", lit(1), lit(0)))).toBe("Division by zero")
    expect(err(bin("%", lit(1), lit(0)))).toBe("Modulo by zero")
    expect(err(bin("*", lit(1e308), lit(10)))).toBe("Operator \"*\" produced a non-finite number")
    expect(err(bin("+", lit(1e308), lit(1e308)))).toMatch(/non-finite/)
    expect(err(bin("-", lit(-1e308), lit(1e308)))).toMatch(/non-finite/)
  })
  it("unary minus and not", () => {
    expect(ok({ kind: "unary", op: "-", arg: lit(3) })).toBe(-3)
    expect(Object.is(ok({ kind: "unary", op: "-", arg: lit(0) }), 0)).toBe(true)
    expect(ok({ kind: "unary", op: "not", arg: lit(false) })).toBe(true)
    expect(err({ kind: "unary", op: "-", arg: lit("3") })).toBe("Operator \"-\" expects a number, got string")
    expect(err({ kind: "unary", op: "not", arg: lit(0) })).toBe("Operator \"not\" expects a boolean, got number")
  })
})

describe("evalPure: comparison and equality", () => {
  it("orders numbers and strings by code unit", () => {
    expect(ok(bin("<", lit(1), lit(2)))).toBe(true)
    expect(ok(bin("<=", lit(2), lit(2)))).toBe(true)
    expect(ok(bin(">", lit("b"), lit("a")))).toBe(true)
    expect(ok(bin(">=", lit("B"), lit("a")))).toBe(false)
    // U+FF5E vs U+1F600 (surrogate pair starting 0xD83D): code-unit order, not code point order.
    expect(ok(bin("<", lit("\ud83d\ude00"), lit("\uff5e")))).toBe(true)
  })
  it("rejects mixed comparisons", () => {
    expect(err(bin("<", lit(1), lit("2")))).toBe(
      "Operator \"<\" expects two numbers or two strings, got number and string"
    )
    expect(err(bin(">=", lit(null), lit(null)))).toMatch(/got null and null/)
    expect(err(bin(">", q([1]), q([2])))).toMatch(/got list and list/)
  })
  it("== and != are deep, ignore record key order, never fail", () => {
    expect(ok(bin("==", q({ a: 1, b: [1, { c: null }] }), q({ b: [1, { c: null }], a: 1 })))).toBe(true)
    expect(ok(bin("==", q([1, 2]), q([2, 1])))).toBe(false)
    expect(ok(bin("==", lit(1), lit("1")))).toBe(false)
    expect(ok(bin("!=", q({ a: 1 }), q({ a: 1, b: 2 })))).toBe(true)
    expect(ok(bin("==", q({ a: null }), q({ b: null })))).toBe(false)
    expect(ok(bin("==", q([]), q({})))).toBe(false)
    expect(ok(bin("==", lit(null), lit(null)))).toBe(true)
  })
  it("jsonEquals handles deep values without recursion", () => {
    let a: Json = 1
    let b: Json = 1
    for (let i = 0; i < 100_000; i++) {
      a = [a]
      b = [b]
    }
    expect(jsonEquals(a, b)).toBe(true)
  })
})

describe("evalPure: and / or / not", () => {
  it("computes boolean logic", () => {
    expect(ok(bin("and", ref("t"), ref("t")))).toBe(true)
    expect(ok(bin("and", ref("t"), ref("f")))).toBe(false)
    expect(ok(bin("or", ref("f"), ref("t")))).toBe(true)
    expect(ok(bin("or", ref("f"), ref("f")))).toBe(false)
  })
  it("short-circuits: the right side is not evaluated", () => {
    expect(ok(bin("and", lit(false), ref("missing")))).toBe(false)
    expect(ok(bin("or", lit(true), bin("/", lit(1), lit(0))))).toBe(true)
  })
  it("rejects non-boolean operands", () => {
    expect(err(bin("and", lit(1), lit(true)))).toBe("Operator \"and\" expects booleans, got number")
    expect(err(bin("and", lit(true), lit("x")))).toBe("Operator \"and\" expects booleans, got boolean and string")
    expect(err(bin("or", lit(false), lit(null)))).toMatch(/got boolean and null/)
    expect(err(bin("and", lit(true), ref("missing")))).toBe("Unbound reference \"missing\"")
  })
})

describe("evalPure: get, index, slice", () => {
  it("reads record fields, null when absent", () => {
    expect(ok({ kind: "get", target: ref("r"), field: "a" })).toBe(1)
    expect(ok({ kind: "get", target: { kind: "get", target: ref("r"), field: "b" }, field: "c" })).toBe("deep")
    expect(ok({ kind: "get", target: ref("r"), field: "zz" })).toBe(null)
    expect(ok({ kind: "get", target: ref("r"), field: "toString" })).toBe(null)
  })
  it("rejects get on non-records", () => {
    expect(err({ kind: "get", target: ref("xs"), field: "a" })).toBe("Cannot read field \"a\" of list")
    expect(err({ kind: "get", target: lit(null), field: "a" })).toBe("Cannot read field \"a\" of null")
  })
  it("indexes lists (negative from the end, out of range is null)", () => {
    const at = (i: Expr) => ok({ kind: "index", target: ref("xs"), index: i })
    expect(at(lit(0))).toBe(10)
    expect(at(lit(-1))).toBe(30)
    expect(at(lit(3))).toBe(null)
    expect(at(lit(-4))).toBe(null)
  })
  it("indexes records by string and strings by code unit", () => {
    expect(ok({ kind: "index", target: ref("r"), index: lit("a") })).toBe(1)
    expect(ok({ kind: "index", target: ref("r"), index: lit("nope") })).toBe(null)
    expect(ok({ kind: "index", target: ref("s"), index: lit(1) })).toBe("é")
    expect(ok({ kind: "index", target: ref("s"), index: lit(-1) })).toBe("o")
    expect(ok({ kind: "index", target: ref("s"), index: lit(5) })).toBe(null)
  })
  it("rejects bad index types", () => {
    expect(err({ kind: "index", target: ref("xs"), index: lit(1.5) })).toBe(
      "Cannot index a list with a non-integer number"
    )
    expect(err({ kind: "index", target: ref("xs"), index: lit("0") })).toBe("Cannot index a list with string")
    expect(err({ kind: "index", target: ref("r"), index: lit(0) })).toBe("Cannot index a record with number")
    expect(err({ kind: "index", target: ref("s"), index: lit(null) })).toBe("Cannot index a string with null")
    expect(err({ kind: "index", target: lit(5), index: lit(0) })).toBe("Cannot index number")
  })
  it("slices with Python semantics", () => {
    const sl = (target: Expr, a: number | null, b: number | null) =>
      ok({ kind: "slice", target, start: a === null ? null : lit(a), end: b === null ? null : lit(b) })
    expect(sl(ref("xs"), 1, null)).toEqual([20, 30])
    expect(sl(ref("xs"), null, -1)).toEqual([10, 20])
    expect(sl(ref("xs"), -2, null)).toEqual([20, 30])
    expect(sl(ref("xs"), -100, 100)).toEqual([10, 20, 30])
    expect(sl(ref("xs"), 2, 1)).toEqual([])
    expect(sl(ref("s"), 1, 3)).toBe("él")
    expect(sl(ref("s"), 4, 2)).toBe("")
    expect(ok({ kind: "slice", target: ref("xs"), start: lit(null), end: lit(null) })).toEqual([10, 20, 30])
  })
  it("rejects bad slices", () => {
    expect(err({ kind: "slice", target: ref("r"), start: null, end: null })).toBe("Cannot slice record")
    expect(err({ kind: "slice", target: ref("xs"), start: lit(0.5), end: null })).toBe(
      "Slice bounds must be integers, got a non-integer number"
    )
    expect(err({ kind: "slice", target: ref("xs"), start: null, end: lit("2") })).toBe(
      "Slice bounds must be integers, got string"
    )
  })
  it("propagates errors from sub-expressions", () => {
    expect(err({ kind: "get", target: ref("nope"), field: "a" })).toBe("Unbound reference \"nope\"")
    expect(err(list(lit(1), bin("/", lit(1), lit(0))))).toBe("Division by zero")
    expect(err(rec({ a: ref("nope") }))).toBe("Unbound reference \"nope\"")
    expect(err(call("len", ref("nope")))).toBe("Unbound reference \"nope\"")
  })
})

describe("builtins", () => {
  it("len counts code points, items and keys", () => {
    expect(fn("len", "héllo")).toBe(5)
    expect(fn("len", "🎉a")).toBe(2)
    expect(fn("len", [1, 2])).toBe(2)
    expect(fn("len", { a: 1, b: 2 })).toBe(2)
    expect(fnErr("len", 5)).toBe("len() expects a string, list or record, got number")
    expect(fnErr("len")).toBe("len() takes 1 argument, got 0")
    expect(fnErr("len", "a", "b")).toBe("len() takes 1 argument, got 2")
  })
  it("keys and values in code-unit key order", () => {
    expect(fn("keys", { b: 1, a: 2, B: 3 })).toEqual(["B", "a", "b"])
    expect(fn("values", { b: 1, a: 2, B: 3 })).toEqual([3, 2, 1])
    expect(fnErr("keys", [1])).toBe("keys() expects a record, got list")
    expect(fnErr("values", null)).toBe("values() expects a record, got null")
  })
  it("concat lists or strings", () => {
    expect(fn("concat", [1], [2, 3], [])).toEqual([1, 2, 3])
    expect(fn("concat", "a", "b", "c")).toBe("abc")
    expect(fn("concat", "a")).toBe("a")
    expect(fnErr("concat", [1], "a")).toBe("concat() expects all lists or all strings, got list, string")
    expect(fnErr("concat")).toBe("concat() takes at least 1 argument, got 0")
  })
  it("join", () => {
    expect(fn("join", ["a", "b"])).toBe("ab")
    expect(fn("join", ["a", "b"], ", ")).toBe("a, b")
    expect(fn("join", [])).toBe("")
    expect(fnErr("join", ["a", 1])).toBe("join() expects a list of strings, found number")
    expect(fnErr("join", "ab")).toBe("join() expects a list of strings, got string")
    expect(fnErr("join", ["a"], 1)).toBe("join() expects a string separator, got number")
    expect(fnErr("join", ["a"], "", "")).toBe("join() takes 1 to 2 arguments, got 3")
  })
  it("split", () => {
    expect(fn("split", "a,b,,c", ",")).toEqual(["a", "b", "", "c"])
    expect(fn("split", "a🎉b", "")).toEqual(["a", "🎉", "b"])
    expect(fnErr("split", "a")).toBe("split() takes 2 arguments, got 1")
    expect(fnErr("split", 1, ",")).toBe("split() expects a string, got number")
    expect(fnErr("split", "a", null)).toBe("split() expects a string separator, got null")
  })
  it("lower and upper", () => {
    expect(fn("lower", "AbC")).toBe("abc")
    expect(fn("upper", "AbC")).toBe("ABC")
    expect(fnErr("lower", 1)).toBe("lower() expects a string, got number")
    expect(fnErr("upper", ["a"])).toBe("upper() expects a string, got list")
  })
  it("min and max", () => {
    expect(fn("min", [3, 1, 2])).toBe(1)
    expect(fn("max", [3, 1, 2])).toBe(3)
    expect(fn("min", 5, -2, 9)).toBe(-2)
    expect(fn("max", 5)).toBe(5)
    expect(fnErr("min", [])).toBe("min() of an empty list")
    expect(fnErr("max")).toBe("max() takes at least 1 argument, got 0")
    expect(fnErr("min", [1, "2"])).toBe("min() expects one list of numbers or number arguments, got list")
    expect(fnErr("max", [1], 2)).toBe("max() expects one list of numbers or number arguments, got list, number")
    expect(fnErr("min", "a")).toMatch(/got string/)
  })
  it("sum", () => {
    expect(fn("sum", [1, 2, 3.5])).toBe(6.5)
    expect(fn("sum", [])).toBe(0)
    expect(fnErr("sum", [1, "a"])).toBe("sum() expects a list of numbers, got list")
    expect(fnErr("sum", 3)).toBe("sum() expects a list of numbers, got number")
    expect(fnErr("sum", [1e308, 1e308])).toBe("sum() produced a non-finite number")
  })
  it("round half away from zero", () => {
    expect(fn("round", 2.5)).toBe(3)
    expect(fn("round", -2.5)).toBe(-3)
    expect(fn("round", 2.4)).toBe(2)
    expect(fn("round", 1.005, 2)).toBe(1.01)
    expect(fn("round", -1.005, 2)).toBe(-1.01)
    expect(fn("round", 1234.5678, -2)).toBe(1200)
    expect(fn("round", 1e-7, 3)).toBe(0)
    expect(Object.is(fn("round", -0.4), 0)).toBe(true)
    expect(fn("round", 1e300, 100)).toBe(1e300)
    expect(fnErr("round", "1")).toBe("round() expects a number, got string")
    expect(fnErr("round", 1, 0.5)).toBe("round() expects an integer number of digits, got a non-integer number")
    expect(fnErr("round")).toBe("round() takes 1 to 2 arguments, got 0")
  })
  it("str", () => {
    expect(fn("str", "x")).toBe("x")
    expect(fn("str", 1.5)).toBe("1.5")
    expect(fn("str", null)).toBe("null")
    expect(fn("str", { b: [1, true], a: "x" })).toBe("{\"a\":\"x\",\"b\":[1,true]}")
    expect(fnErr("str")).toBe("str() takes 1 argument, got 0")
  })
  it("num", () => {
    expect(fn("num", 4)).toBe(4)
    expect(fn("num", true)).toBe(1)
    expect(fn("num", false)).toBe(0)
    expect(fn("num", " 12.5 ")).toBe(12.5)
    expect(fn("num", "-3e2")).toBe(-300)
    expect(fn("num", ".5")).toBe(0.5)
    expect(fnErr("num", "abc")).toBe("num() cannot read a number from \"abc\"")
    expect(fnErr("num", "")).toBe("num() cannot read a number from \"\"")
    expect(fnErr("num", "0x10")).toMatch(/cannot read/)
    expect(fnErr("num", "Infinity")).toMatch(/cannot read/)
    expect(fnErr("num", "1e999")).toMatch(/cannot read/)
    expect(fnErr("num", null)).toBe("num() expects a number, boolean or numeric string, got null")
  })
  it("range", () => {
    expect(fn("range", 3)).toEqual([0, 1, 2])
    expect(fn("range", 2, 5)).toEqual([2, 3, 4])
    expect(fn("range", -2, 1)).toEqual([-2, -1, 0])
    expect(fn("range", 0)).toEqual([])
    expect(fn("range", 5, 2)).toEqual([])
    expect((fn("range", 1_000_000) as ReadonlyArray<Json>).length).toBe(1_000_000)
    expect(fnErr("range", 1_000_001)).toBe("range() of 1000001 items exceeds the limit of 1000000")
    expect(fnErr("range", 1.5)).toBe("range() expects integers, got a non-integer number")
    expect(fnErr("range", "3")).toBe("range() expects integers, got string")
    expect(fnErr("range")).toBe("range() takes 1 to 2 arguments, got 0")
    expect(fnErr("range", 1, 2, 3)).toBe("range() takes 1 to 2 arguments, got 3")
  })
})

describe("applyBinary / applyUnary / applyBuiltin", () => {
  it("expose the same semantics on values", () => {
    expect(Either.getOrThrow(applyBinary("+", 1, 2))).toBe(3)
    expect(Either.isLeft(applyBinary("and", 1, true))).toBe(true)
    expect(Either.getOrThrow(applyBinary("or", false, true))).toBe(true)
    expect(Either.getOrThrow(applyUnary("not", true))).toBe(false)
    expect(Either.getOrThrow(applyBuiltin("len", ["ab"]))).toBe(2)
    expect(Either.isLeft(applyBuiltin("len", []))).toBe(true)
  })
})

describe("deep expressions", () => {
  it("reports an error instead of overflowing the stack", () => {
    let e: Expr = lit(1)
    for (let i = 0; i < 200_000; i++) e = { kind: "unary", op: "-", arg: e }
    const result = evalPure(e, env)
    expect(Either.isLeft(result) && result.left.message).toBe("Expression nested too deeply to evaluate")
  })
  it("evaluates moderately deep expressions", () => {
    let e: Expr = lit(0)
    for (let i = 0; i < 1000; i++) e = bin("+", e, lit(1))
    expect(ok(e)).toBe(1000)
  })
})
