/**
 * The interpreter: runs a plan as one Effect. It resolves the services
 * once, records `RunStarted`, then drives the scheduler (`Run`): drain
 * the ready queue, flush events to the `EventSink` in batches, wait for
 * in-flight work, repeat. When the run ends it interrupts whatever is
 * still in flight (their finalizers run), records the terminal event, and
 * flushes. Interrupting this Effect cancels the run (`RunCancelled`).
 */
import { Effect, FiberRef } from "effect"
import type { Scope } from "effect"
import { globalValue } from "effect/GlobalValue"
import type { Json } from "../ir/eval.js"
import { errorKind } from "../tools/errors.js"
import { ToolRegistry } from "../tools/registry.js"
import { hashJson } from "../trace/contentHash.js"
import type { StoreError } from "../trace/errors.js"
import { EventSink } from "../trace/events.js"
import type { RunEvent } from "../trace/events.js"
import type { BanditStrategy } from "./bandit/state.js"
import { PolicyStore } from "./bandit/store.js"
import { RunError } from "./errors.js"
import { RunFiberScheduler } from "./fiberScheduler.js"
import { interruptAll } from "./inflight.js"
import { LlmRunner } from "./llm.js"
import { Run } from "./nodes.js"
import type { Plan } from "./plan.js"
import { makeBatcher } from "./policy/batcher.js"
import type { BatchedCall } from "./policy/batcher.js"
import { CircuitBreaker } from "./policy/breaker.js"
import type { Budgeter } from "./policy/budget.js"
import { ResultCache } from "./policy/cache.js"
import { Hooks } from "./policy/hooks.js"
import { IdempotencyStore } from "./policy/idempotency.js"
import { ToolLimiter } from "./policy/limiter.js"
import type { Recorded } from "./recorded.js"
import { SignalInbox } from "./signals.js"
import { versionsOf } from "./toolVersions.js"

/** The services every run needs. */
export type RunRequirements = ToolRegistry | EventSink | IdempotencyStore | ResultCache | PolicyStore | ToolLimiter

/** Settings of one execution (resolved from `Runtime.run`'s options). */
export interface ExecuteConfig {
  readonly runId: string
  readonly plan: Plan
  readonly params: ReadonlyMap<string, Json>
  readonly seed: number | undefined
  readonly concurrency: number
  readonly maxNodes: number
  readonly maxDepth: number
  readonly maxRunTimeMs: number | undefined
  readonly budget: Budgeter | undefined
  readonly strategyFor: (key: string) => BanditStrategy
  /** The run's record and its events, when it is resumed or replayed. */
  readonly recorded?: { readonly record: Recorded; readonly events: ReadonlyArray<RunEvent> } | undefined
}

/** A wait a parked run waits on: its node path, its signal (null for a durable sleep) and its deadline. */
export interface OpenWait {
  readonly node: string
  readonly name: string | null
  readonly deadline: number | null
}

/**
 * What a run returns: its output when it completed; when nothing but
 * `wait` steps could progress, the run is parked (`waiting`, output null)
 * with the waits it waits on (SPEC §11) — it holds nothing in memory and
 * continues from its event log when a signal, a timer or a cancel wakes it.
 */
export type RunResult =
  | { readonly runId: string; readonly status: "completed"; readonly output: Json }
  | {
    readonly runId: string
    readonly status: "waiting"
    readonly output: null
    readonly waits: ReadonlyArray<OpenWait>
  }

/** Starts the batcher of every batched tool the plan uses, in the run's scope. */
const makeBatchers = (plan: Plan) =>
  Effect.gen(function*() {
    const registry = yield* ToolRegistry
    const limiter = yield* ToolLimiter
    const batchers = new Map<string, BatchedCall<unknown, unknown>>()
    for (const name of plan.tools) {
      const tool = registry.get(name)
      if (tool?.batch === undefined) continue
      batchers.set(name, yield* makeBatcher(tool, tool.batch, { guard: limiter.guard(tool) }))
    }
    return batchers as ReadonlyMap<string, BatchedCall<unknown, unknown>>
  })

/** Waits until the scheduler has something to do. */
const waitForWork = (run: Run): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    if (run.hasWork() || run.allParked()) return resume(Effect.void)
    run.wake = () => resume(Effect.void)
    // Pending events are flushed on the next macrotask, once per burst (work completing before then joins the batch).
    if (run.pendingEventCount > 0) run.scheduleFlush()
    return Effect.sync(() => {
      run.wake = undefined
    })
  })

/** Decides, when a run is interrupted, whether it is cancelled or left running (see `leaveRunningOnInterrupt`). */
export interface StopControl {
  /** True: an interruption leaves the run running and resumable; false: it cancels the run. */
  leave: boolean
}

/**
 * The stop control of the fiber running a run, if any. While its `leave`
 * is true, interrupting the run does not cancel it: in-flight work is
 * stopped and the events recorded so far are flushed, but no cancellation
 * is recorded, so the run stays resumable (a server shutting down). The
 * control is mutable so its owner can turn a later interruption back into
 * a cancellation (an explicit cancel).
 */
export const leaveRunningOnInterrupt: FiberRef.FiberRef<StopControl | undefined> = globalValue(
  "trellis/runtime/leaveRunningOnInterrupt",
  () => FiberRef.unsafeMake<StopControl | undefined>(undefined)
)

/** Whether an interruption now should leave the run running. */
export const leavesRunning: Effect.Effect<boolean> = Effect.map(
  FiberRef.get(leaveRunningOnInterrupt),
  (c) => c?.leave === true
)

/** Stops in-flight work without recording anything about it, then flushes what was recorded. */
const detach = (run: Run, flush: Effect.Effect<void, StoreError>): Effect.Effect<void, StoreError> =>
  Effect.suspend(() => {
    const fibers = [...run.inflight.keys()]
    run.inflight.clear()
    return Effect.zipRight(fibers.length === 0 ? Effect.void : interruptAll(fibers), flush)
  })

/** Interrupts what is still in flight and records each interrupted node as failed with `Cancelled`. */
const stopInflight = (run: Run, why: string): Effect.Effect<void> =>
  Effect.suspend(() => {
    const paths = run.inflightNodes()
    const fibers = [...run.inflight.keys()]
    run.inflight.clear()
    return Effect.zipRight(
      fibers.length === 0 ? Effect.void : interruptAll(fibers),
      Effect.sync(() => {
        for (const path of paths) run.emit("NodeFailed", path, undefined, { errorKind: "Cancelled", message: why })
      })
    )
  })

/**
 * The events of the run could not be recorded: stop everything in flight
 * (recording nothing more) and fail with `StoreUnavailable`. The run stays
 * `running` in the store with every acknowledged event, so it can resume.
 */
const unrecorded = (run: Run, runId: string, error: StoreError): Effect.Effect<never, RunError> =>
  Effect.suspend(() => {
    run.status = "failed"
    const fibers = [...run.inflight.keys()]
    run.inflight.clear()
    run.takeEvents()
    return Effect.zipRight(
      fibers.length === 0 ? Effect.void : interruptAll(fibers),
      Effect.fail(
        new RunError({
          kind: "StoreUnavailable",
          message:
            `the run's events could not be recorded (${error.operation}: ${error.message}); the run was stopped and can be resumed`,
          runId
        })
      )
    )
  })

/** Stops what is still in flight, records the terminal event and flushes; the run's result or its `RunError`. */
const finish = (
  run: Run,
  runId: string,
  flush: Effect.Effect<void, StoreError>
): Effect.Effect<RunResult, RunError | StoreError> =>
  Effect.gen(function*() {
    if (run.status === "waiting") {
      // Parked: the waits' fibers stop, nothing is recorded about them (they continue from the log).
      const waits = [...run.waits].map(([nr, w]) => ({ node: nr.path, name: w.name, deadline: w.deadline }))
      yield* detach(run, flush)
      return { runId, status: "waiting", output: null, waits } satisfies RunResult
    }
    if (run.status === "completed") {
      yield* stopInflight(run, "the run completed")
      run.close("RunCompleted", { outputHash: hashJson(run.output), output: run.output })
      yield* flush
      return { runId, status: "completed", output: run.output } satisfies RunResult
    }
    const failure = run.failure!
    yield* stopInflight(run, `interrupted: node ${failure.node ?? "(run)"} failed`)
    run.close("RunFailed", {
      errorKind: errorKind(failure.error),
      message: failure.error.message,
      ...(failure.node === undefined ? {} : { failedNode: failure.node })
    })
    yield* flush
    return yield* Effect.fail(
      new RunError({
        kind: errorKind(failure.error),
        message: failure.error.message,
        runId,
        ...(failure.node === undefined ? {} : { node: failure.node })
      })
    )
  })

/** Runs a plan to completion; fails with `RunError` when a node (or the run) fails. */
export const execute = (config: ExecuteConfig): Effect.Effect<RunResult, RunError, RunRequirements | Scope.Scope> =>
  Effect.gen(function*() {
    const registry = yield* ToolRegistry
    const sink = yield* EventSink
    const store = yield* IdempotencyStore
    const cache = yield* ResultCache
    const limiter = yield* ToolLimiter
    const breakers = yield* CircuitBreaker
    const policy = yield* PolicyStore
    const hooks = yield* Hooks
    const llm = yield* LlmRunner
    const signals = yield* SignalInbox
    const clock = yield* Effect.clock
    // The run's fibers share one task queue (fiberScheduler.ts).
    const runtime = yield* Effect.withScheduler(Effect.runtime<never>(), new RunFiberScheduler())
    const batchers = yield* makeBatchers(config.plan)
    const patches = config.recorded?.record.patches ?? new Set(config.plan.patches)
    const run = new Run(
      {
        runId: config.runId,
        plan: config.plan,
        params: config.params,
        patches,
        concurrency: config.concurrency,
        maxNodes: config.maxNodes,
        maxDepth: config.maxDepth,
        maxRunTimeMs: config.maxRunTimeMs,
        budget: config.budget,
        strategyFor: config.strategyFor,
        seed: config.seed,
        recorded: config.recorded?.record
      },
      { registry, policy, hooks, llm, signals, clock, runtime, call: { store, cache, limiter, breakers, batchers } },
      config.recorded?.events
    )
    const inputs: Record<string, Json> = Object.fromEntries(config.params)
    run.emit("RunStarted", undefined, undefined, {
      programHash: config.plan.hash,
      inputsHash: hashJson(inputs),
      seed: config.seed ?? null,
      mode: config.recorded === undefined ? "live" : config.recorded.record.mode === "resume" ? "resume" : "replay",
      inputs,
      ...(config.plan.tools.size === 0 ? {} : { toolVersions: versionsOf(config.plan.tools, registry) }),
      ...(patches.size === 0 ? {} : { patches: [...patches].sort() })
    })
    const flush = Effect.suspend(() => (run.pendingEventCount === 0 ? Effect.void : sink.append(run.takeEvents())))

    const loop = Effect.gen(function*() {
      if (hooks.preRun !== undefined) {
        const vetoed = yield* Effect.either(
          hooks.preRun({ runId: config.runId, programHash: config.plan.hash, inputs })
        )
        if (vetoed._tag === "Left") run.failRun(vetoed.left, undefined)
      }
      if (run.status === "running") run.start()
      while (true) {
        run.drain()
        // An ended or parked run flushes once, in `finish`: a short run's events go in one batch, with its end.
        if (run.status !== "running") break
        if (run.allParked()) {
          run.status = "waiting"
          break
        }
        if (run.hasWork()) {
          // The drain stopped on a full buffer.
          yield* flush
          continue
        }
        // Events are flushed once per burst: on the next macrotask (`scheduleFlush`), so work in flight that
        // completes before then joins the same batch (a short run's events all go with its end).
        yield* waitForWork(run)
        if (!run.hasWork()) yield* flush
      }
    })

    const cancelled = Effect.flatMap(leavesRunning, (leave) =>
      Effect.suspend(() => {
        if (run.status !== "running") return Effect.void
        run.status = "cancelled"
        // A shutdown leaves the run resumable: in-flight work stops, nothing more is recorded but what happened.
        if (leave) return detach(run, flush)
        return stopInflight(run, "interrupted: the run was cancelled").pipe(
          Effect.zipRight(Effect.sync(() => run.close("RunCancelled", { reason: "interrupted" }))),
          Effect.zipRight(flush)
        )
      }))

    const lost = (e: StoreError) => unrecorded(run, config.runId, e)
    yield* Effect.onInterrupt(loop, () => Effect.catchTag(cancelled, "StoreError", () => Effect.void)).pipe(
      Effect.ensuring(Effect.sync(() => run.clearFlush())),
      Effect.catchTag("StoreError", lost)
    )

    // Once the loop has ended, recording the end of the run is not interrupted half-way.
    return yield* Effect.uninterruptible(
      Effect.suspend(() => finish(run, config.runId, flush)).pipe(Effect.catchTag("StoreError", lost))
    )
  })
