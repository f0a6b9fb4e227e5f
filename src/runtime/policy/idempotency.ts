/**
 * Idempotency (SPEC §3): a key per keyed side effect, derived from the run
 * id, the node path and the canonical arguments unless the program gives
 * one, and a store that returns the recorded result of a key already
 * completed. A record is scoped by (workspace, tool, key) — the workspace
 * is the running run's (`currentWorkspace`, `default` outside a durable
 * run) — and bound to the hash of the arguments it was recorded with: the
 * same key with other arguments is a `Permanent` conflict, never a replay
 * of another call's result. This is the in-memory store; the durable one
 * lives in `store/`.
 */
import { Context, Effect, FiberRef, Layer, Option } from "effect"
import { canonicalJson } from "../../ir/canonical.js"
import type { Json } from "../../ir/eval.js"
import { sha256Hex } from "../../ir/hash.js"
import { Permanent } from "../../tools/errors.js"
import { currentWorkspace } from "../llm.js"

/** What identifies one keyed call: its tool, its key and the hash of its arguments. */
export interface IdempotencyCall {
  readonly tool: string
  readonly key: string
  readonly argsHash: string
}

/** Records the result of each completed keyed call, so a repeat (retry, resume) returns it instead of calling again. */
export class IdempotencyStore extends Context.Tag("trellis/IdempotencyStore")<IdempotencyStore, {
  /**
   * The recorded result of the call, if one with the same (workspace, tool, key) completed; fails with
   * `Permanent` (an idempotency conflict) when that record was made with other arguments.
   */
  readonly get: (call: IdempotencyCall) => Effect.Effect<Option.Option<Json>, Permanent>
  /** Records the result of the call (the first record of a (workspace, tool, key) wins). */
  readonly put: (call: IdempotencyCall, value: Json) => Effect.Effect<void>
}>() {
  /** A store in memory, for one process; a fresh one per layer build. */
  static readonly layerMemory: Layer.Layer<IdempotencyStore> = Layer.sync(IdempotencyStore, () => {
    const records = new Map<string, { readonly argsHash: string; readonly value: Json }>()
    return IdempotencyStore.of({
      get: (call) =>
        Effect.flatMap(workspaceNow, (workspace) => {
          const record = records.get(scopedKey(workspace, call))
          if (record === undefined) return Effect.succeedNone
          if (record.argsHash !== call.argsHash) return Effect.fail(conflict(call))
          return Effect.succeed(Option.some(record.value))
        }),
      put: (call, value) =>
        Effect.map(workspaceNow, (workspace) => {
          const k = scopedKey(workspace, call)
          if (!records.has(k)) records.set(k, { argsHash: call.argsHash, value })
        })
    })
  })
}

/** The workspace of the running run (`default` outside a durable run). */
export const workspaceNow: Effect.Effect<string> = Effect.map(FiberRef.get(currentWorkspace), (w) => w ?? "default")

/** The in-memory key of a record: workspace, tool and key, unambiguously joined. */
const scopedKey = (workspace: string, call: IdempotencyCall): string => JSON.stringify([workspace, call.tool, call.key])

/** The conflict of a key recorded with other arguments. */
export const conflict = (call: IdempotencyCall): Permanent =>
  new Permanent({
    message: `idempotency conflict: key ${JSON.stringify(call.key)} of tool "${call.tool}" was already used with ` +
      `different arguments (use a new key for a different call)`
  })

/** The derived idempotency key: sha256 of the canonical JSON of `[runId, nodePath, args]`. */
export const idempotencyKeyFor = (runId: string, nodePath: string, args: Json): string =>
  sha256Hex(canonicalJson([runId, nodePath, args]))
