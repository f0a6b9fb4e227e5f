import { Effect, Either } from "effect"
import { describe, expect, it } from "vitest"
import { parseDataset, parseExamples, toJsonl } from "../../src/eval/dataset.js"

const parse = (text: string) => Effect.runSync(Effect.either(parseDataset("d.jsonl", text)))

describe("parseDataset", () => {
  it("reads examples, skipping blank and # lines; numeric ids become strings; round-trips through toJsonl", () => {
    const r = parse(
      `# a comment\n{"id": 1, "inputs": {"x": 1}, "expected": 2, "tags": ["t"]}\n\n{"id": "b", "inputs": {}}\n`
    )
    expect(Either.isRight(r)).toBe(true)
    const examples = Either.getOrThrow(r)
    expect(examples).toEqual([{ id: "1", inputs: { x: 1 }, expected: 2, tags: ["t"] }, { id: "b", inputs: {} }])
    expect(Either.getOrThrow(parse(toJsonl(examples)))).toEqual(examples)
  })

  it("names the line of bad JSON, a bad shape, an unknown key and a duplicate id", () => {
    const cases: Array<[string, string, RegExp]> = [
      [`{"id": "a", "inputs": {}}\n{not json`, "d.jsonl:2", /not JSON/],
      [`{"id": "a"}`, "d.jsonl:1", /inputs/],
      [`{"id": "a", "inputs": {}, "extra": 1}`, "d.jsonl:1", /extra/],
      [`{"id": "a", "inputs": {}}\n{"id": "a", "inputs": {}}`, "d.jsonl:2", /duplicate id "a" \(first on line 1\)/],
      [`\n# nothing\n`, "d.jsonl", /no examples/]
    ]
    for (const [text, location, message] of cases) {
      const r = parse(text)
      expect(Either.isLeft(r)).toBe(true)
      if (Either.isLeft(r)) {
        expect(r.left.location).toBe(location)
        expect(r.left.message).toMatch(message)
        expect(r.left.reason).toBe("dataset")
      }
    }
  })
})

describe("parseExamples", () => {
  const errorOf = (items: ReadonlyArray<unknown>) => {
    const r = Effect.runSync(Effect.either(parseExamples("dataset", items)))
    if (Either.isRight(r)) throw new Error("expected an error")
    return r.left
  }

  it("reads examples given as values, ids as strings", () => {
    const ok = Effect.runSync(parseExamples("dataset", [{ id: 1, inputs: { q: "a" }, expected: "b", tags: ["t"] }]))
    expect(ok).toEqual([{ id: "1", inputs: { q: "a" }, expected: "b", tags: ["t"] }])
  })

  it("locates errors as name[index] plus the field path", () => {
    expect(
      errorOf([{ id: "a", inputs: {} }, { id: "b", inputs: {} }, { id: "c", inputs: {} }, { id: "d", inputs: 3 }])
        .location
    )
      .toBe("dataset[3].inputs")
    expect(errorOf([{ id: "a", inputs: {}, tags: ["x", 2] }]).location).toBe("dataset[0].tags[1]")
    expect(errorOf([{ id: "a", inputs: {}, extra: 1 }]).location).toBe("dataset[0].extra")
    expect(errorOf(["no"]).location).toBe("dataset[0]")
    const duplicate = errorOf([{ id: "a", inputs: {} }, { id: "a", inputs: {} }])
    expect(duplicate.location).toBe("dataset[1].id")
    expect(duplicate.message).toContain("dataset[0]")
    expect(errorOf([]).location).toBe("dataset")
  })
})
