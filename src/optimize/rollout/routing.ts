/**
 * Sticky percentage routing (issue 20): a request's key is hashed with the
 * deployment's (or flag's) name to a bucket in [0, 10000); the candidate
 * (or the flag) gets the buckets below `percent × 100`. The same key always
 * lands in the same bucket, so raising the percentage only moves keys from
 * current to candidate, never back; over many distinct keys the share routed
 * converges to the percentage (law: `laws/rollout.test.ts`). Pure.
 */
import type { FlagValue } from "./model.js"

/** Buckets of the routing hash. */
export const BUCKETS = 10_000

/** FNV-1a over the UTF-16 code units of `text`, finished with murmur3's fmix32 (a well-mixed 32-bit hash). */
export const hash32 = (text: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** The bucket, in [0, BUCKETS), of `key` under `salt` (the deployment's or the flag's name). */
export const bucketOf = (salt: string, key: string): number => hash32(`${salt}\u0000${key}`) % BUCKETS

/** Whether a bucket falls in the first `percent` (0–100) of the buckets. */
export const inShare = (bucket: number, percent: number): boolean => bucket < Math.round(percent * (BUCKETS / 100))

/** Which version serves a request with sticky `key` when `percent` of the keys go to the candidate. */
export const routeOf = (salt: string, key: string, percent: number): "current" | "candidate" =>
  inShare(bucketOf(salt, key), percent) ? "candidate" : "current"

/**
 * Whether a flag is on for `key` (a percentage flag hashes the key with the flag's name; without a key it
 * uses `draw`, a uniform number in [0, 1), so only a flag at 0% or 100% is definite).
 */
export const flagOn = (name: string, value: FlagValue, key: string | undefined, draw: number): boolean =>
  "enabled" in value
    ? value.enabled
    : key === undefined
    ? draw * 100 < value.percent
    : inShare(bucketOf(name, key), value.percent)
