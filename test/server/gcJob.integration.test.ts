/**
 * The server's collector: one pass removes expired cache entries and compacts runs by retention, and counts the
 * bytes in `trellis_gc_reclaimed_bytes_total` (by `what`) and the runs in `trellis_gc_compacted_runs_total`.
 */
import { describe, expect, layer } from "@effect/vitest"
import type { MetricState } from "effect"
import { Effect, Metric, TestClock } from "effect"
import { cacheKey } from "../../src/runtime/policy/cache.js"
import { gcCompactedRuns, gcPass, gcReclaimedBytes, retentionOf } from "../../src/server/gcJob.js"
import * as StoredCache from "../../src/store/resultCache.js"
import { storeBackends } from "../support/store.js"

const counter = (m: Metric.Metric.Counter<number>) =>
  Effect.map(Metric.value(m), (s: MetricState.MetricState.Counter<number>) => s.count)

describe("the collector", () => {
  layer(storeBackends()[0]!.layer, { timeout: "60 seconds" })((it) => {
    it.effect("a pass removes expired cache entries and counts the bytes", () =>
      Effect.gen(function*() {
        const cache = yield* StoredCache.make({ frontEntries: 0 })
        yield* cache.set(cacheKey("t", "1", 1, "default"), "x".repeat(1000), 10)
        yield* TestClock.adjust("1 second")
        const cacheBytes = Metric.tagged(gcReclaimedBytes, "what", "cache")
        const before = yield* counter(cacheBytes)
        const runsBefore = yield* counter(gcCompactedRuns)
        yield* gcPass([{ name: "default", keyHashes: [] }])
        expect((yield* counter(cacheBytes)) - before).toBeGreaterThan(1000)
        expect((yield* counter(gcCompactedRuns)) - runsBefore).toBe(0)
        expect(retentionOf([{ name: "a", keyHashes: [], retention: { keepRuns: 1 } }, { name: "b", keyHashes: [] }]))
          .toEqual([{ workspace: "a", retention: { keepRuns: 1 } }])
      }))
  })
})
