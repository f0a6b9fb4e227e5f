import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { canonicalJson, compareCodeUnits } from "../../src/ir/canonical.js"

describe("canonicalJson", () => {
  it("sorts keys by code unit, no whitespace", () => {
    expect(canonicalJson({ b: 1, a: [true, null, "x"], B: { d: 1, c: 2 } })).toBe(
      "{\"B\":{\"c\":2,\"d\":1},\"a\":[true,null,\"x\"],\"b\":1}"
    )
    // U+FF5E sorts after the surrogate pair of U+1F600 by code unit (not by code point).
    expect(canonicalJson({ "\uff5e": 1, "\ud83d\ude00": 2 })).toBe("{\"\ud83d\ude00\":2,\"\uff5e\":1}")
  })
  it("sorts integer-like keys as strings", () => {
    expect(canonicalJson({ "10": 1, "9": 2, a: 3, "1": 4 })).toBe("{\"1\":4,\"10\":1,\"9\":2,\"a\":3}")
    expect(canonicalJson([{ "2": [{ "10": 0, "1": 1 }] }])).toBe("[{\"2\":[{\"1\":1,\"10\":0}]}]")
  })
  it("writes numbers in shortest form, -0 as 0", () => {
    expect(canonicalJson([1, 1.5, -0, 1e21, 1e-7, 0.1 + 0.2])).toBe("[1,1.5,0,1e+21,1e-7,0.30000000000000004]")
    expect(canonicalJson(-0)).toBe("0")
    expect(canonicalJson({ x: -0 })).toBe("{\"x\":0}")
  })
  it("omits undefined fields, writes undefined array items as null", () => {
    expect(canonicalJson({ a: undefined, b: 1 })).toBe("{\"b\":1}")
    expect(canonicalJson([undefined, 1])).toBe("[null,1]")
    expect(canonicalJson(undefined)).toBe("null")
  })
  it("escapes strings as JSON and keeps __proto__ as an ordinary key", () => {
    expect(canonicalJson("a\"b\\c\n")).toBe("\"a\\\"b\\\\c\\n\"")
    expect(canonicalJson(JSON.parse("{\"__proto__\": 1, \"a\": 2}"))).toBe("{\"__proto__\":1,\"a\":2}")
    expect(canonicalJson(Object.fromEntries([["b", 1], ["__proto__", 2]]))).toBe("{\"__proto__\":2,\"b\":1}")
  })
  it("writes values nested deeper than the call stack", () => {
    let deep: unknown = 1
    for (let i = 0; i < 100_000; i++) deep = i % 2 === 0 ? [deep] : { k: deep, "1": 0 }
    const text = canonicalJson(deep)
    expect(text.startsWith("{\"1\":0,\"k\":[{\"1\":0,\"k\":[")).toBe(true)
    expect(text.length).toBeGreaterThan(500_000)
  })
  it("is JSON that parses back to an equal value, independent of key insertion order", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const text = canonicalJson(v)
        expect(canonicalJson(JSON.parse(text))).toBe(text)
        const reversed = JSON.parse(
          JSON.stringify(v),
          (_k, x: unknown) =>
            x !== null && typeof x === "object" && !Array.isArray(x)
              ? Object.fromEntries(Object.entries(x).reverse())
              : x
        )
        expect(canonicalJson(reversed)).toBe(text)
      }),
      { numRuns: 300 }
    )
  })
  it("compareCodeUnits orders like < on strings", () => {
    expect(["b", "a", "B", "aa"].sort(compareCodeUnits)).toEqual(["B", "a", "aa", "b"])
    expect(compareCodeUnits("x", "x")).toBe(0)
  })
})
