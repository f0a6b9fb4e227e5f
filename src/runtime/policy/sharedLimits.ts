/**
 * Limits shared by every replica of a cluster (issue 17): token buckets
 * kept in a store all replicas reach. The runtime and the server speak to
 * this interface only; the store behind it (Redis in cluster mode, memory
 * otherwise) is an adapter (`src/cluster/limits.ts`). When no
 * `SharedLimits` is provided, every limit stays per process, as in
 * single-process mode.
 */
import { Context } from "effect"
import type { Effect, Option } from "effect"

/** A token bucket: capacity `limit` (the burst), refilled at `limit` tokens per `windowMs`. */
export interface Bucket {
  readonly limit: number
  readonly windowMs: number
}

/** The operations on the shared buckets. A store that cannot be reached admits (and logs a warning). */
export interface SharedLimitsService {
  /** Takes `tokens` from bucket `key`, waiting (on the Clock) until they would have been there. */
  readonly acquire: (key: string, bucket: Bucket, tokens?: number) => Effect.Effect<void>
  /** Takes `tokens` from bucket `key` when they are there (`None`), else leaves it and gives the ms to wait (`Some`). */
  readonly tryAcquire: (key: string, bucket: Bucket, tokens?: number) => Effect.Effect<Option.Option<number>>
  /** Takes `tokens` from bucket `key` even below empty (usage already spent, e.g. an answer's tokens). */
  readonly charge: (key: string, bucket: Bucket, tokens: number) => Effect.Effect<void>
  /** The ms until bucket `key` holds a token again (0: it holds one now). Takes nothing. */
  readonly waitMs: (key: string, bucket: Bucket) => Effect.Effect<number>
}

/** The shared limits of a cluster (absent: limits are per process). */
export class SharedLimits extends Context.Tag("trellis/SharedLimits")<SharedLimits, SharedLimitsService>() {}
