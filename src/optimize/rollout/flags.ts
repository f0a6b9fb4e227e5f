/**
 * Feature flags of a workspace (issue 20): on/off or a sticky percentage of
 * keys (`routing.ts` `flagOn`), stored by the `DeploymentStore`; a
 * deployment run binds them to a program's `flags` parameter.
 */
import { Clock, Effect, Either, Random, Schema } from "effect"
import type { Json } from "../../ir/eval.js"
import { DeploymentStore } from "../../store/deployments.js"
import { FlagValue } from "./model.js"
import { flagOn } from "./routing.js"
import { checkName, storeFailed } from "./service.js"

const decodeFlag = Schema.decodeUnknownEither(FlagValue)

/** A flag as stored and shown. */
export interface Flag {
  readonly name: string
  readonly value: FlagValue
  readonly updatedAt: number
}

/** Sets a workspace's flag. */
export const putFlag = (workspace: string, name: string, value: FlagValue) =>
  Effect.gen(function*() {
    yield* checkName(name, "flag")
    const store = yield* DeploymentStore
    const updatedAt = yield* Clock.currentTimeMillis
    yield* store.putFlag({ workspace, name, body: value as unknown as Json, updatedAt }).pipe(
      Effect.mapError(storeFailed)
    )
    return { name, value, updatedAt } satisfies Flag
  })

/** A workspace's flags, by name. */
export const listFlags = (workspace: string) =>
  Effect.gen(function*() {
    const store = yield* DeploymentStore
    const rows = yield* store.listFlags(workspace).pipe(Effect.mapError(storeFailed))
    return rows.flatMap((r): Array<Flag> => {
      const v = decodeFlag(r.body)
      return Either.isRight(v) ? [{ name: r.name, value: v.right, updatedAt: r.updatedAt }] : []
    })
  })

/** Removes a flag; false when it did not exist. */
export const deleteFlag = (workspace: string, name: string) =>
  Effect.gen(function*() {
    const store = yield* DeploymentStore
    return yield* store.deleteFlag(workspace, name).pipe(Effect.mapError(storeFailed))
  })

/** Every flag of a workspace evaluated for `key` (sticky per key; a uniform draw per flag without one). */
export const evaluateFlags = (workspace: string, key: string | undefined) =>
  Effect.gen(function*() {
    const flags = yield* listFlags(workspace)
    const out: Record<string, boolean> = {}
    for (const f of flags) out[f.name] = flagOn(f.name, f.value, key, yield* Random.next)
    return out
  })
