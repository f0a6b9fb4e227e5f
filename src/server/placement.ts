/**
 * `RunPlacement`: where a submitted run executes, and how a replica reaches
 * a run it does not hold. `layerLocal` is single-process mode: the
 * `RunManager` queues and executes every run. `layerCluster` is cluster mode
 * (`trellis serve --cluster`, `src/cluster/`): the receiving replica admits
 * the run (quotas, Idempotency-Key) and places it on the owner of its shard,
 * whose `RunManager` executes it; peek and cancel go to the owner.
 */
import type { SqlClient } from "@effect/sql/SqlClient"
import { Context, Effect, Layer } from "effect"
import * as Cluster from "../cluster/index.js"
import type { ClusterSettings } from "../cluster/index.js"
import type { RunStore } from "../runtime/runStore.js"
import { ManagerError, RunManager } from "./runManager.js"
import type { ManagedRun, Submission } from "./runManager.js"

/** The placement of runs. */
export class RunPlacement extends Context.Tag("trellis/RunPlacement")<RunPlacement, {
  /** Accepts a run: its id (the same id again for a repeated Idempotency-Key with the same body). */
  readonly submit: (
    s: Submission
  ) => Effect.Effect<{ readonly runId: string; readonly repeated: boolean }, ManagerError>
  /** A run queued or executing (here or, in cluster mode, on its owner) of `workspace`. */
  readonly peek: (runId: string, workspace: string) => Effect.Effect<ManagedRun | undefined>
  /** Cancels a queued or executing run and waits until its ending is recorded; false when nobody holds it. */
  readonly cancel: (runId: string, workspace: string) => Effect.Effect<boolean>
}>() {
  /** Single-process mode: every run on this process's `RunManager`. */
  static readonly layerLocal: Layer.Layer<RunPlacement, never, RunManager> = Layer.effect(
    RunPlacement,
    Effect.map(RunManager, (manager) =>
      RunPlacement.of({
        submit: manager.submit,
        peek: (runId, workspace) => Effect.sync(() => manager.peek(runId, workspace)),
        cancel: manager.cancel
      }))
  )
}

/** The `RunHost` of the cluster's run entity: this process's `RunManager`. */
const layerHost: Layer.Layer<Cluster.RunHost, never, RunManager> = Layer.effect(
  Cluster.RunHost,
  Effect.map(RunManager, (manager) =>
    Cluster.RunHost.of({
      execute: ({ kind, program, run }) => manager.execute(run, kind, program),
      peek: manager.peek,
      cancel: manager.cancel
    }))
)

const placementOf = (manager: RunManager["Type"], runs: Cluster.ClusterRuns["Type"]) =>
  RunPlacement.of({
    submit: (s) =>
      Effect.gen(function*() {
        const admitted = yield* manager.admit(s)
        if (admitted.run === undefined) return { runId: admitted.runId, repeated: true }
        yield* runs.place({ run: admitted.run, kind: "start", program: s.program }).pipe(
          Effect.mapError((e) => new ManagerError({ reason: "unavailable", message: e.message, retryAfter: 1 }))
        )
        return { runId: admitted.runId, repeated: false }
      }),
    peek: (runId, workspace) => {
      const here = manager.peek(runId, workspace)
      return here === undefined ? runs.peek(runId, workspace) : Effect.succeed(here)
    },
    cancel: (runId, workspace) =>
      manager.peek(runId, workspace) === undefined ? runs.cancel(runId, workspace) : manager.cancel(runId, workspace)
  })

/**
 * Cluster mode: a runner of `@effect/cluster` on the store's PostgreSQL
 * database; runs are placed on the owner of their shard.
 */
export const layerCluster = (
  settings: ClusterSettings
): Layer.Layer<RunPlacement, Cluster.ClusterError, RunManager | SqlClient | RunStore> =>
  Layer.effect(
    RunPlacement,
    Effect.map(Effect.all([RunManager, Cluster.ClusterRuns]), ([manager, runs]) => placementOf(manager, runs))
  ).pipe(Layer.provide(Cluster.layer(settings)), Layer.provide(layerHost))
