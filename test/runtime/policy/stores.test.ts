/** The idempotency store and the result cache (TTL on the Clock), and their keys. */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Option, TestClock } from "effect"
import { cacheKey, ResultCache } from "../../../src/runtime/policy/cache.js"
import { idempotencyKeyFor, IdempotencyStore } from "../../../src/runtime/policy/idempotency.js"

/** A keyed call of tool `t` with args hash `h`. */
const c = (key: string, argsHash = "h") => ({ tool: "t", key, argsHash })

describe("IdempotencyStore.layerMemory", () => {
  it.effect("returns the recorded result of a completed key, and nothing for others", () =>
    Effect.gen(function*() {
      const store = yield* IdempotencyStore
      const key = idempotencyKeyFor("run-1", "main/fetch", { url: "https://example.com" })
      expect(yield* store.get(c(key))).toEqual(Option.none())
      yield* store.put(c(key), { status: 200, body: "hi" })
      expect(yield* store.get(c(key))).toEqual(Option.some({ status: 200, body: "hi" }))
      expect(yield* store.get(c(idempotencyKeyFor("run-2", "main/fetch", { url: "https://example.com" })))).toEqual(
        Option.none()
      )
    }).pipe(Effect.provide(IdempotencyStore.layerMemory)))

  it.effect("keeps the first record of a key, and records null results", () =>
    Effect.gen(function*() {
      const store = yield* IdempotencyStore
      yield* store.put(c("k"), 1)
      yield* store.put(c("k"), 2)
      expect(yield* store.get(c("k"))).toEqual(Option.some(1))
      yield* store.put(c("n"), null)
      expect(yield* store.get(c("n"))).toEqual(Option.some(null))
    }).pipe(Effect.provide(IdempotencyStore.layerMemory)))

  it("derives keys from run id, node path and canonical args", () => {
    const k = idempotencyKeyFor("r", "main/a", { x: 1, y: [1, 2] })
    expect(k).toMatch(/^[0-9a-f]{64}$/)
    expect(idempotencyKeyFor("r", "main/a", { y: [1, 2], x: 1 })).toBe(k)
    expect(idempotencyKeyFor("r2", "main/a", { x: 1, y: [1, 2] })).not.toBe(k)
    expect(idempotencyKeyFor("r", "main/b", { x: 1, y: [1, 2] })).not.toBe(k)
    expect(idempotencyKeyFor("r", "main/a", { x: 2, y: [1, 2] })).not.toBe(k)
  })
})

describe("ResultCache", () => {
  it.effect("keeps a value for its TTL on the Clock, then drops it", () =>
    Effect.gen(function*() {
      const cache = yield* ResultCache
      const key = cacheKey("search", "1", { q: "effect" })
      yield* cache.set(key, ["doc"], 1_000)
      expect(yield* cache.get(key)).toEqual(Option.some(["doc"]))
      yield* TestClock.adjust(Duration.millis(999))
      expect(yield* cache.get(key)).toEqual(Option.some(["doc"]))
      yield* TestClock.adjust(Duration.millis(1))
      expect(yield* cache.get(key)).toEqual(Option.none())
    }).pipe(Effect.provide(ResultCache.layerMemory)))

  it.effect("stores nothing with a TTL of zero; a later set replaces the value and its TTL", () =>
    Effect.gen(function*() {
      const cache = yield* ResultCache
      yield* cache.set("k", 1, 0)
      expect(yield* cache.get("k")).toEqual(Option.none())
      yield* cache.set("k", 1, 100)
      yield* TestClock.adjust(Duration.millis(50))
      yield* cache.set("k", 2, 100)
      yield* TestClock.adjust(Duration.millis(99))
      expect(yield* cache.get("k")).toEqual(Option.some(2))
    }).pipe(Effect.provide(ResultCache.layerMemory)))

  it.effect("expired entries stay gone while the cache grows and sweeps", () =>
    Effect.gen(function*() {
      const cache = yield* ResultCache
      for (let i = 0; i < 3_000; i++) yield* cache.set(`old${i}`, i, 10)
      yield* TestClock.adjust(Duration.millis(10))
      for (let i = 0; i < 3_000; i++) yield* cache.set(`new${i}`, i, 1_000)
      expect(yield* cache.get("old1")).toEqual(Option.none())
      expect(yield* cache.get("new2999")).toEqual(Option.some(2999))
    }).pipe(Effect.provide(ResultCache.layerMemory)))

  it.effect("layerDisabled never hits", () =>
    Effect.gen(function*() {
      const cache = yield* ResultCache
      yield* cache.set("k", 1, 60_000)
      expect(yield* cache.get("k")).toEqual(Option.none())
    }).pipe(Effect.provide(ResultCache.layerDisabled)))

  it("keys by tool, version and canonical args", () => {
    const k = cacheKey("search", "1", { q: "a", k: 3 })
    expect(cacheKey("search", "1", { k: 3, q: "a" })).toBe(k)
    expect(cacheKey("search", "2", { q: "a", k: 3 })).not.toBe(k)
    expect(cacheKey("find", "1", { q: "a", k: 3 })).not.toBe(k)
    expect(cacheKey("search", "1", { q: "b", k: 3 })).not.toBe(k)
  })
})
