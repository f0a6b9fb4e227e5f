/** The built-in tools (except http.get, tested with its guard). */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Either, Exit, Fiber, Option, TestClock } from "effect"
import { sha256Hex } from "../../../src/ir/hash.js"
import type { AnyTool } from "../../../src/tools/index.js"
import {
  builtinTools,
  chunkText,
  echo,
  fail,
  fromKind,
  invoke,
  jsonParse,
  Permanent,
  sleep,
  textChunk,
  textHash
} from "../../../src/tools/index.js"

const run = (tool: AnyTool, args: unknown) => Effect.runSync(Effect.either(invoke(tool, args)))

describe("built-in list", () => {
  it("has every built-in once, in a fixed order", () => {
    expect(builtinTools.map((t) => t.name)).toEqual([
      "std.echo",
      "std.sleep",
      "std.fail",
      "http.get",
      "text.chunk",
      "text.hash",
      "json.parse",
      "calibrate"
    ])
  })
})

describe("std.echo", () => {
  it("returns its argument, any JSON", () => {
    for (const value of [null, 1, "s", [1, { a: true }], { nested: { x: [] } }]) {
      expect(run(echo, { value })).toEqual(Either.right(value))
    }
    expect(echo.idempotent).toBe(true)
  })

  it("requires `value`", () => {
    expect(run(echo, {})).toEqual(
      Either.left(new Permanent({ message: "{ readonly value: unknown }\n└─ [\"value\"]\n   └─ is missing" }))
    )
  })
})

describe("std.sleep", () => {
  it.effect("waits on the Clock (TestClock), then returns null", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(invoke(sleep, { ms: 1500 }))
      yield* TestClock.adjust(Duration.millis(1499))
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* TestClock.adjust(Duration.millis(1))
      expect(yield* Fiber.join(fiber)).toBe(null)
    }))

  it.effect("is interruptible", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(invoke(sleep, { ms: 60_000 }))
      yield* Fiber.interrupt(fiber)
      const exit = yield* Fiber.await(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
    }))

  it("refuses negative and non-finite ms", () => {
    expect(Either.isLeft(run(sleep, { ms: -1 }))).toBe(true)
    expect(Either.isLeft(run(sleep, { ms: "10" }))).toBe(true)
  })
})

describe("std.fail", () => {
  it("fails with each kind of the taxonomy", () => {
    for (
      const kind of [
        "Timeout",
        "RateLimited",
        "Transient",
        "Permanent",
        "Cancelled",
        "BudgetExceeded",
        "Defect"
      ] as const
    ) {
      expect(run(fail, { kind, message: "boom" })).toEqual(Either.left(fromKind(kind, "boom")))
    }
    expect(run(fail, { kind: "RateLimited", message: "slow", retryAfterMs: 500 })).toEqual(
      Either.left(fromKind("RateLimited", "slow", 500))
    )
  })

  it("refuses an unknown kind", () => {
    const result = run(fail, { kind: "Oops", message: "m" })
    expect(Either.isLeft(result) && result.left._tag).toBe("Permanent")
  })
})

describe("text.chunk", () => {
  it("splits into windows with overlap, the last one ending at the end", () => {
    expect(run(textChunk, { text: "abcdefg", size: 3 })).toEqual(Either.right(["abc", "def", "g"]))
    expect(run(textChunk, { text: "abcdefg", size: 3, overlap: 1 })).toEqual(Either.right(["abc", "cde", "efg"]))
    expect(run(textChunk, { text: "abcdefgh", size: 3, overlap: 1 })).toEqual(Either.right(["abc", "cde", "efg", "gh"]))
    expect(run(textChunk, { text: "ab", size: 5 })).toEqual(Either.right(["ab"]))
    expect(run(textChunk, { text: "", size: 5 })).toEqual(Either.right([]))
  })

  it("counts code points, never splitting a surrogate pair", () => {
    expect(chunkText("😀😀😀", 2, 0)).toEqual(["😀😀", "😀"])
  })

  it("covers the text: chunks minus overlaps rebuild it", () => {
    const text = "the quick brown fox jumps over the lazy dog"
    for (const [size, overlap] of [[1, 0], [4, 1], [7, 3], [10, 9], [50, 2]] as const) {
      const chunks = chunkText(text, size, overlap)
      const rebuilt = chunks.map((c, i) => (i === 0 ? c : Array.from(c).slice(overlap).join(""))).join("")
      expect(rebuilt).toBe(text)
      for (const c of chunks) expect(Array.from(c).length).toBeLessThanOrEqual(size)
    }
  })

  it("refuses overlap ≥ size and bad sizes", () => {
    expect(run(textChunk, { text: "abc", size: 2, overlap: 2 })).toEqual(
      Either.left(new Permanent({ message: "overlap (2) must be less than size (2)" }))
    )
    expect(Either.isLeft(run(textChunk, { text: "abc", size: 0 }))).toBe(true)
    expect(Either.isLeft(run(textChunk, { text: "abc", size: 1.5 }))).toBe(true)
  })
})

describe("text.hash", () => {
  it("is the SHA-256 hex of the UTF-8 text", () => {
    expect(run(textHash, { text: "abc" })).toEqual(
      Either.right("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    )
    expect(run(textHash, { text: "héllo" })).toEqual(Either.right(sha256Hex("héllo")))
  })
})

describe("json.parse", () => {
  it("parses JSON", () => {
    expect(run(jsonParse, { text: " {\"a\": [1, 2.5, \"x\", null, true]} " })).toEqual(
      Either.right({ a: [1, 2.5, "x", null, true] })
    )
  })

  it("fails Permanent with the position of the error", () => {
    expect(run(jsonParse, { text: "{\"a\": [1, 2,]}" })).toEqual(
      Either.left(
        new Permanent({ message: "invalid JSON at line 1, column 13 (offset 12): expected a JSON value, found \"]\"" })
      )
    )
    const multi = run(jsonParse, { text: "{\n  \"a\": 1,\n  b: 2\n}" })
    expect(Either.isLeft(multi) && multi.left.message.startsWith("invalid JSON at line 3, column 3 (offset 14):")).toBe(
      true
    )
  })
})
