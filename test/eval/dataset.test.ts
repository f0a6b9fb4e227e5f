import { Effect, Either } from "effect"
import { describe, expect, it } from "vitest"
import { parseDataset, toJsonl } from "../../src/eval/dataset.js"

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
