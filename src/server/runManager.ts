/**
 * `RunManager`: the server's runs in flight. Submissions go to a bounded
 * queue (`limits.runQueue`) and start when one of `limits.concurrentRuns`
 * slots frees; each run is `Durable.leaveRunning(Durable.start(…))` on a
 * fiber of its own, so:
 * - an explicit `cancel` interrupts it on its cancel path — the run records
 *   `RunCancelled` and ends `cancelled` (its `StopControl` is switched to cancel first);
 * - a shutdown (the layer's release) stops accepting, starts what is still
 *   queued (so every accepted run has a record), waits up to
 *   `limits.drainMs` for runs to finish, then interrupts the rest, which stay
 *   `running` in the store and resume at the next start.
 * Per-workspace quotas (runs per minute, concurrent runs — counted in the
 * store across replicas when `RunCounts` is in context) and
 * `Idempotency-Key` records (`SubmissionKeys`: in the store, shared by every
 * replica on one database, for `limits.idempotencyTtlMs`) are checked at submission.
 * Fair scheduling (issue 14): one workspace executes at most
 * `workspaceRuns` runs at once, and a free slot goes to the queued run of
 * the workspace executing the fewest (oldest first among equals), so one
 * tenant's long runs never keep another's queued. Each run gets the
 * server's per-run limits (`maxRunMs` wall time, `maxRunNodes` node
 * executions), beyond which it fails with `ResourceExhausted`.
 * Durable waits (SPEC §11): a run that parks (`waiting`) leaves the
 * manager; its timer (the earliest deadline of its waits) is armed here and
 * re-armed from the store at start; `wake` (a signal arrived, a timer
 * fired) resumes it through the queue, and `cancel` of a waiting run
 * resumes it on its cancel path, so its cancellation is recorded.
 */
import { Clock, Context, Deferred, Effect, Exit, Fiber, FiberId, Layer, Option, Runtime } from "effect"
import { randomUUID } from "node:crypto"
import type { Json } from "../ir/eval.js"
import type { Program } from "../ir/schema.js"
import { sharedPolicy } from "../runtime/bandit/store.js"
import * as Durable from "../runtime/durable.js"
import type { StopControl } from "../runtime/durable.js"
import type { DurableRequirements } from "../runtime/durable.js"
import { composeHooks, Hooks } from "../runtime/policy/hooks.js"
import { SharedLimits } from "../runtime/policy/sharedLimits.js"
import { RunCounts } from "../runtime/runCounts.js"
import { RunStore } from "../runtime/runStore.js"
import { SubmissionKeys } from "../runtime/submissionKeys.js"
import type { SubmissionKey } from "../runtime/submissionKeys.js"
import type { StoreError } from "../trace/errors.js"
import type { ResolvedLimits } from "./config.js"

import { managedOf, ManagerError } from "./runManagerTypes.js"
import type {
  Admission,
  ManagedRun,
  RunManagerOptions,
  RunManagerService,
  Submission,
  TimerRouting
} from "./runManagerTypes.js"

export { ManagerError } from "./runManagerTypes.js"
export type {
  Admission,
  ManagedRun,
  RunManagerOptions,
  RunManagerService,
  Submission,
  TimerRouting
} from "./runManagerTypes.js"

interface Entry {
  readonly run: ManagedRun & { state: "queued" | "running" }
  readonly kind: "start" | "resume"
  readonly program: Program | undefined
  /** A start whose program and record were written when it was accepted (`Durable.record`). */
  readonly recorded: boolean
  cancelRequested: boolean
  /** Whether interrupting the run leaves it running (shutdown) or cancels it (explicit cancel). */
  readonly control: StopControl
  /** Set by the pre-run hook: the run's loop is executing (its fiber may be cancelled). */
  started: boolean
  /** The run stopped without ending: interrupted under `leaveRunning` (shutdown, lost shard), or dropped from the queue. */
  left: boolean
  fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined
  readonly done: Deferred.Deferred<void>
}

/** The run manager. */
export class RunManager extends Context.Tag("trellis/RunManager")<RunManager, RunManagerService>() {
  /** The manager over the durable services in context; its release drains (see the module doc). */
  static readonly layer = (limits: ResolvedLimits, options: RunManagerOptions = {}) =>
    Layer.scoped(RunManager, make(limits, options))
}

/** The runs one workspace may execute at once: `limits.workspaceRuns`, or half of the slots (at least 1). */
export const workspaceRunsOf = (limits: ResolvedLimits): number =>
  limits.workspaceRuns > 0 ? limits.workspaceRuns : Math.max(1, Math.ceil(limits.concurrentRuns / 2))

const WINDOW_MS = 60_000

const keysUnavailable = (e: StoreError) =>
  new ManagerError({ reason: "unavailable", message: `idempotency keys unavailable: ${e.message}`, retryAfter: 1 })

const make = (limits: ResolvedLimits, options: RunManagerOptions) =>
  Effect.gen(function*() {
    const runtime = yield* Effect.runtime<DurableRequirements>()
    const baseHooks = yield* Hooks
    const runStore = Context.get(runtime.context, RunStore)
    const queue: Array<Entry> = []
    const entries = new Map<string, Entry>()
    let running = 0
    let closing = false
    let stopped = false
    const active = new Map<string, number>()
    /** Runs executing, per workspace. */
    const executing = new Map<string, number>()
    const perWorkspace = workspaceRunsOf(limits)
    const windows = new Map<string, Array<number>>()
    /** Cluster mode: runs-per-minute is a token bucket every replica takes from (burst and rate: the quota). */
    const shared = Option.getOrUndefined(yield* Effect.serviceOption(SharedLimits))
    /** The store's count of running runs (cluster-wide `concurrentRuns`); absent: this process's count. */
    const counts = Option.getOrUndefined(yield* Effect.serviceOption(RunCounts))
    /** Idempotency-Key records: the store's (the server provides it), else memory (tests without a store). */
    const keys = Option.getOrElse(yield* Effect.serviceOption(SubmissionKeys), SubmissionKeys.makeMemory)
    let idle: Deferred.Deferred<void> | undefined
    let resumer: Fiber.RuntimeFiber<number> | undefined
    /** Timers of parked runs, by run id, with the time each fires. */
    const timers = new Map<string, Fiber.RuntimeFiber<unknown, unknown>>()
    const timerAt = new Map<string, number>()
    let routing: TimerRouting | undefined
    /** Runs the manager holds that were signalled: woken again if they park. */
    const wakeAgain = new Set<string>()

    const wake = (runId: string): Effect.Effect<void> =>
      Effect.gen(function*() {
        if (closing) return
        if (entries.has(runId)) {
          wakeAgain.add(runId)
          return
        }
        const record = yield* Effect.flatMap(RunStore, (store) => store.get(runId))
        if (record._tag === "None" || record.value.status !== "waiting" || entries.has(runId)) return
        yield* enqueue(newEntry(managedOf(record.value), "resume", undefined))
      }).pipe(
        Effect.catchAll((e) => Effect.logWarning(`waking run ${runId} failed: ${e.message}`)),
        Effect.provide(runtime.context)
      )

    /** Arms the timer of a parked run (replacing its previous one). */
    const arm = (runId: string, fireAt: number): void => {
      if (stopped) return
      disarm(runId)
      if (routing !== undefined && !routing.owns(runId)) return
      const route = routing
      const fire = Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.zipRight(
          Effect.sleep(`${Math.max(0, fireAt - now)} millis`),
          Effect.suspend(() => {
            timers.delete(runId)
            timerAt.delete(runId)
            return route === undefined ? wake(runId) : route.fire(runId, fireAt)
          })
        ))
      timers.set(runId, Runtime.runFork(runtime)(fire) as Fiber.RuntimeFiber<unknown, unknown>)
      timerAt.set(runId, fireAt)
    }

    const disarm = (runId: string): void => {
      timers.get(runId)?.unsafeInterruptAsFork(FiberId.none)
      timers.delete(runId)
      timerAt.delete(runId)
    }

    /** Arms the timers of the parked runs the store holds (that this process owns), drops the ones it lost. */
    const rearm: Effect.Effect<void> = Effect.flatMap(RunStore, (store) => store.timers()).pipe(
      Effect.flatMap((list) =>
        Effect.sync(() => {
          if (stopped) return
          const listed = new Set<string>()
          for (const t of list) {
            listed.add(t.runId)
            if (timerAt.get(t.runId) !== t.fireAt || (routing !== undefined && !routing.owns(t.runId))) {
              arm(t.runId, t.fireAt)
            }
          }
          // A timer the store no longer holds (the run was woken elsewhere, or ended) stops.
          for (const runId of [...timers.keys()]) if (!listed.has(runId)) disarm(runId)
        })
      ),
      Effect.catchAll((e) => Effect.logWarning(`re-arming timers failed: ${e.message}`)),
      Effect.provide(runtime.context)
    )

    const bump = (workspace: string, d: number) => {
      const n = (active.get(workspace) ?? 0) + d
      if (n <= 0) active.delete(workspace)
      else active.set(workspace, n)
    }

    const gate = (entry: Entry) =>
      Effect.suspend(() => {
        entry.started = true
        if (!entry.cancelRequested) return Effect.void
        entry.control.leave = false
        return Effect.interrupt
      })

    const finished = (entry: Entry) =>
      Effect.suspend(() => {
        entries.delete(entry.run.runId)
        running--
        bump(entry.run.workspace, -1)
        const n = (executing.get(entry.run.workspace) ?? 1) - 1
        if (n <= 0) executing.delete(entry.run.workspace)
        else executing.set(entry.run.workspace, n)
        if (running === 0 && queue.length === 0 && idle !== undefined) Deferred.unsafeDone(idle, Exit.void)
        const again = wakeAgain.delete(entry.run.runId) ? wake(entry.run.runId) : Effect.void
        return Effect.zipRight(Deferred.done(entry.done, Exit.void), Effect.zipRight(pump, again))
      })

    /** What a run of this server starts with (and is recorded with). */
    const startOptionsOf = (run: ManagedRun) => ({
      runId: run.runId,
      workspace: run.workspace,
      limits: { maxRunTime: limits.maxRunMs, maxNodes: limits.maxRunNodes },
      ...(options.strategies === undefined ? {} : { strategies: options.strategies }),
      ...(run.seed === null ? {} : { seed: run.seed })
    })

    const launch = (entry: Entry): void => {
      entry.run.state = "running"
      running++
      executing.set(entry.run.workspace, (executing.get(entry.run.workspace) ?? 0) + 1)
      const body = entry.kind === "start" && entry.program !== undefined
        ? Durable.start(entry.program, entry.run.inputs as { readonly [name: string]: Json }, {
          ...startOptionsOf(entry.run),
          ...(entry.recorded ? { recorded: true } : {})
        })
        : Durable.resume(entry.run.runId)
      const effect = body.pipe(
        Effect.tap((result) =>
          Effect.sync(() => {
            if (result.status !== "waiting") return
            const deadlines = result.waits.flatMap((w) => (w.deadline === null ? [] : [w.deadline]))
            if (deadlines.length > 0) arm(result.runId, Math.min(...deadlines))
          })
        ),
        Effect.locally(sharedPolicy, options.sharedPolicy === true),
        Effect.provideService(Hooks, composeHooks(baseHooks, { preRun: () => gate(entry) })),
        (eff) => Durable.leaveRunning(eff, entry.control),
        Effect.onExit((exit) =>
          Effect.sync(() => {
            if (Exit.isInterrupted(exit) && entry.control.leave) entry.left = true
          })
        ),
        Effect.ignore,
        Effect.ensuring(finished(entry))
      )
      entry.fiber = Runtime.runFork(runtime)(effect) as Fiber.RuntimeFiber<unknown, unknown>
    }

    /**
     * The index in the queue of the run to start next: of the workspaces under their share of slots, the one
     * executing the fewest runs, its oldest queued run; -1 when none may start.
     */
    const nextIndex = (): number => {
      let best = -1
      let bestLoad = Infinity
      const seen = new Set<string>()
      for (let i = 0; i < queue.length; i++) {
        const ws = queue[i]!.run.workspace
        if (seen.has(ws)) continue
        seen.add(ws)
        const load = executing.get(ws) ?? 0
        if (load < perWorkspace && load < bestLoad) {
          best = i
          bestLoad = load
          if (load === 0) break
        }
      }
      return best
    }

    /** Starts queued runs while slots are free, fairly across workspaces (all of them once a shutdown has begun). */
    const pump: Effect.Effect<void> = Effect.sync(() => {
      if (stopped) return
      if (closing) {
        while (queue.length > 0) launch(queue.shift()!)
        return
      }
      while (queue.length > 0 && running < limits.concurrentRuns) {
        const i = nextIndex()
        if (i < 0) return
        launch(queue.splice(i, 1)[0]!)
      }
    })

    const enqueue = (entry: Entry) =>
      Effect.suspend(() => {
        entries.set(entry.run.runId, entry)
        bump(entry.run.workspace, 1)
        queue.push(entry)
        return pump
      })

    const newEntry = (run: ManagedRun, kind: Entry["kind"], program: Program | undefined, recorded = false): Entry => ({
      run: { ...run },
      kind,
      program,
      recorded,
      cancelRequested: false,
      control: { leave: true },
      started: false,
      left: false,
      fiber: undefined,
      done: Deferred.unsafeMake<void>(FiberId.none)
    })

    /**
     * The workspace's runs queued or running, for its `concurrentRuns` quota: with `RunCounts` (the store), the runs
     * every replica has `running` plus the starts queued here (not yet recorded); never fewer than this process holds.
     */
    const activeOf = (workspace: string): Effect.Effect<number, ManagerError> => {
      const local = active.get(workspace) ?? 0
      if (counts === undefined) return Effect.succeed(local)
      let queuedStarts = 0
      for (const e of queue) if (e.kind === "start" && !e.recorded && e.run.workspace === workspace) queuedStarts += 1
      return counts.running(workspace).pipe(
        Effect.map((n) => Math.max(local, n + queuedStarts)),
        Effect.mapError((e) =>
          new ManagerError({ reason: "unavailable", message: `run counts unavailable: ${e.message}`, retryAfter: 1 })
        )
      )
    }

    /** A key already used: the same body names its run again; another body is a conflict. */
    const repeatOf = (bodyHash: string, known: SubmissionKey) =>
      known.bodyHash === bodyHash
        ? Effect.succeed({ runId: known.runId, repeated: true, run: undefined } satisfies Admission)
        : Effect.fail(
          new ManagerError({
            reason: "idempotency-conflict",
            message: "this Idempotency-Key was used with a different request body"
          })
        )

    const admit = (s: Submission) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        if (closing) {
          return yield* new ManagerError({
            reason: "shutting-down",
            message: "the server is shutting down",
            retryAfter: 5
          })
        }
        if (s.idempotency !== undefined) {
          const known = yield* keys.get(s.workspace, s.idempotency.key, now).pipe(Effect.mapError(keysUnavailable))
          if (Option.isSome(known)) return yield* repeatOf(s.idempotency.bodyHash, known.value)
        }
        const quotas = s.quotas
        if (quotas.concurrentRuns !== undefined && (yield* activeOf(s.workspace)) >= quotas.concurrentRuns) {
          return yield* new ManagerError({
            reason: "concurrent-runs",
            message:
              `workspace ${s.workspace} has ${quotas.concurrentRuns} runs queued or running (its concurrentRuns quota)`,
            retryAfter: 1
          })
        }
        let window = windows.get(s.workspace)
        if (quotas.runsPerMinute !== undefined && shared === undefined) {
          window = (window ?? []).filter((t) => t > now - WINDOW_MS)
          windows.set(s.workspace, window)
          if (window.length >= quotas.runsPerMinute) {
            return yield* new ManagerError({
              reason: "runs-per-minute",
              message:
                `workspace ${s.workspace} started ${quotas.runsPerMinute} runs in the last minute (its runsPerMinute quota)`,
              retryAfter: Math.max(1, Math.ceil((window[0]! + WINDOW_MS - now) / 1000))
            })
          }
        }
        if (queue.length >= limits.runQueue && running >= limits.concurrentRuns) {
          return yield* new ManagerError({
            reason: "queue-full",
            message: `the run queue is full (${limits.runQueue} runs waiting)`,
            retryAfter: 1
          })
        }
        if (quotas.runsPerMinute !== undefined && shared !== undefined) {
          const wait = yield* shared.tryAcquire(`runs:${s.workspace}`, {
            limit: quotas.runsPerMinute,
            windowMs: WINDOW_MS
          })
          if (Option.isSome(wait)) {
            return yield* new ManagerError({
              reason: "runs-per-minute",
              message:
                `workspace ${s.workspace} started ${quotas.runsPerMinute} runs in the last minute (its runsPerMinute quota, cluster-wide)`,
              retryAfter: Math.max(1, Math.ceil(wait.value / 1000))
            })
          }
        }
        const runId = randomUUID()
        if (quotas.runsPerMinute !== undefined && shared === undefined) window!.push(now)
        if (s.idempotency !== undefined) {
          const claim = yield* keys.claim(
            s.workspace,
            s.idempotency.key,
            { bodyHash: s.idempotency.bodyHash, runId },
            now,
            limits.idempotencyTtlMs
          ).pipe(Effect.mapError(keysUnavailable))
          // Another submission (here or on another replica) claimed the key since the check above.
          if (claim._tag === "held") return yield* repeatOf(s.idempotency.bodyHash, claim.record)
        }
        const run: ManagedRun = {
          runId,
          workspace: s.workspace,
          programHash: s.programHash,
          programName: s.programName,
          inputs: s.inputs as Json,
          seed: s.seed ?? null,
          createdAt: now,
          state: "queued"
        }
        return { runId, repeated: false, run } satisfies Admission
      })

    /**
     * Admits a run and records it (its program, once per program, then its record) before it is acknowledged: a
     * run accepted while every slot is busy waits in memory, and a crash before it starts leaves its record
     * `running`, so the next start resumes it instead of losing a run a client was given the id of (and whose
     * Idempotency-Key is taken).
     */
    const submit = (s: Submission) =>
      Effect.flatMap(admit(s), (a) => {
        const run = a.run
        if (run === undefined) return Effect.succeed({ runId: a.runId, repeated: true })
        return Durable.record(s.program, run.inputs as { readonly [name: string]: Json }, startOptionsOf(run)).pipe(
          Effect.provideService(RunStore, runStore),
          Effect.mapError((e) =>
            new ManagerError({
              reason: "unavailable",
              message: `the run could not be recorded: ${e.message}`,
              retryAfter: 1
            })
          ),
          Effect.zipRight(enqueue(newEntry(run, "start", s.program, true))),
          Effect.as({ runId: a.runId, repeated: false })
        )
      })

    /** Stops waiting for a placed run: a queued one is dropped, an executing one interrupted (left `running`). */
    const release = (entry: Entry): Effect.Effect<void> =>
      Effect.suspend(() => {
        const i = queue.indexOf(entry)
        if (i >= 0) {
          queue.splice(i, 1)
          entries.delete(entry.run.runId)
          bump(entry.run.workspace, -1)
          entry.left = true
          return Deferred.done(entry.done, Exit.void)
        }
        return entry.fiber === undefined ? Effect.void : Fiber.interrupt(entry.fiber)
      })

    const execute = (run: ManagedRun, kind: "start" | "resume", program: Program | undefined) =>
      Effect.suspend(() => {
        let entry = entries.get(run.runId)
        if (entry === undefined) {
          if (closing) return Effect.succeed("left" as const)
          entry = newEntry(run, kind, program)
          const held = entry
          return Effect.zipRight(enqueue(held), awaitPlaced(held))
        }
        return awaitPlaced(entry)
      })

    const awaitPlaced = (entry: Entry): Effect.Effect<"ended" | "left"> =>
      Deferred.await(entry.done).pipe(
        Effect.map(() => (entry.left ? "left" as const : "ended" as const)),
        Effect.onInterrupt(() => release(entry))
      )

    const peek = (runId: string, workspace: string): ManagedRun | undefined => {
      const e = entries.get(runId)
      return e === undefined || e.run.workspace !== workspace ? undefined : { ...e.run }
    }

    /** Cancels a parked run: it resumes on its cancel path (records RunCancelled) at once. */
    const cancelWaiting = (runId: string, workspace: string): Effect.Effect<boolean> =>
      Effect.gen(function*() {
        const record = yield* Effect.flatMap(RunStore, (store) => store.get(runId, workspace))
        if (record._tag === "None" || record.value.status !== "waiting" || entries.has(runId)) return false
        disarm(runId)
        const e = newEntry(managedOf(record.value), "resume", undefined)
        e.cancelRequested = true
        entries.set(runId, e)
        bump(workspace, 1)
        launch(e)
        yield* Deferred.await(e.done)
        return true
      }).pipe(Effect.catchAll(() => Effect.succeed(false)), Effect.provide(runtime.context))

    const cancel = (runId: string, workspace: string): Effect.Effect<boolean> =>
      Effect.suspend(() => {
        const e = entries.get(runId)
        if (e === undefined) return cancelWaiting(runId, workspace)
        if (e.run.workspace !== workspace) return Effect.succeed(false)
        e.cancelRequested = true
        const i = queue.indexOf(e)
        if (i >= 0) {
          // A queued run starts now and stops at once on its cancel path, so its cancellation is recorded.
          queue.splice(i, 1)
          launch(e)
        } else if (e.started && e.fiber !== undefined) {
          // The run's cancel path: its interruption records RunCancelled instead of leaving it running.
          e.control.leave = false
          return Effect.as(Fiber.interrupt(e.fiber), true)
        }
        return Effect.as(Deferred.await(e.done), true)
      })

    const resumeLeftRunning: Effect.Effect<number> = Effect.gen(function*() {
      const store = yield* RunStore
      let cursor: string | undefined
      const found: Array<ManagedRun> = []
      do {
        const page = yield* store.list({ status: "running", limit: 1000, ...(cursor === undefined ? {} : { cursor }) })
        for (const r of page.runs) {
          if (!entries.has(r.runId)) {
            found.push({
              runId: r.runId,
              workspace: r.workspace,
              programHash: r.programHash,
              programName: r.programName,
              inputs: r.inputs,
              seed: r.seed,
              createdAt: r.createdAt,
              state: "queued"
            })
          }
        }
        cursor = page.next
      } while (cursor !== undefined)
      found.reverse()
      // Checked again at enqueue time: while the store was read, another caller (an eval resuming its example's run,
      // a signal) may have placed the same run here; a second entry would execute it twice.
      let resumed = 0
      for (const run of found) {
        if (closing || entries.has(run.runId)) continue
        yield* enqueue(newEntry(run, "resume", undefined))
        resumed++
      }
      return resumed
    }).pipe(
      Effect.catchAll((e) => Effect.as(Effect.logWarning(`resuming runs left running failed: ${e.message}`), 0)),
      Effect.provide(runtime.context)
    )

    const drain = yield* Effect.cached(
      Effect.gen(function*() {
        closing = true
        if (resumer !== undefined) yield* Fiber.interrupt(resumer)
        yield* pump
        if (running > 0) {
          idle = Deferred.unsafeMake<void>(FiberId.none)
          // Finalizers are uninterruptible: the wait must be interruptible for the deadline to cut it.
          yield* Deferred.await(idle).pipe(Effect.interruptible, Effect.timeout(limits.drainMs), Effect.ignore)
        }
        stopped = true
        for (const t of timers.values()) t.unsafeInterruptAsFork(FiberId.none)
        timers.clear()
        timerAt.clear()
        const fibers = [...entries.values()].flatMap((e) => (e.fiber === undefined ? [] : [e.fiber]))
        // Interrupted under `leaveRunning`: these runs stay `running` and resume at the next start.
        if (fibers.length > 0) yield* Fiber.interruptAll(fibers)
      })
    )
    yield* Effect.addFinalizer(() => drain)

    if (options.resumeOnStart !== false) {
      resumer = Runtime.runFork(runtime)(resumeLeftRunning)
      Runtime.runFork(runtime)(rearm)
    }

    return RunManager.of({
      submit,
      admit,
      execute,
      peek,
      queuedOf: (workspace) => queue.filter((e) => e.run.workspace === workspace).map((e) => ({ ...e.run })),
      cancel,
      wake,
      routeTimers: (r) => {
        routing = r
      },
      rearm,
      stats: () => ({ queued: queue.length, running, closing }),
      resumeLeftRunning,
      drain
    })
  })
