/** The content hash of events: `hashJson` is `hashText` of the canonical JSON, computed without building it. */
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { canonicalJson } from "../../src/ir/canonical.js"
import { hashJson, hashText } from "../../src/trace/contentHash.js"

describe("hashJson", () => {
  it("equals hashText of the canonical JSON for any JSON value", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(hashJson(v)).toBe(hashText(canonicalJson(v)))
      }),
      { numRuns: 500 }
    )
  })

  it("ignores key order, distinguishes values, and survives deep nesting", () => {
    expect(hashJson({ a: 1, b: [true, null] })).toBe(hashJson({ b: [true, null], a: 1 }))
    expect(hashJson({ a: 1 })).not.toBe(hashJson({ a: 2 }))
    expect(hashJson("1")).not.toBe(hashJson(1))
    expect(hashJson(-0)).toBe(hashJson(0))
    let deep: unknown = 1
    for (let i = 0; i < 5000; i++) deep = [deep]
    expect(hashJson(deep)).toBe(hashText(canonicalJson(deep)))
    expect(hashJson(null)).toMatch(/^[0-9a-f]{16}$/)
  })
})
