/**
 * The memory `SubmissionKeys`: the first claim of a key wins until it
 * expires, keys are per workspace, and an expired key may be claimed again.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { SubmissionKeys } from "../../src/runtime/submissionKeys.js"

describe("SubmissionKeys.layerMemory", () => {
  it.effect("first claim wins until expiry; per workspace", () =>
    Effect.gen(function*() {
      const keys = yield* SubmissionKeys
      const a = { bodyHash: "h1", runId: "r1" }
      const b = { bodyHash: "h2", runId: "r2" }
      expect(yield* keys.claim("w", "k", a, 0, 100)).toEqual({ _tag: "claimed" })
      expect(yield* keys.claim("w", "k", b, 50, 100)).toEqual({ _tag: "held", record: a })
      expect(yield* keys.get("w", "k", 99)).toEqual(Option.some(a))
      expect(yield* keys.claim("other", "k", b, 50, 100)).toEqual({ _tag: "claimed" })
      expect(yield* keys.get("w", "k", 100)).toEqual(Option.none())
      expect(yield* keys.claim("w", "k", b, 100, 100)).toEqual({ _tag: "claimed" })
      expect(yield* keys.get("w", "k", 150)).toEqual(Option.some(b))
    }).pipe(Effect.provide(SubmissionKeys.layerMemory)))
})
