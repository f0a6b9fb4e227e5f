import { describe, expect, it } from "vitest"
import { firstViolation } from "../../src/eval/jsonSchemaCheck.js"
import { contains, exact, normalizedExact, normalizeText, numericClose, tokenF1 } from "../../src/eval/textMetrics.js"

describe("built-in scorers", () => {
  it("exact compares canonical JSON (key order does not matter)", () => {
    expect(exact({ a: 1, b: [2] }, { b: [2], a: 1 })).toBe(1)
    expect(exact("Paris", "paris")).toBe(0)
    expect(exact(undefined, null)).toBe(0)
  })

  it("normalized exact: case, punctuation, articles and spaces", () => {
    expect(normalizeText("  The  Eiffel-Tower! ")).toBe("eiffel tower")
    expect(normalizedExact("The Eiffel Tower.", "eiffel tower")).toBe(1)
    expect(normalizedExact("Eiffel", "eiffel tower")).toBe(0)
  })

  it("token F1 is the SQuAD F1", () => {
    expect(tokenF1("the cat sat", "cat sat down")).toBeCloseTo(0.8, 12)
    expect(tokenF1("", "")).toBe(1)
    expect(tokenF1("x", "")).toBe(0)
    expect(tokenF1("dog", "cat")).toBe(0)
  })

  it("contains: a phrase, or every phrase of a list, on word boundaries", () => {
    expect(contains("It is Paris, France.", "paris")).toBe(1)
    expect(contains("It is Paris, France.", ["paris", "france"])).toBe(1)
    expect(contains("Parisian", "paris")).toBe(0)
  })

  it("numeric: absolute and relative tolerance; numbers in strings", () => {
    expect(numericClose("3.14", 3.1416, 0.01, false)).toBe(1)
    expect(numericClose(3.2, 3.1416, 0.01, false)).toBe(0)
    expect(numericClose(105, 100, 0.05, true)).toBe(1)
    expect(numericClose(106, 100, 0.05, true)).toBe(0)
    expect(numericClose("n/a", 1, 1, false)).toBe(0)
  })

  it("the JSON Schema subset reports the first violation with its path", () => {
    const schema = {
      type: "object",
      required: ["name", "age"],
      properties: { name: { type: "string", minLength: 1 }, age: { type: "integer", minimum: 0 } },
      additionalProperties: false
    }
    expect(firstViolation(schema, { name: "Ada", age: 36 })).toBeUndefined()
    expect(firstViolation(schema, { name: "Ada" })).toBe(`$: missing required "age"`)
    expect(firstViolation(schema, { name: "Ada", age: 1.5 })).toBe("$.age: expected integer, got number")
    expect(firstViolation(schema, { name: "Ada", age: 1, x: 1 })).toBe(`$: unexpected "x"`)
    expect(firstViolation({ type: "array", items: { enum: [1, 2] } }, [1, 3])).toBe("$[1]: not one of the enum values")
    expect(firstViolation({ anyOf: [{ type: "string" }, { type: "null" }] }, 1)).toBe("$: matches none of anyOf")
  })
})
