/**
 * `RunPlacement`: where a submitted run executes, and how a replica reaches
 * a run it does not hold. `layerLocal` is single-process mode: the
 * `RunManager` queues and executes every run. `layerCluster` is cluster mode
 * (`trellis serve --cluster`, `src/cluster/`): the receiving replica admits
 * the run (quotas, Idempotency-Key) and places it on the owner of its shard,
 * whose `RunManager` executes it; peek, cancel and wakes (signals, timers
 * of parked runs) go to the owner, and the scheduler runs on one replica.
 */
import type { SqlClient } from "@effect/sql/SqlClient"
import { Clock, Context, Duration, Effect, Layer, Option, Schedule } from "effect"
import type { Scope } from "effect"
import * as Cluster from "../cluster/index.js"
import type { ClusterSettings } from "../cluster/index.js"
import { RunStore } from "../runtime/runStore.js"
import { gcIntervalMs } from "../store/settings.js"
import { ManagerError, RunManager } from "./runManager.js"
import type { ManagedRun, Submission } from "./runManager.js"
import { managedOf } from "./runManagerTypes.js"

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
  /** Wakes a run a signal was sent to (signal id `signalId`): resumed on its owner when parked. */
  readonly wake: (runId: string, signalId: string) => Effect.Effect<void>
  /**
   * Runs `run` (which never ends) in the current scope on one process: this one (single-process mode), or one
   * replica of the cluster at a time (a singleton, moved to a live replica when its owner stops or dies).
   */
  readonly single: (name: string, run: Effect.Effect<never>) => Effect.Effect<void, never, Scope.Scope>
  /** Whether several replicas share the store (cluster mode): the scheduler polls for schedules others wrote. */
  readonly clustered: boolean
}>() {
  /** Single-process mode: every run on this process's `RunManager`. */
  static readonly layerLocal: Layer.Layer<RunPlacement, never, RunManager> = Layer.effect(
    RunPlacement,
    Effect.map(RunManager, (manager) =>
      RunPlacement.of({
        submit: manager.submit,
        peek: (runId, workspace) => Effect.sync(() => manager.peek(runId, workspace)),
        cancel: manager.cancel,
        wake: (runId) => manager.wake(runId),
        single: (_name, run) => Effect.asVoid(Effect.forkScoped(run)),
        clustered: false
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
      manager.peek(runId, workspace) === undefined ? runs.cancel(runId, workspace) : manager.cancel(runId, workspace),
    wake: (runId, signalId) =>
      runs.wake(runId, `signal:${signalId}`).pipe(
        Effect.catchAll((e) => Effect.logWarning(`waking run ${runId} failed: ${e.message}`))
      ),
    single: (name, run) => runs.singleton(name, run),
    clustered: true
  })

/**
 * Timers of parked runs in cluster mode: armed by the owner of the run's shard only, and a fired timer wakes the
 * run through the cluster (a `Wake` message, executed by its owner). Every `refreshMs` the timers the store holds
 * are compared with the shards this runner owns now: taken-over runs get their timer, lost ones drop it.
 */
const routeTimers = (manager: RunManager["Type"], runs: Cluster.ClusterRuns["Type"], settings: ClusterSettings) =>
  Effect.gen(function*() {
    manager.routeTimers({
      owns: runs.owns,
      fire: (runId, fireAt) =>
        runs.wake(runId, `timer:${fireAt}`).pipe(
          Effect.catchAll((e) => Effect.logWarning(`firing the timer of run ${runId} failed: ${e.message}`))
        )
    })
    yield* manager.rearm.pipe(
      Effect.repeat(Schedule.spaced(Duration.millis(settings.refreshMs))),
      Effect.forkScoped
    )
  })

/** How often a runner looks for orphaned runs: every 5 message polls (5 s with the defaults). */
export const sweepMs = (settings: ClusterSettings): number => 5 * settings.messagePollMs

/**
 * The safety net of takeovers: every `sweepMs`, the runs recorded `running` whose shard this runner owns but that it
 * neither executes nor queues are listed; one listed by two sweeps in a row (no message brought it here meanwhile,
 * e.g. its `Execute` was answered by a failed execution or is stuck in the message storage) is resumed here from its
 * log. Shard ownership is the cluster's lock, so no other runner executes it. A parked run of its shards whose timer
 * is overdue by two sweeps is resumed here too.
 */
const sweepOrphans = (manager: RunManager["Type"], runs: Cluster.ClusterRuns["Type"], settings: ClusterSettings) =>
  Effect.gen(function*() {
    const store = yield* RunStore
    const scope = yield* Effect.scope
    let suspects = new Set<string>()
    const sweep = Effect.gen(function*() {
      const orphans: Array<ManagedRun> = []
      let cursor: string | undefined
      do {
        const page = yield* store.list({ status: "running", limit: 1000, ...(cursor === undefined ? {} : { cursor }) })
        for (const r of page.runs) {
          if (runs.owns(r.runId) && manager.peek(r.runId, r.workspace) === undefined) orphans.push(managedOf(r))
        }
        cursor = page.next
      } while (cursor !== undefined)
      const next = new Set<string>()
      for (const run of orphans) {
        if (!suspects.has(run.runId)) {
          next.add(run.runId)
          continue
        }
        yield* Effect.logWarning(`run ${run.runId} was left running with no message to resume it; resuming it here`)
        yield* Effect.forkIn(manager.execute(run, "resume", undefined), scope)
      }
      suspects = next
      // A parked run whose timer is overdue by two sweeps (its Wake was lost on the way): resumed here.
      const now = yield* Clock.currentTimeMillis
      for (const t of yield* store.timers()) {
        if (t.fireAt > now - 2 * sweepMs(settings) || !runs.owns(t.runId)) continue
        const record = yield* store.get(t.runId)
        if (Option.isNone(record) || record.value.status !== "waiting") continue
        if (manager.peek(t.runId, record.value.workspace) !== undefined) continue
        yield* Effect.logWarning(`the timer of run ${t.runId} is overdue; resuming it here`)
        yield* Effect.forkIn(manager.execute(managedOf(record.value), "resume", undefined), scope)
      }
    })
    yield* sweep.pipe(
      Effect.catchAll((e) => Effect.logWarning(`looking for orphaned runs failed: ${e.message}`)),
      Effect.repeat(Schedule.spaced(Duration.millis(sweepMs(settings)))),
      Effect.forkScoped
    )
  })

/**
 * Cluster mode: a runner of `@effect/cluster` on the store's PostgreSQL
 * database; runs are placed on the owner of their shard.
 */
export const layerCluster = (
  settings: ClusterSettings
): Layer.Layer<RunPlacement, Cluster.ClusterError, RunManager | SqlClient | RunStore> =>
  Layer.scoped(
    RunPlacement,
    Effect.gen(function*() {
      const manager = yield* RunManager
      const runs = yield* Cluster.ClusterRuns
      yield* routeTimers(manager, runs, settings)
      yield* sweepOrphans(manager, runs, settings)
      // The cluster's processed messages of runs ended 10 min ago or more, with the store's collector's interval.
      yield* Cluster.startMessageGc(runs, { intervalMs: yield* Effect.orDie(gcIntervalMs), graceMs: 600_000 })
      return placementOf(manager, runs)
    })
  ).pipe(Layer.provide(Cluster.layer(settings)), Layer.provide(layerHost))
