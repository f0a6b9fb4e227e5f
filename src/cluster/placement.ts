/**
 * `ClusterRuns`: how any replica reaches the owner of a run through the
 * cluster — place a new run (its `Execute` message is stored before `place`
 * returns, so an accepted run is never lost), peek at a run its owner holds,
 * cancel it. `layer(settings)` is the whole cluster side of a replica: the
 * runner (`sharding.ts`), the run entity's handlers (`entity.ts`) and this
 * service.
 */
import * as EntityId from "@effect/cluster/EntityId"
import { Sharding } from "@effect/cluster/Sharding"
import type { SqlClient } from "@effect/sql/SqlClient"
import { Context, Duration, Effect, Layer, Schedule } from "effect"
import type { Scope } from "effect"
import { encodeProgram } from "../ir/json.js"
import type { RunStore } from "../runtime/runStore.js"
import type { ClusterSettings } from "./config.js"
import { layerHandlers, RunEntity } from "./entity.js"
import type { HeldRun, PlacedRun, RunHost } from "./entity.js"
import * as ShardingLayer from "./sharding.js"
import { ClusterError } from "./sharding.js"

/** How long a `peek` waits for the owner. */
const PEEK_TIMEOUT = Duration.seconds(3)
/** How long `place` waits for the owner to hold the run it placed. */
const HELD_TIMEOUT = Duration.seconds(5)
/** How long a `cancel` waits for the owner to record the cancellation. */
const CANCEL_TIMEOUT = Duration.seconds(30)

/** Runs through the cluster, from any replica. */
export class ClusterRuns extends Context.Tag("trellis/cluster/ClusterRuns")<ClusterRuns, {
  /** Places a new run on the owner of its shard (stored when this succeeds; held by the owner unless it is down). */
  readonly place: (placed: PlacedRun) => Effect.Effect<void, ClusterError>
  /** The run as its owner holds it (queued or executing); undefined when nobody does or the owner does not answer. */
  readonly peek: (runId: string, workspace: string) => Effect.Effect<HeldRun | undefined>
  /**
   * Wakes a parked run on its owner (a signal arrived, its timer fired); `key` names the wake, stored once
   * (`signal:<signal id>`, `timer:<ms>`).
   */
  readonly wake: (runId: string, key: string) => Effect.Effect<void, ClusterError>
  /** Runs `run` on one runner of the cluster at a time (an `@effect/cluster` singleton), moved with its shard. */
  readonly singleton: (name: string, run: Effect.Effect<void>) => Effect.Effect<void, never, Scope.Scope>
  /** Whether this runner owns the run's shard now. */
  readonly owns: (runId: string) => boolean
  /** Cancels a run on its owner; false when the owner does not hold it or does not answer. */
  readonly cancel: (runId: string, workspace: string) => Effect.Effect<boolean>
}>() {}

const make = Effect.gen(function*() {
  const clientOf = yield* RunEntity.client
  const sharding = yield* Sharding
  /** Waits (up to `HELD_TIMEOUT`) until the owner of a just placed run holds it. */
  const awaitHeld = (runId: string, workspace: string) =>
    clientOf(runId).Peek({ workspace }).pipe(
      Effect.flatMap((held) => (held === null ? Effect.fail("not yet" as const) : Effect.void)),
      Effect.retry(Schedule.spaced(Duration.millis(20))),
      // Interruptible, so the timeout holds inside an uninterruptible caller too (the scheduler's step): a run that
      // ended before the first `Peek` is never seen held, and the wait must end at HELD_TIMEOUT, not never.
      Effect.interruptible,
      Effect.timeout(HELD_TIMEOUT),
      Effect.ignore
    )
  return ClusterRuns.of({
    place: ({ program, run }) =>
      Effect.suspend(() =>
        clientOf(run.runId).Execute({
          workspace: run.workspace,
          programHash: run.programHash,
          programName: run.programName,
          program: program === undefined ? "null" : encodeProgram(program),
          inputs: JSON.stringify(run.inputs),
          seed: run.seed,
          createdAt: run.createdAt
        }, { discard: true })
      ).pipe(
        Effect.mapError((e) => new ClusterError({ message: `cannot place run ${run.runId}: ${e._tag}` })),
        // Visible from every replica before the 202: the owner holds it (or, past the wait, its message is stored).
        Effect.zipRight(awaitHeld(run.runId, run.workspace))
      ),
    peek: (runId, workspace) =>
      clientOf(runId).Peek({ workspace }).pipe(
        Effect.timeout(PEEK_TIMEOUT),
        Effect.map((held) => (held === null ? undefined : (held as HeldRun))),
        Effect.catchAll(() => Effect.succeed(undefined))
      ),
    wake: (runId, key) =>
      clientOf(runId).Wake({ key }, { discard: true }).pipe(
        Effect.mapError((e) => new ClusterError({ message: `cannot wake run ${runId}: ${e._tag}` }))
      ),
    singleton: (name, run) => sharding.registerSingleton(name, run),
    owns: (runId) =>
      sharding.hasShardId(sharding.getShardId(EntityId.make(runId), RunEntity.getShardGroup(EntityId.make(runId)))),
    cancel: (runId, workspace) =>
      clientOf(runId).Cancel({ workspace }).pipe(
        Effect.timeout(CANCEL_TIMEOUT),
        Effect.catchAll(() => Effect.succeed(false))
      )
  })
})

/** `ClusterRuns` on a `Sharding`. */
export const layerClient: Layer.Layer<ClusterRuns, never, Sharding> = Layer.effect(ClusterRuns, make)

/**
 * The cluster side of a replica: the runner, the run entity's handlers on the
 * `RunHost`, and `ClusterRuns`. Needs the store's SQL client (PostgreSQL).
 */
export const layer = (
  settings: ClusterSettings
): Layer.Layer<ClusterRuns, ClusterError, SqlClient | RunHost | RunStore> =>
  Layer.merge(layerClient, layerHandlers).pipe(Layer.provide(ShardingLayer.layer(settings)))
