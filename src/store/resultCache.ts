/**
 * The result cache kept in the store (table `result_cache`, migration `0008_history`): `cache: { ttl }` entries
 * outlive the process, so two `trellis run`s, the server and every cluster replica on one database share them.
 * An entry is keyed by `cacheKey` (workspace, tool, version, canonical args), carries its workspace and expiry
 * (Effect's Clock), and is never read once expired. Each workspace keeps at most `TRELLIS_CACHE_MAX_ENTRIES`
 * entries (the oldest go first); `sweep` (what `trellis gc` runs) deletes expired entries. An in-process front
 * (`TRELLIS_CACHE_FRONT_ENTRIES`, least recently used out) answers repeated hits without a query. The cache is
 * an optimisation: a failed read is a miss and a failed write is skipped (both logged), never a failed run.
 */
import { SqlClient } from "@effect/sql/SqlClient"
import { Clock, Effect, Layer, Option } from "effect"
import type { Json } from "../ir/eval.js"
import { ResultCache } from "../runtime/policy/cache.js"
import { workspaceNow } from "../runtime/policy/idempotency.js"
import type { StoreError } from "../trace/errors.js"
import { storeOp } from "./failure.js"
import * as JsonText from "./jsonText.js"
import { cacheFrontEntries, cacheMaxEntries } from "./settings.js"

/** Options of the SQL result cache (the settings when not given). */
export interface ResultCacheOptions {
  /** The most entries one workspace keeps in the store (oldest evicted first). */
  readonly maxEntries?: number
  /** The most entries the in-process front holds (0: no front). */
  readonly frontEntries?: number
}

/** What a sweep of the result cache found (and deleted, unless it was a dry run). */
export interface CacheSweep {
  readonly entries: number
  readonly bytes: number
}

interface FrontEntry {
  readonly value: Json
  readonly expiresAt: number
}

/** A bounded map of recently used entries: a hit moves an entry to the back, the front one goes first. */
const makeFront = (capacity: number) => {
  const entries = new Map<string, FrontEntry>()
  return {
    get: (key: string, now: number): FrontEntry | undefined => {
      const entry = entries.get(key)
      if (entry === undefined) return undefined
      entries.delete(key)
      if (entry.expiresAt <= now) return undefined
      entries.set(key, entry)
      return entry
    },
    set: (key: string, entry: FrontEntry): void => {
      if (capacity <= 0) return
      entries.delete(key)
      entries.set(key, entry)
      while (entries.size > capacity) {
        const oldest = entries.keys().next()
        if (oldest.done === true) break
        entries.delete(oldest.value)
      }
    }
  }
}

/** The cache degrades to a miss (or a skipped write) on a store failure, with a warning in the log. */
const softly = <A>(what: string, fallback: A) => (effect: Effect.Effect<A, StoreError>): Effect.Effect<A> =>
  Effect.catchAll(
    effect,
    (e) => Effect.as(Effect.logWarning(`result cache: ${what} failed, going on without it: ${e.message}`), fallback)
  )

/** The SQL `ResultCache` (with its in-process front) on the `SqlClient` in context. */
export const make = (options: ResultCacheOptions = {}): Effect.Effect<ResultCache["Type"], never, SqlClient> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient
    const maxEntries = options.maxEntries ?? (yield* Effect.orDie(cacheMaxEntries))
    const front = makeFront(options.frontEntries ?? (yield* Effect.orDie(cacheFrontEntries)))
    const read = (key: string, now: number) =>
      storeOp(
        "read result cache",
        sql.unsafe<{ readonly value: string; readonly expires_at: string | number }>(
          `SELECT value::text AS value, expires_at FROM result_cache WHERE key = $1 AND expires_at > $2`,
          [key, now]
        )
      ).pipe(
        Effect.map((rows) => {
          const row = rows[0]
          if (row === undefined) return Option.none<Json>()
          const value = JsonText.decode(row.value) as Json
          front.set(key, { value, expiresAt: Number(row.expires_at) })
          return Option.some(value)
        }),
        softly("a read", Option.none<Json>())
      )
    const write = (key: string, value: Json, expiresAt: number, now: number, tool: string) =>
      Effect.flatMap(workspaceNow, (workspace) => {
        const text = JsonText.encode(value)
        return storeOp(
          "write result cache",
          sql.withTransaction(Effect.gen(function*() {
            yield* sql.unsafe(
              `INSERT INTO result_cache (key, workspace, tool, value, bytes, created_at, expires_at)
               VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7)
               ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, bytes = EXCLUDED.bytes,
                 created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at`,
              [key, workspace, tool, text, Buffer.byteLength(text), now, expiresAt]
            )
            // The bound: the workspace's entries beyond the newest `maxEntries` go.
            yield* sql.unsafe(
              `DELETE FROM result_cache WHERE key IN (
                 SELECT key FROM result_cache WHERE workspace = $1
                 ORDER BY created_at DESC, key DESC OFFSET $2)`,
              [workspace, maxEntries]
            )
          }))
        ).pipe(Effect.asVoid, softly<void>("a write", undefined))
      })
    return ResultCache.of({
      get: (key) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const hit = front.get(key, now)
          return hit !== undefined ? Effect.succeed(Option.some(hit.value)) : read(key, now)
        }),
      set: (key, value, ttlMs, tool = "") =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          if (!(ttlMs > 0)) return Effect.void
          const expiresAt = now + ttlMs
          front.set(key, { value, expiresAt })
          return write(key, value, expiresAt, now, tool)
        })
    })
  })

/** The SQL `ResultCache` on the `SqlClient` in context (schema from `migrations.ts`). */
export const layer = (options: ResultCacheOptions = {}): Layer.Layer<ResultCache, never, SqlClient> =>
  Layer.effect(ResultCache, make(options))

/**
 * Finds the expired entries of the result cache at `now` (all workspaces, or one) and deletes them unless
 * `dryRun`: how many there were and their bytes.
 */
export const sweep = (
  now: number,
  options: { readonly dryRun: boolean; readonly workspace?: string | undefined }
): Effect.Effect<CacheSweep, StoreError, SqlClient> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient
    const scope = options.workspace === undefined ? "" : " AND workspace = $2"
    const params = options.workspace === undefined ? [now] : [now, options.workspace]
    const rows = options.dryRun
      ? yield* sql.unsafe<{ readonly entries: string | number; readonly bytes: string | number | null }>(
        `SELECT count(*) AS entries, sum(bytes) AS bytes FROM result_cache WHERE expires_at <= $1${scope}`,
        params
      )
      : yield* sql.unsafe<{ readonly entries: string | number; readonly bytes: string | number | null }>(
        `WITH gone AS (DELETE FROM result_cache WHERE expires_at <= $1${scope} RETURNING bytes)
         SELECT count(*) AS entries, sum(bytes) AS bytes FROM gone`,
        params
      )
    const row = rows[0]
    return { entries: Number(row?.entries ?? 0), bytes: Number(row?.bytes ?? 0) }
  }).pipe((effect) => storeOp("sweep result cache", effect))
