/**
 * The `RunManager`'s shapes: its error, a submission, a managed run, the
 * service interface and its options (the implementation is `runManager.ts`,
 * which re-exports these).
 */
import type { Effect } from "effect"
import { Schema } from "effect"
import type { Json } from "../ir/eval.js"
import type { Program } from "../ir/schema.js"
import type { BanditStrategy } from "../runtime/bandit/state.js"
import type { RunRecord } from "../runtime/runStore.js"
import type { Quotas } from "./config.js"

/** Why a submission or a cancel was refused. */
export class ManagerError extends Schema.TaggedError<ManagerError>()("ManagerError", {
  reason: Schema.Literal(
    "queue-full",
    "runs-per-minute",
    "concurrent-runs",
    "shutting-down",
    "idempotency-conflict",
    "unavailable"
  ),
  message: Schema.String,
  /** Seconds to wait before trying again (429s). */
  retryAfter: Schema.optionalWith(Schema.Int, { exact: true })
}) {}

/** A run to start. */
export interface Submission {
  readonly workspace: string
  readonly quotas: Quotas
  readonly program: Program
  readonly programHash: string
  readonly programName: string
  readonly inputs: { readonly [name: string]: Json }
  readonly seed?: number
  /** The Idempotency-Key and the hash of the request body. */
  readonly idempotency?: { readonly key: string; readonly bodyHash: string }
}

/** A run the manager holds (queued or executing). */
export interface ManagedRun {
  readonly runId: string
  readonly workspace: string
  readonly programHash: string
  readonly programName: string
  readonly inputs: Json
  readonly seed: number | null
  readonly createdAt: number
  readonly state: "queued" | "running"
}

/** A stored run record as a queued run to resume. */
export const managedOf = (r: RunRecord): ManagedRun => ({
  runId: r.runId,
  workspace: r.workspace,
  programHash: r.programHash,
  programName: r.programName,
  inputs: r.inputs,
  seed: r.seed,
  createdAt: r.createdAt,
  state: "queued"
})

/** The manager's interface. */
export interface RunManagerService {
  /** Accepts a run: its id (the same id again for a repeated Idempotency-Key with the same body). */
  readonly submit: (
    s: Submission
  ) => Effect.Effect<{ readonly runId: string; readonly repeated: boolean }, ManagerError>
  /**
   * Checks a submission (quotas, Idempotency-Key) and gives it its id without queueing it here: in cluster mode
   * the run is queued on the owner of its shard (`execute` there).
   */
  readonly admit: (s: Submission) => Effect.Effect<Admission, ManagerError>
  /**
   * Executes a run placed on this process (or joins it when already held) and waits for it: "ended", or "left"
   * when it stopped without ending (shutdown). Interrupting the wait leaves the run `running`, resumable.
   */
  readonly execute: (
    run: ManagedRun,
    kind: "start" | "resume",
    program: Program | undefined
  ) => Effect.Effect<"ended" | "left">
  /** A run the manager holds, if it belongs to `workspace`. */
  readonly peek: (runId: string, workspace: string) => ManagedRun | undefined
  /** Runs of `workspace` still queued, oldest first. */
  readonly queuedOf: (workspace: string) => ReadonlyArray<ManagedRun>
  /** Cancels a queued or executing run and waits until its ending is recorded; false when the manager does not hold it. */
  readonly cancel: (runId: string, workspace: string) => Effect.Effect<boolean>
  /** Queue depth, executing runs, and whether a shutdown has begun. */
  readonly stats: () => { readonly queued: number; readonly running: number; readonly closing: boolean }
  /** Resumes a `waiting` run (a signal arrived, or its timer fired); a run the manager holds is woken again when it parks. */
  readonly wake: (runId: string) => Effect.Effect<void>
  /**
   * Routes the timers of parked runs (cluster mode): only runs `owns` says are this process's get a timer, and a
   * timer that fires calls `fire` (which reaches the run's owner) instead of waking the run here.
   */
  readonly routeTimers: (routing: TimerRouting) => void
  /**
   * Arms the timers the store holds for parked runs this process owns (all of them without routing), and drops the
   * timers of runs it no longer owns; a timer already armed at the same time is kept.
   */
  readonly rearm: Effect.Effect<void>
  /** Resumes the runs the store holds as `running` (left by a previous process) and nobody placed here; how many. */
  readonly resumeLeftRunning: Effect.Effect<number>
  /**
   * Stops accepting, starts what is queued, waits up to `limits.drainMs` for
   * runs to end, then interrupts the rest (left `running`, resumable). Runs
   * once; the layer's release calls it too.
   */
  readonly drain: Effect.Effect<void>
}

/** An admitted submission: the run to place (not repeated) or the id of the run a repeated key names. */
export interface Admission {
  readonly runId: string
  readonly repeated: boolean
  /** The run to place (undefined when `repeated`). */
  readonly run: ManagedRun | undefined
}

/** Where the timers of parked runs live (cluster mode: on the owner of the run's shard). */
export interface TimerRouting {
  /** Whether this process owns the run (arms its timer). */
  readonly owns: (runId: string) => boolean
  /** The timer of a run fired: wake it on its owner. */
  readonly fire: (runId: string, fireAt: number) => Effect.Effect<void>
}

/** Options of the manager. */
export interface RunManagerOptions {
  /** Resume the runs a previous process left running. @default true */
  readonly resumeOnStart?: boolean
  /** Runs share one bandit policy per choose key across workspaces (config `bandit.shared`). @default false */
  readonly sharedPolicy?: boolean
  /** The bandit strategy of choose keys, by key (config `bandit.strategies`); recorded with each run started. @default {} */
  readonly strategies?: { readonly [key: string]: BanditStrategy }
}
