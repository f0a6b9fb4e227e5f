/**
 * Idempotency (SPEC §3): a key per keyed side effect, derived from the run
 * id, the node path and the canonical arguments unless the program gives
 * one, and a store that returns the recorded result of a key already
 * completed. This is the in-memory store; the durable one lives in `store/`.
 */
import { Context, Effect, Layer, Option } from "effect"
import { canonicalJson } from "../../ir/canonical.js"
import type { Json } from "../../ir/eval.js"
import { sha256Hex } from "../../ir/hash.js"

/** Records the result of each completed keyed call, so a repeat (retry, resume) returns it instead of calling again. */
export class IdempotencyStore extends Context.Tag("trellis/IdempotencyStore")<IdempotencyStore, {
  /** The recorded result of `key`, if that call completed. */
  readonly get: (key: string) => Effect.Effect<Option.Option<Json>>
  /** Records the result of `key` (the first record wins). */
  readonly put: (key: string, value: Json) => Effect.Effect<void>
}>() {
  /** A store in memory, for one process; a fresh one per layer build. */
  static readonly layerMemory: Layer.Layer<IdempotencyStore> = Layer.sync(IdempotencyStore, () => {
    const records = new Map<string, Json>()
    return IdempotencyStore.of({
      get: (key) => Effect.sync(() => (records.has(key) ? Option.some(records.get(key) as Json) : Option.none())),
      put: (key, value) =>
        Effect.sync(() => {
          if (!records.has(key)) records.set(key, value)
        })
    })
  })
}

/** The derived idempotency key: sha256 of the canonical JSON of `[runId, nodePath, args]`. */
export const idempotencyKeyFor = (runId: string, nodePath: string, args: Json): string =>
  sha256Hex(canonicalJson([runId, nodePath, args]))
