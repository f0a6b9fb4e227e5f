/**
 * `SubmissionKeys`: the `Idempotency-Key`s of run submissions (POST
 * /v1/runs), scoped by (workspace, key) and bound to the hash of the
 * request body and the id of the run they started, for a time to live.
 * The server keeps them in the store (`src/store/submissionKeys.ts`, table
 * `http_idempotency`), so every replica on one database sees the same keys;
 * `layerMemory` is for tests of the run manager without a store.
 */
import { Context, Effect, Layer, Option } from "effect"
import type { StoreError } from "../trace/errors.js"

/** A key's record: the body it was used with and the run it started. */
export interface SubmissionKey {
  readonly bodyHash: string
  readonly runId: string
}

/** A claim: the key was free (`claimed`: it now names `runId`), or an unexpired record already held it. */
export type Claim =
  | { readonly _tag: "claimed" }
  | { readonly _tag: "held"; readonly record: SubmissionKey }

/** The store of submission keys. */
export interface SubmissionKeysService {
  /** The unexpired record of `key` in `workspace` at `now`, if any. */
  readonly get: (workspace: string, key: string, now: number) => Effect.Effect<Option.Option<SubmissionKey>, StoreError>
  /**
   * Records `key` → `record` until `now + ttlMs` unless an unexpired record holds the key (two submissions racing
   * for one key: the first wins, the second gets the winner's record). Expired records are dropped now and then.
   */
  readonly claim: (
    workspace: string,
    key: string,
    record: SubmissionKey,
    now: number,
    ttlMs: number
  ) => Effect.Effect<Claim, StoreError>
}

/** The submission keys (absent: the run manager keeps them in memory, for tests without a store). */
export class SubmissionKeys extends Context.Tag("trellis/SubmissionKeys")<SubmissionKeys, SubmissionKeysService>() {
  /** Keys in memory, for one process; a fresh store per call. */
  static readonly makeMemory = (): SubmissionKeysService => {
    const records = new Map<string, SubmissionKey & { readonly expiresAt: number }>()
    const id = (workspace: string, key: string) => JSON.stringify([workspace, key])
    const live = (workspace: string, key: string, now: number) => {
      const r = records.get(id(workspace, key))
      return r !== undefined && r.expiresAt > now ? r : undefined
    }
    return SubmissionKeys.of({
      get: (workspace, key, now) =>
        Effect.sync(() => {
          const r = live(workspace, key, now)
          return r === undefined ? Option.none() : Option.some({ bodyHash: r.bodyHash, runId: r.runId })
        }),
      claim: (workspace, key, record, now, ttlMs) =>
        Effect.sync((): Claim => {
          const r = live(workspace, key, now)
          if (r !== undefined) return { _tag: "held", record: { bodyHash: r.bodyHash, runId: r.runId } }
          if (records.size > 0 && records.size % 256 === 0) {
            for (const [k, v] of records) if (v.expiresAt <= now) records.delete(k)
          }
          records.set(id(workspace, key), { ...record, expiresAt: now + ttlMs })
          return { _tag: "claimed" }
        })
    })
  }

  /** Keys in memory, for one process; a fresh store per layer build. */
  static readonly layerMemory: Layer.Layer<SubmissionKeys> = Layer.sync(SubmissionKeys, SubmissionKeys.makeMemory)
}
