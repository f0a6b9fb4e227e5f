/**
 * The driver of a run: the one part that host callbacks enter. Fibers'
 * observers, promise calls settling, the microtask that finishes a burst
 * of completions, the `setImmediate` after a burst, and the `setTimeout`
 * that paces event flushes all come in here, and each runs the scheduler
 * in a `Phase`:
 * - `idle`: no scheduler code on the stack; a completion drains at once
 *   (a fiber observer) or schedules the burst microtask (a handler);
 * - `draining`: the drain loop runs; completions queue up, events do not
 *   schedule flushes, the clock is read once per step;
 * - `burst`: a burst of handler completions is being finished, critical
 *   path first; calls made ready park in the wait queue and take the free
 *   slots by rank (see `finishBurst`).
 * The scheduler (scheduler.ts) supplies the steps; nothing here decides
 * what a run computes, only when its bookkeeping runs.
 */
import { Exit, FiberRefs, Runtime } from "effect"
import type { Clock, Effect, Fiber } from "effect"
import type { ToolError } from "../tools/errors.js"
import { PromiseCall } from "./inflight.js"
import type { InFlight } from "./inflight.js"
import { currentMeter } from "./meter.js"
import type { Usage } from "./meter.js"
import type { NodeRun, RunStatus } from "./runState.js"
import type { Suspended } from "./toolCall.js"

/** What the scheduler is doing (see the module comment). */
export type Phase = "idle" | "draining" | "burst"

/** A handler that completed, to be finished by the next drain or burst. */
export interface Completion {
  readonly nr: NodeRun
  readonly r: Suspended
  readonly exit: Exit.Exit<unknown, ToolError>
  /** Clock ms when the handler completed. */
  readonly endedAt: number
}

const byRankDesc = (a: Completion, b: Completion): number => b.nr.pn.rank - a.nr.pn.rank

/** The host-callback side of a run; `Scheduler` extends it with the steps. */
export abstract class Driver {
  status: RunStatus = "running"
  /** Effects and promise calls in flight, with the node each serves (timers serve none). */
  readonly inflight = new Map<InFlight, NodeRun | undefined>()
  /** Wakes the driver loop (interpret.ts) when it waits for in-flight work. */
  wake: (() => void) | undefined

  protected phase: Phase = "idle"
  /** The clock time of the current step, or -1 outside one. */
  protected stepTime = -1
  private flushTimer: ReturnType<typeof setTimeout> | undefined
  private burstPending = false
  private afterBurstPending = false
  /** Continuations of fibers that completed (hooks, timers, policed calls). */
  private inbox: Array<() => void> = []
  /** Handlers completed since the last drain, waiting to be finished (see `finishBurst`). */
  private completions: Array<Completion> = []

  /** Forks an effect on the run's runtime (made once: `Runtime.runFork(runtime)` allocates a function per call). */
  private readonly runFork: ReturnType<typeof Runtime.runFork<never>>
  /** The meter of the handler being forked, read by `forkOptions.updateRefs` during `runFork`. */
  private forkMeter: Usage | undefined
  /** The options every handler fiber is forked with (one object, not one per call): its `currentMeter`. */
  private readonly forkOptions: Runtime.RunForkOptions = {
    updateRefs: (refs, fiberId) => {
      const value = this.forkMeter
      // `runFork` hands over the new fiber's own refs, made for it: the meter is set in them rather than in a copy.
      if (refs === this.runtimeRefs) return FiberRefs.updateAs(refs, { fiberId, fiberRef: currentMeter, value })
      const stack = refs.locals.get(currentMeter)
      refs.locals.set(currentMeter, stack === undefined ? [[fiberId, value]] : [[fiberId, value], ...stack])
      return refs
    }
  }
  /** The run's runtime's own refs (never changed in place). */
  private readonly runtimeRefs: FiberRefs.FiberRefs

  constructor(runtime: Runtime.Runtime<never>, private readonly clock: Clock.Clock) {
    this.runFork = Runtime.runFork(runtime)
    this.runtimeRefs = runtime.fiberRefs
  }

  /** Clock time in ms. */
  readonly now = (): number => this.clock.unsafeCurrentTimeMillis()

  /** Runs the next ready node; false when none is ready. */
  protected abstract runReady(): boolean
  /** Whether a node is ready. */
  protected abstract hasReady(): boolean
  /** How many events wait to be flushed. */
  protected abstract pendingEvents(): number
  /** Finishes a completed handler outside a burst: hands its slot on first, then its bookkeeping. */
  protected abstract handlerDone(nr: NodeRun, r: Suspended, exit: Exit.Exit<unknown, ToolError>, endedAt?: number): void
  /** Frees the slot of a completed handler inside a burst (handed on by rank, see `finishBurst`). */
  protected abstract releaseSlot(c: Completion): void
  /** Finishes a completed handler inside a burst (its slot already freed): its bookkeeping. */
  protected abstract finishInBurst(c: Completion): void
  /** The highest rank among calls holding slots. */
  protected abstract maxHeldRank(): number
  /** Starts waiting calls of rank at least `minRank` while slots are free. */
  protected abstract startWaiting(minRank: number): void
  /** Starts waiting calls while slots are free. */
  protected abstract releaseWaiting(): void
  /** Whether calls wait for a slot. */
  protected abstract hasWaiting(): boolean

  /** Clock time for events: read once per synchronous step (a step cannot see the clock move). */
  protected stepNow(): number {
    if (this.phase === "idle") return this.now()
    if (this.stepTime < 0) this.stepTime = this.now()
    return this.stepTime
  }

  /** Whether the driver loop has something to do now: drain, flush events, or finish. */
  hasWork(): boolean {
    return this.status !== "running" || this.hasReady() || this.inbox.length > 0 || this.completions.length > 0
  }

  /** Runs ready nodes and completions until there is nothing to do without waiting (or events pile up). */
  drain(maxEvents = 8192): void {
    if (this.phase !== "idle") return
    this.phase = "draining"
    try {
      this.drainLoop(maxEvents)
    } finally {
      this.phase = "idle"
      this.stepTime = -1
    }
  }

  private drainLoop(maxEvents = 8192): void {
    while (this.status === "running" && this.pendingEvents() < maxEvents) {
      this.stepTime = -1
      if (this.inbox.length > 0) {
        const inbox = this.inbox
        this.inbox = []
        for (const k of inbox) if (this.status === "running") k()
        continue
      }
      if (this.completions.length > 0) {
        // Outside a burst's own drain: finish them in arrival order.
        const done = this.completions
        this.completions = []
        for (const c of done) if (this.status === "running") this.handlerDone(c.nr, c.r, c.exit, c.endedAt)
        continue
      }
      if (!this.runReady()) return
    }
  }

  /** Wakes the driver loop, if it waits. */
  protected signal(): void {
    const wake = this.wake
    if (wake !== undefined) {
      this.wake = undefined
      wake()
    }
  }

  /**
   * Wakes the driver loop to flush events on the next macrotask, once for
   * however many completions arrive before it: a burst of completions (say
   * 16 timers firing together) costs one flush, not 16. This timer only
   * paces flushing; it never decides what the run computes or when.
   */
  scheduleFlush(): void {
    if (this.flushTimer !== undefined || this.wake === undefined) return
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined
      this.signal()
    }, 0)
  }

  /** Cancels a pending flush wake (the run is over). */
  clearFlush(): void {
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer)
    this.flushTimer = undefined
  }

  /**
   * Runs `eff` on a fiber started at once; `k` gets its exit inline when it
   * completes synchronously, else later through the inbox, drained at once.
   */
  protected fork<A, E>(
    eff: Effect.Effect<A, E>,
    nr: NodeRun | undefined,
    k: (exit: Exit.Exit<A, E>) => void
  ): Fiber.RuntimeFiber<A, E> {
    const fiber = this.runFork(eff)
    const exit = fiber.unsafePoll()
    if (exit !== null) {
      k(exit)
      return fiber
    }
    const erased = fiber as Fiber.RuntimeFiber<unknown, unknown>
    this.inflight.set(erased, nr)
    fiber.addObserver((exit) => {
      this.inflight.delete(erased)
      if (this.status !== "running") return
      this.inbox.push(() => k(exit))
      // Continue right here, on the completing fiber's turn: dependents start without waiting for the driver.
      if (this.phase === "idle") this.drain()
      if (this.status !== "running") this.signal()
      else this.scheduleFlush()
    })
    return fiber
  }

  /**
   * Waits for a plain call's handler that did not complete at once: a
   * `run` handler's Promise without a fiber, an Effect handler's effect on
   * a fiber (its `currentMeter` set to the call's meter). A handler that
   * completes synchronously finishes here; one that completes later is
   * finished right after the host callback that completed it (see
   * `finishBurst`).
   */
  protected awaitHandler(nr: NodeRun, r: Suspended): void {
    const promise = r.promise
    if (promise !== undefined) {
      // (Closures are passed inline: a named one costs a defineProperty per call under tsx's keepNames.)
      const call: PromiseCall = new PromiseCall(promise, (ok, value) => {
        this.inflight.delete(call)
        if (this.status === "running") this.completed(nr, r, ok ? Exit.succeed(value) : Exit.fail(r.rejected(value)))
      }, () => r.abort())
      this.inflight.set(call, nr)
      return
    }
    this.forkMeter = r.meter
    const fiber = this.runFork(r.effect!, this.forkOptions)
    this.forkMeter = undefined
    const exit = fiber.unsafePoll()
    if (exit !== null) return this.handlerDone(nr, r, exit)
    nr.fiber = fiber
    this.inflight.set(fiber, nr)
    fiber.addObserver((exit) => {
      this.inflight.delete(fiber)
      if (this.status === "running") this.completed(nr, r, exit)
    })
  }

  /** A handler completed from a host callback: finish it right after that callback. */
  private completed(nr: NodeRun, r: Suspended, exit: Exit.Exit<unknown, ToolError>): void {
    this.completions.push({ nr, r, exit, endedAt: this.now() })
    if (this.phase !== "idle" || this.burstPending) return
    this.burstPending = true
    queueMicrotask(this.onBurst)
  }

  /**
   * Finishes the handlers completed by one host callback, right after it
   * (a microtask, like a promise continuation; between two timers firing
   * together Node runs microtasks): their dependents become ready at once,
   * and a waiting call starts at once when nothing still in flight can
   * make a call ready that would go before it; the rest take the free
   * slots once the burst of callbacks is over (`afterBurst`). A run that
   * ended wakes the driver loop at once.
   */
  private readonly onBurst = (): void => {
    this.burstPending = false
    if (this.status !== "running" || this.phase !== "idle") return
    this.phase = "burst"
    try {
      this.finishBurst()
    } finally {
      this.phase = "idle"
      this.stepTime = -1
    }
    // Calls parked during the burst take the free slots once it is over; else only the events wait (a flush).
    if (this.status !== "running") this.signal()
    else if (!this.hasWaiting()) this.scheduleFlush()
    else if (!this.afterBurstPending) {
      this.afterBurstPending = true
      setImmediate(this.afterBurst)
    }
  }

  /**
   * Once the current burst of host callbacks is over (timers firing
   * together run back to back; `setImmediate` comes after all of them):
   * calls made ready meanwhile take the free slots by rank, then calls
   * that completed at once made more nodes ready, which start first come,
   * first served; then the driver loop wakes to flush.
   */
  private readonly afterBurst = (): void => {
    this.afterBurstPending = false
    if (this.status === "running" && this.phase === "idle") {
      this.phase = "burst"
      try {
        this.finishBurst()
        this.drainLoop()
      } finally {
        this.phase = "idle"
        this.stepTime = -1
      }
      if (this.status === "running") {
        this.phase = "draining"
        try {
          this.releaseWaiting()
          this.drainLoop()
        } finally {
          this.phase = "idle"
          this.stepTime = -1
        }
      }
    }
    this.signal()
  }

  /**
   * Finishes a burst of completed handlers highest rank first, and starts
   * a waiting call as soon as no call still to be finished can make a call
   * ready that would go before it (a node's dependents rank below it, and
   * among equal ranks the call that waited longer goes first): the
   * critical path's next call starts before its predecessor's bookkeeping
   * when that can make nothing ready that outranks it, else right after
   * it, not after the whole burst's — the same calls, in the same order,
   * as taking the free slots at the end of the burst, only sooner.
   */
  private finishBurst(): void {
    const burst = this.completions
    if (burst.length === 0) return
    this.completions = []
    if (burst.length > 1) burst.sort(byRankDesc)
    for (let i = 0; i < burst.length; i++) {
      if (this.status !== "running") return
      const c = burst[i]!
      // Its slot first: what its bookkeeping makes ready ranks below it, so a waiting call that outranks that
      // and what the calls still holding slots (the rest of the burst among them) can make ready starts now
      // (unless it failed: a failure fails the run, which then starts nothing more).
      this.releaseSlot(c)
      if (Exit.isSuccess(c.exit)) this.startWaitingFrom(Math.max(this.maxHeldRank(), c.nr.pn.rank) - 1)
      if (this.status !== "running") return
      this.finishInBurst(c)
      this.stepTime = -1
      // Nodes made ready run now (their calls park: the phase is `burst`).
      this.drainLoop()
      // What the calls still holding slots make ready ranks below them.
      this.startWaitingFrom(this.maxHeldRank() - 1)
    }
  }

  /** Starts waiting calls of rank at least `minRank` while slots are free, from inside a burst. */
  private startWaitingFrom(minRank: number): void {
    this.phase = "draining"
    try {
      this.startWaiting(minRank)
    } finally {
      this.phase = "burst"
      this.stepTime = -1
    }
  }
}
