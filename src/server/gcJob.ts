/**
 * The server's background collector: every `TRELLIS_GC_INTERVAL_MS` (default one hour; `0` turns it off) it runs
 * what `trellis gc` runs — expired cache entries out, runs compacted by each workspace's `retention` — and counts
 * what it reclaimed in `trellis_gc_reclaimed_bytes_total` (label `what`: `cache` or `events`) and
 * `trellis_gc_compacted_runs_total`. A failed pass is logged and the next one tried on schedule.
 */
import type { SqlClient } from "@effect/sql/SqlClient"
import { Duration, Effect, Layer, Metric, Schedule } from "effect"
import type { BlobStore } from "../store/blobs.js"
import { collect, describeReport } from "../store/gc.js"
import { gcIntervalMs } from "../store/settings.js"
import type { Workspace } from "./config.js"

/** The retention policies of the workspaces that declare one. */
export const retentionOf = (workspaces: ReadonlyArray<Workspace>) =>
  workspaces.flatMap((w) => w.retention === undefined ? [] : [{ workspace: w.name, retention: w.retention }])

/** Bytes reclaimed by the collector; label `what` (`cache`, `events`). */
export const gcReclaimedBytes = Metric.counter("trellis_gc_reclaimed_bytes_total", {
  description: "Bytes the store's collector reclaimed: expired cache entries and events of compacted runs."
})

/** Runs compacted by retention. */
export const gcCompactedRuns = Metric.counter("trellis_gc_compacted_runs_total", {
  description: "Runs compacted by the store's collector under their workspace's retention policy."
})

/** One pass of the collector, with its metrics. */
export const gcPass = (workspaces: ReadonlyArray<Workspace>) =>
  collect({ retention: retentionOf(workspaces) }).pipe(
    Effect.tap((r) =>
      Effect.all([
        Metric.incrementBy(Metric.tagged(gcReclaimedBytes, "what", "cache"), r.cache.bytes),
        Metric.incrementBy(Metric.tagged(gcReclaimedBytes, "what", "events"), r.runs.bytes),
        Metric.incrementBy(Metric.tagged(gcReclaimedBytes, "what", "blobs"), r.blobs.bytes),
        Metric.incrementBy(gcCompactedRuns, r.runs.runs),
        r.bytes > 0 ? Effect.logInfo(`gc: ${describeReport(r)}`) : Effect.void
      ])
    ),
    Effect.catchAll((e) => Effect.logWarning(`gc: the collector's pass failed: ${e.message}`))
  )

/** The collector as a layer: a fiber in the layer's scope (nothing when the interval is 0). */
export const layer = (workspaces: ReadonlyArray<Workspace>): Layer.Layer<never, never, SqlClient | BlobStore> =>
  Layer.scopedDiscard(Effect.gen(function*() {
    const interval = yield* Effect.orDie(gcIntervalMs)
    if (interval <= 0) return
    yield* Effect.forkScoped(
      Effect.repeat(gcPass(workspaces), Schedule.spaced(Duration.millis(interval))).pipe(
        Effect.delay(Duration.millis(interval))
      )
    )
  }))
