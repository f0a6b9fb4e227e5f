/**
 * Law: chunk offsets slice back to the exact source text, for every
 * strategy, size and overlap — and chunks are trimmed, non-empty, in order,
 * within size, never start or end inside a surrogate pair, and cover every
 * non-blank character of the text.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { chunkText } from "../src/retrieval/chunk.js"
import type { ChunkStrategy } from "../src/retrieval/chunk.js"
import { LAW_CASES, numRuns } from "./settings.js"

const pieces = fc.constantFrom(
  "word",
  " ",
  "  ",
  ".",
  ". ",
  "!",
  "?\n",
  "\n",
  "\n\n",
  "# Head\n",
  "é",
  "😀",
  "\t",
  "x",
  "abc def",
  "ghi."
)
const text = fc.oneof(
  fc.array(pieces, { maxLength: 80 }).map((xs) => xs.join("")),
  fc.fullUnicodeString({ maxLength: 200 }),
  fc.string({ maxLength: 200 })
)
const strategy: fc.Arbitrary<ChunkStrategy> = fc
  .tuple(
    fc.constantFrom("fixed" as const, "sentence" as const, "recursive" as const),
    fc.integer({ min: 1, max: 60 }),
    fc.integer({ min: 0, max: 59 })
  )
  .map(([kind, size, overlap]) => ({ kind, size, overlap: overlap % size }))

const isLow = (c: number) => c >= 0xdc00 && c <= 0xdfff

describe("chunk offsets", () => {
  it.prop("slice back to the exact source text", [text, strategy], ([t, s]) => {
    const chunks = chunkText(t, s)
    const covered = new Array<boolean>(t.length).fill(false)
    let lastStart = -1
    chunks.forEach((c, i) => {
      expect(c.index).toBe(i)
      expect(t.slice(c.start, c.end)).toBe(c.text)
      expect(c.text.length).toBeGreaterThan(0)
      expect(c.text).toBe(c.text.trim())
      expect(c.start).toBeGreaterThan(lastStart)
      lastStart = c.start
      // At most `size`, except one whole surrogate pair when size is 1.
      expect(c.end - c.start).toBeLessThanOrEqual(Math.max(s.size, 2))
      expect(isLow(t.charCodeAt(c.start))).toBe(false)
      if (c.end < t.length) expect(isLow(t.charCodeAt(c.end))).toBe(false)
      for (let j = c.start; j < c.end; j++) covered[j] = true
    })
    for (let j = 0; j < t.length; j++) {
      if (!covered[j] && t[j]!.trim() !== "") expect.fail(`character ${j} (${JSON.stringify(t[j])}) is in no chunk`)
    }
  }, { fastCheck: { numRuns: numRuns(2 * LAW_CASES) } })

  // Found by the law at seed 863649724: U+2028 (a line separator) made a chunk of its own.
  it("every ECMAScript whitespace is trimmed away, line separators too", () => {
    const spaces = "\u1680\u2028\u2029\u202f\u205f\ufeff"
    for (const kind of ["fixed", "sentence", "recursive"] as const) {
      expect(chunkText(`${spaces}a${spaces}`, { kind, size: 1, overlap: 0 }).map((c) => c.text)).toEqual(["a"])
    }
  })
})
