/**
 * The result cache (SPEC §4): a tool's output keyed by (workspace, tool,
 * version, canonical args), kept for a TTL measured on Effect's Clock. A node turns
 * it off with `cache: false`; `layerDisabled` turns it off everywhere.
 */
import { Clock, Context, Effect, Layer, Option } from "effect"
import { canonicalJson } from "../../ir/canonical.js"
import type { Json } from "../../ir/eval.js"
import { sha256Hex } from "../../ir/hash.js"

/** Cached tool results with a time to live. */
export class ResultCache extends Context.Tag("trellis/ResultCache")<ResultCache, {
  /** The cached value of `key`, unless absent or expired. */
  readonly get: (key: string) => Effect.Effect<Option.Option<Json>>
  /**
   * Caches `value` under `key` for `ttlMs` milliseconds of Clock time (nothing is kept when `ttlMs` ≤ 0);
   * `tool` names the tool whose output it is (kept by stores that list their entries).
   */
  readonly set: (key: string, value: Json, ttlMs: number, tool?: string) => Effect.Effect<void>
}>() {
  /** A cache in memory; expired entries are dropped when read and swept as the cache grows. */
  static readonly layerMemory: Layer.Layer<ResultCache> = Layer.sync(ResultCache, () => {
    const entries = new Map<string, { readonly value: Json; readonly expiresAt: number }>()
    let sweepAt = 1024
    const sweep = (now: number): void => {
      for (const [key, entry] of entries) if (entry.expiresAt <= now) entries.delete(key)
      sweepAt = Math.max(1024, entries.size * 2)
    }
    return ResultCache.of({
      get: (key) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          const entry = entries.get(key)
          if (entry === undefined) return Option.none()
          if (entry.expiresAt <= now) {
            entries.delete(key)
            return Option.none()
          }
          return Option.some(entry.value)
        }),
      set: (key, value, ttlMs) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          if (!(ttlMs > 0)) return
          entries.set(key, { value, expiresAt: now + ttlMs })
          if (entries.size >= sweepAt) sweep(now)
        })
    })
  })

  /** No caching at all: every lookup misses and nothing is stored. */
  static readonly layerDisabled: Layer.Layer<ResultCache> = Layer.succeed(
    ResultCache,
    ResultCache.of({
      get: () => Effect.succeedNone,
      set: () => Effect.void
    })
  )
}

/**
 * The cache key of a tool call: sha256 of the canonical JSON of `[toolName, version, args]`, with the workspace
 * in front when one is given (`[workspace, toolName, version, args]`): one workspace never reads another's entries.
 */
export const cacheKey = (toolName: string, version: string, args: Json, workspace?: string): string =>
  sha256Hex(canonicalJson(workspace === undefined ? [toolName, version, args] : [workspace, toolName, version, args]))
