/**
 * Garbage collection of the store (`trellis gc`, and the server's background job): the expired entries of the
 * result cache, the runs each workspace's retention policy selects, compacted (`retention.ts`), then the blobs
 * of large payloads no kept event refers to any more (`claimCheck.ts`). `collect` reports what it removed — or,
 * with `dryRun`, what it would remove — with the bytes.
 */
import type { SqlClient } from "@effect/sql/SqlClient"
import { Clock, Effect } from "effect"
import type { StoreError } from "../trace/errors.js"
import type { BlobStore } from "./blobs.js"
import { collectBlobs } from "./claimCheck.js"
import type { BlobSweep } from "./claimCheck.js"
import { sweep } from "./resultCache.js"
import type { CacheSweep } from "./resultCache.js"
import { applyRetention } from "./retention.js"
import type { CompactionReport, RetentionPolicy } from "./retention.js"

/** What one collection removed (or would remove). */
export interface GcReport {
  readonly dryRun: boolean
  /** Expired result-cache entries. */
  readonly cache: CacheSweep
  /** Runs compacted by retention: how many, the events dropped and their bytes. */
  readonly runs: CompactionReport
  /** Blobs no kept event refers to (and references whose event is gone). */
  readonly blobs: BlobSweep
  /** Every byte reclaimed (or reclaimable). */
  readonly bytes: number
}

/** Options of a collection. */
export interface GcOptions {
  /** Report only; delete nothing. @default false */
  readonly dryRun?: boolean
  /** Only this workspace's data. @default every workspace */
  readonly workspace?: string
  /** The retention policy of each workspace that has one. @default none (no run is compacted) */
  readonly retention?: ReadonlyArray<{ readonly workspace: string; readonly retention: RetentionPolicy }>
  /** How long an unreferenced blob is kept (its event may be committing). @default 1 hour */
  readonly blobGraceMs?: number
}

/** Collects the store's garbage at Clock time. */
export const collect = (options: GcOptions = {}): Effect.Effect<GcReport, StoreError, SqlClient | BlobStore> =>
  Effect.gen(function*() {
    const dryRun = options.dryRun === true
    const now = yield* Clock.currentTimeMillis
    const cache = yield* sweep(now, { dryRun, workspace: options.workspace })
    const runs = yield* applyRetention(options.retention ?? [], { dryRun, now, workspace: options.workspace })
    // Blobs are shared by every workspace's runs: collected whole, whichever workspace was asked for.
    const blobs = yield* collectBlobs({
      now,
      dryRun,
      ...(options.blobGraceMs === undefined ? {} : { graceMs: options.blobGraceMs })
    })
    return { dryRun, cache, runs, blobs, bytes: cache.bytes + runs.bytes + blobs.bytes }
  })

/** A one-line account of a report. */
export const describeReport = (r: GcReport): string =>
  `${r.dryRun ? "would remove" : "removed"}: ${r.cache.entries} expired cache entr${
    r.cache.entries === 1 ? "y" : "ies"
  }, ${r.runs.events} event${r.runs.events === 1 ? "" : "s"} of ${r.runs.runs} compacted run${
    r.runs.runs === 1 ? "" : "s"
  }, ${r.blobs.blobs} unreferenced blob${r.blobs.blobs === 1 ? "" : "s"}; ${r.bytes} bytes ${
    r.dryRun ? "reclaimable" : "reclaimed"
  }`
