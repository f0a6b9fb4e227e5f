import { describe, expect, it } from "vitest"
import type { Type } from "../../src/ir/schema.js"
import { formatType, isAssignable, isLiteralExpr, join, joinAll, typeEquals } from "../../src/validate/types.js"
import { T } from "../support/validate.js"

describe("type algebra", () => {
  it("formats types in DSL syntax", () => {
    expect(formatType(T.string)).toBe("string")
    expect(formatType(T.list(T.list(T.number)))).toBe("number[][]")
    expect(formatType(T.record({ text: T.string, "min-score": T.number }))).toBe(
      "{ text: string, \"min-score\": number }"
    )
    expect(formatType(T.list(T.record({})))).toBe("{}[]")
  })

  it("compares types structurally, ignoring record field order", () => {
    expect(typeEquals(T.record({ a: T.string, b: T.number }), T.record({ b: T.number, a: T.string }))).toBe(true)
    expect(typeEquals(T.record({ a: T.string }), T.record({ a: T.number }))).toBe(false)
    expect(typeEquals(T.list(T.string), T.string)).toBe(false)
  })

  it("joins agreeing types and falls back to any", () => {
    expect(join(T.string, T.string)).toEqual(T.string)
    expect(join(T.string, T.null)).toEqual(T.any)
    expect(join(T.list(T.number), T.list(T.string))).toEqual(T.list(T.any))
    expect(join(T.record({ a: T.number }), T.record({ a: T.number }))).toEqual(T.record({ a: T.number }))
    expect(join(T.record({ a: T.number }), T.record({ b: T.number }))).toEqual(T.any)
    expect(joinAll([])).toEqual(T.any)
  })

  it("assigns only what certainly fits; any fits everywhere, records compare common fields", () => {
    expect(isAssignable(T.any, T.string)).toBe(true)
    expect(isAssignable(T.number, T.any)).toBe(true)
    expect(isAssignable(T.list(T.any), T.list(T.string))).toBe(true)
    expect(isAssignable(T.list(T.number), T.list(T.string))).toBe(false)
    expect(isAssignable(T.record({ a: T.string, extra: T.null }), T.record({ a: T.string, b: T.number }))).toBe(true)
    expect(isAssignable(T.record({ a: T.number }), T.record({ a: T.string }))).toBe(false)
    expect(isAssignable(T.null, T.string)).toBe(false)
  })

  it("degrades absurdly deep types instead of overflowing", () => {
    let deep: Type = T.number
    for (let i = 0; i < 100_000; i++) deep = T.list(deep)
    expect(() => formatType(deep)).not.toThrow()
    expect(typeEquals(deep, deep)).toBe(true)
    expect(isAssignable(deep, T.string)).toBe(false)
    expect(join(deep, deep).kind).toBe("list")
  })

  it("tells literal expressions apart", () => {
    expect(isLiteralExpr({ kind: "lit", value: 1 })).toBe(true)
    expect(
      isLiteralExpr({
        kind: "record",
        entries: [{ key: "a", value: { kind: "list", items: [{ kind: "lit", value: null }] } }]
      })
    ).toBe(true)
    expect(isLiteralExpr({ kind: "list", items: [{ kind: "ref", name: "x" }] })).toBe(false)
    expect(isLiteralExpr({ kind: "unary", op: "-", arg: { kind: "lit", value: 1 } })).toBe(false)
  })
})
