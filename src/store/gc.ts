/**
 * Garbage collection of the store (`trellis gc`, and the server's background job): the expired entries of the
 * result cache. `collect` reports what it removed — or, with `dryRun`, what it would remove — with the bytes.
 */
import type { SqlClient } from "@effect/sql/SqlClient"
import { Clock, Effect } from "effect"
import type { StoreError } from "../trace/errors.js"
import { sweep } from "./resultCache.js"
import type { CacheSweep } from "./resultCache.js"

/** What one collection removed (or would remove). */
export interface GcReport {
  readonly dryRun: boolean
  /** Expired result-cache entries. */
  readonly cache: CacheSweep
  /** Every byte reclaimed (or reclaimable). */
  readonly bytes: number
}

/** Options of a collection. */
export interface GcOptions {
  /** Report only; delete nothing. @default false */
  readonly dryRun?: boolean
  /** Only this workspace's data. @default every workspace */
  readonly workspace?: string
}

/** Collects the store's garbage at Clock time. */
export const collect = (options: GcOptions = {}): Effect.Effect<GcReport, StoreError, SqlClient> =>
  Effect.gen(function*() {
    const dryRun = options.dryRun === true
    const now = yield* Clock.currentTimeMillis
    const cache = yield* sweep(now, { dryRun, workspace: options.workspace })
    return { dryRun, cache, bytes: cache.bytes }
  })

/** A one-line account of a report. */
export const describeReport = (r: GcReport): string =>
  `${r.dryRun ? "would remove" : "removed"}: ${r.cache.entries} expired cache entr${
    r.cache.entries === 1 ? "y" : "ies"
  }; ${r.bytes} bytes ${r.dryRun ? "reclaimable" : "reclaimed"}`
