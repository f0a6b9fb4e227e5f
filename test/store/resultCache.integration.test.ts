/**
 * The SQL result cache on each backend: entries outlive the service that wrote them (a second instance reads
 * them: another process), expire on the Clock, stay in their workspace, are bounded per workspace, and are
 * swept by `collect` (dry run first). The in-process front answers a hit without the store.
 */
import { SqlClient } from "@effect/sql/SqlClient"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Option, TestClock } from "effect"
import { currentWorkspace } from "../../src/runtime/llm.js"
import { cacheKey } from "../../src/runtime/policy/cache.js"
import { collect } from "../../src/store/gc.js"
import * as StoredCache from "../../src/store/resultCache.js"
import { storeBackends } from "../support/store.js"

const inWorkspace = (w: string) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.locally(effect, currentWorkspace, w)

for (const backend of storeBackends()) {
  describe(backend.name, () => {
    layer(backend.layer, { timeout: "60 seconds" })((it) => {
      it.effect("shared across instances, TTL on the Clock, per workspace, bounded, swept by gc", () =>
        Effect.gen(function*() {
          const writer = yield* StoredCache.make({ maxEntries: 3, frontEntries: 0 })
          const reader = yield* StoredCache.make({ maxEntries: 3, frontEntries: 0 })
          const k = (n: number, w = "ws-a") => cacheKey("t", "1", { n }, w)
          yield* inWorkspace("ws-a")(writer.set(k(1), { big: "x".repeat(100) }, 60_000, "t"))
          expect(yield* reader.get(k(1))).toEqual(Option.some({ big: "x".repeat(100) }))
          // No TTL: nothing kept. JSON null and U+0000 survive the store.
          yield* inWorkspace("ws-a")(writer.set(k(2), 1, 0))
          expect(yield* reader.get(k(2))).toEqual(Option.none())
          yield* inWorkspace("ws-a")(writer.set(k(3), null, 60_000))
          expect(yield* reader.get(k(3))).toEqual(Option.some(null))
          yield* inWorkspace("ws-a")(writer.set(k(4), "a\u0000b", 1_000))
          expect(yield* reader.get(k(4))).toEqual(Option.some("a\u0000b"))
          // Expired on the clock: not read; gc counts then removes it.
          yield* TestClock.adjust("2 seconds")
          expect(yield* reader.get(k(4))).toEqual(Option.none())
          const dry = yield* collect({ dryRun: true })
          expect(dry.cache.entries).toBe(1)
          expect(dry.bytes).toBeGreaterThan(0)
          expect(yield* collect({ dryRun: true, workspace: "ws-b" })).toMatchObject({ cache: { entries: 0 } })
          expect((yield* collect()).cache).toEqual(dry.cache)
          expect((yield* collect({ dryRun: true })).cache.entries).toBe(0)
          // Another workspace has its own bound; ws-a keeps its newest 3.
          yield* inWorkspace("ws-b")(writer.set(k(1, "ws-b"), "b", 60_000))
          for (const n of [5, 6, 7]) {
            yield* TestClock.adjust("1 millis")
            yield* inWorkspace("ws-a")(writer.set(k(n), n, 60_000))
          }
          expect(yield* reader.get(k(1))).toEqual(Option.none())
          expect(yield* reader.get(k(5))).toEqual(Option.some(5))
          expect(yield* reader.get(k(1, "ws-b"))).toEqual(Option.some("b"))
        }))

      it.effect("the front answers a repeated hit in process; it never outlives the entry", () =>
        Effect.gen(function*() {
          const cache = yield* StoredCache.make({ maxEntries: 100, frontEntries: 2 })
          const k = cacheKey("t", "1", "front", "ws-f")
          yield* inWorkspace("ws-f")(cache.set(k, "v", 5_000))
          // Deleted behind the front's back: the front still answers (that is what it is for)…
          const sql = yield* SqlClient
          yield* sql.unsafe(`DELETE FROM result_cache WHERE workspace = 'ws-f'`)
          expect(yield* cache.get(k)).toEqual(Option.some("v"))
          const other = yield* StoredCache.make({ maxEntries: 100, frontEntries: 2 })
          expect(yield* other.get(k)).toEqual(Option.none())
          // …until the entry's own expiry.
          yield* TestClock.adjust("6 seconds")
          expect(yield* cache.get(k)).toEqual(Option.none())
        }))
    })
  })
}
