/**
 * The scheduler: one run of a plan as a plain, synchronous state machine.
 *
 * A ready queue holds node instances whose same-scope dependencies have
 * completed. `drain` runs the queue: pure nodes (`expr`, branch
 * conditions, map sources, call arguments) are evaluated inline; tool,
 * llm and choose steps run as Effects started with `Runtime.runFork`,
 * which executes them synchronously as far as they go — a call that
 * completes synchronously finishes inline (a handler that returns a
 * completed Effect needs no fiber at all), and only a call that really
 * suspends stays in flight; when it completes, its fiber's observer
 * continues the drain right there. Outputs are stored by node index, never
 * by arrival, so results do not depend on completion order. How each node
 * kind executes is in `nodes.ts`; the driver (`interpret.ts`) starts the
 * run, flushes events in batches, and owns interruption.
 */
import { Clock, Effect, Either, Exit, FiberId, FiberRefs, Runtime } from "effect"
import type { Fiber } from "effect"
import { evalPure } from "../ir/eval.js"
import type { Json } from "../ir/eval.js"
import type { Program } from "../ir/schema.js"
import { errorKind, Permanent, ResourceExhausted, Timeout } from "../tools/errors.js"
import type { ToolError } from "../tools/errors.js"
import type { ToolRegistryService } from "../tools/registry.js"
import { makeEvent } from "../trace/events.js"
import type { EventData, RunEvent } from "../trace/events.js"
import { hashJson } from "../trace/hash.js"
import type { BanditStrategy } from "./bandit/state.js"
import type { PolicyStore } from "./bandit/store.js"
import { toToolError } from "./errors.js"
import type { LlmRunnerService } from "./llm.js"
import { currentMeter } from "./meter.js"
import type { Usage } from "./meter.js"
import type { Plan, PlanNode, ScopePlan } from "./plan.js"
import { makeBudgeter } from "./policy/budget.js"
import type { Budgeter } from "./policy/budget.js"
import { durationMs } from "./policy/duration.js"
import type { RunHooks } from "./policy/hooks.js"
import { timeoutMessage } from "./policy/timeout.js"
import { DirectCall } from "./direct.js"
import type { AsyncRegister, InFlight } from "./direct.js"
import { Suppressor } from "./recorded.js"
import type { Recorded } from "./recorded.js"
import { asExit, inlineCall, isPlainCall, toolCall } from "./toolCall.js"
import type { CallEnv, CallSite, Emit, Suspended } from "./toolCall.js"
import { RankSet, WaitQueue } from "./waitQueue.js"

/** Limits and settings of one run. */
export interface RunConfig {
  readonly runId: string
  readonly plan: Plan
  readonly params: ReadonlyMap<string, Json>
  /** Most tool/llm calls in flight at once (calls that complete synchronously never wait). */
  readonly concurrency: number
  /** Most node executions in the whole run. */
  readonly maxNodes: number
  /** Deepest nesting of scopes (map items, branches, options, calls). */
  readonly maxDepth: number
  /** Longest run time in ms, if bounded. */
  readonly maxRunTimeMs: number | undefined
  /** The run's own budget, if any. */
  readonly budget: Budgeter | undefined
  /** The bandit strategy of a choose key. */
  readonly strategyFor: (key: string) => BanditStrategy
  /** Seed of the run, when seeded: each choose then draws from its own Random seeded by (seed, node path). */
  readonly seed: number | undefined
  /** The run's record, when it is resumed or replayed (see recorded.ts). */
  readonly recorded: Recorded | undefined
}

/** The services a run uses, resolved once. */
export interface RunServices {
  readonly registry: ToolRegistryService
  readonly policy: PolicyStore["Type"]
  readonly hooks: RunHooks
  readonly llm: LlmRunnerService
  readonly clock: Clock.Clock
  /** The runtime in-flight effects are forked with (carries Clock, Random and services). */
  readonly runtime: Runtime.Runtime<never>
  readonly call: Omit<CallEnv, "emit" | "now" | "runId" | "seed" | "recorded">
}

/** Resolves a name in a scope instance (undefined when unbound). */
export type Env = (name: string) => Json | undefined

/** The state of a map node while its items run. */
export interface MapState {
  readonly items: ReadonlyArray<Json>
  readonly results: Array<Json>
  readonly cap: number
  next: number
  active: number
  done: number
  starting: boolean
}

/** One execution of a node. */
export interface NodeRun {
  readonly scope: ScopeRun
  readonly pn: PlanNode
  readonly path: string
  budgets: ReadonlyArray<Budgeter>
  done: boolean
  /** In-flight effect of the node (call, choice, hook), if any. */
  fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined
  /** Timer of a node-level timeout. */
  timer: Fiber.RuntimeFiber<unknown, unknown> | undefined
  map: MapState | undefined
  /** The tool call of a tool node. */
  site: CallSite | undefined
}

/** One execution of a scope: values by node index and remaining dependency counts. */
export interface ScopeRun {
  readonly plan: ScopePlan
  readonly values: Array<Json | undefined>
  readonly counts: Int32Array
  left: number
  readonly prefix: string
  readonly env: Env
  readonly depth: number
  readonly budgets: ReadonlyArray<Budgeter>
  readonly onDone: (value: Json) => void
  readonly onFail: (error: ToolError) => void
}

/** How the run ended. */
export type RunStatus = "running" | "completed" | "failed" | "cancelled"

const noBudgets: ReadonlyArray<Budgeter> = []

/**
 * The scheduling core of a run: ready queue, scopes, call slots, in-flight
 * effects, events. `Run` (nodes.ts) adds how each node kind executes.
 */
/** A fiberless call that resumed with an exit, to be finished by the next drain. */
interface Resumed {
  readonly nr: NodeRun
  readonly r: Suspended
  readonly exit: Exit.Exit<unknown, ToolError>
  readonly endedAt: number
}

const byRankDesc = (a: Resumed, b: Resumed): number => b.nr.pn.rank - a.nr.pn.rank

export abstract class Scheduler {
  status: RunStatus = "running"
  output: Json = null
  failure: { readonly error: ToolError; readonly node: string | undefined } | undefined
  /** Events recorded and not yet flushed. */
  events: Array<RunEvent> = []
  /** Effects in flight, with the node each serves (timers serve none). */
  readonly inflight = new Map<InFlight, NodeRun | undefined>()
  /** Wakes the driver when it waits for in-flight work. */
  wake: (() => void) | undefined

  private seq: number
  private readonly suppressor: Suppressor | undefined
  private closed = false
  private draining = false
  /** The clock time of the current drain step, or -1 outside one. */
  private stepTime = -1
  private flushTimer: ReturnType<typeof setTimeout> | undefined
  private drainScheduled = false
  private burstScheduled = false
  private readonly ready: Array<NodeRun> = []
  /** Container nodes whose nested scopes are running (to report them cancelled if the run stops). */
  protected readonly open = new Set<NodeRun>()
  private readyHead = 0
  private inbox: Array<() => void> = []
  /** Fiberless calls resumed since the last drain, waiting to be finished (see `finishBurst`). */
  private resumed: Array<Resumed> = []
  /** Calls waiting for a call slot (critical path first, see waitQueue.ts). */
  private readonly waiting = new WaitQueue<NodeRun>()
  /** Set while a batch of completions is drained: calls queue up and take free slots by rank at its end. */
  private batching = false
  private callsInFlight = 0
  /** The ranks of the calls holding call slots. */
  private readonly slotRanks = new RankSet()
  private nodesStarted = 0
  private nodesReady = 0
  private runTimer: Fiber.RuntimeFiber<unknown, unknown> | undefined
  protected readonly callEnv: CallEnv
  protected readonly program: Program

  readonly emit: Emit = (type, node, attempt, data) => {
    // Nothing is recorded after the terminal event (seq stays contiguous and ends there).
    if (this.closed) return
    const event = makeEvent(type, { runId: this.config.runId, seq: this.seq, at: this.stepNow(), node, attempt, data })
    // A resumed run does not record again what its record already holds.
    if (this.suppressor !== undefined && this.suppressor.drop(event)) return
    this.seq++
    this.events.push(event)
    // Events recorded by in-flight work (outside a drain) are flushed soon.
    if (!this.draining) this.scheduleFlush()
  }

  readonly now = (): number => this.services.clock.unsafeCurrentTimeMillis()

  /** Clock time for events: read once per synchronous step of a drain (a step cannot see the clock move). */
  private stepNow(): number {
    if (!this.draining) return this.now()
    if (this.stepTime < 0) this.stepTime = this.now()
    return this.stepTime
  }

  constructor(readonly config: RunConfig, readonly services: RunServices, recordedEvents?: ReadonlyArray<RunEvent>) {
    const recorded = config.recorded
    // A resumed run continues its record's seq; a replay records a fresh log from 0.
    this.seq = recorded?.mode === "resume" ? recorded.lastSeq + 1 : 0
    this.suppressor = recorded?.mode === "resume" && recordedEvents !== undefined ? new Suppressor(recordedEvents) : undefined
    this.callEnv = { ...services.call, runId: config.runId, emit: this.emit, now: this.now, seed: config.seed, recorded }
    this.program = config.plan.program
  }

  /** Starts the entry program's scope (and the run-time limit timer). */
  start(): void {
    const params = this.config.params
    const budgets = this.config.budget === undefined ? noBudgets : [this.config.budget]
    if (this.config.maxRunTimeMs !== undefined) {
      const ms = this.config.maxRunTimeMs
      this.runTimer = this.fork(Clock.sleep(`${ms} millis`), undefined, (exit) => {
        if (Exit.isSuccess(exit)) this.failRun(new ResourceExhausted({ message: `${timeoutMessage("run", ms)} (limits.maxRunTime)` }), undefined)
      })
    }
    this.startScope(this.config.plan.entry.scope, "", (name) => params.get(name), 0, budgets, (value) => {
      if (this.status !== "running") return
      this.status = "completed"
      this.output = value
      this.stopTimer(this.runTimer)
    }, (error) => this.failRun(error, undefined))
  }

  /** Whether the driver has something to do now: drain, flush events, or finish. */
  hasWork(): boolean {
    return this.status !== "running" || this.readyHead < this.ready.length || this.inbox.length > 0 || this.resumed.length > 0
  }

  /** Takes the events recorded since the last call. */
  takeEvents(): ReadonlyArray<RunEvent> {
    const out = this.events
    this.events = []
    return out
  }

  /** Runs ready nodes and completions until there is nothing to do without waiting (or events pile up). */
  drain(maxEvents = 8192): void {
    if (this.draining) return
    this.draining = true
    try {
      this.drainLoop(maxEvents)
    } finally {
      this.draining = false
      this.stepTime = -1
    }
  }

  private drainLoop(maxEvents: number): void {
    while (this.status === "running" && this.events.length < maxEvents) {
      this.stepTime = -1
      if (this.inbox.length > 0) {
        const inbox = this.inbox
        this.inbox = []
        for (const k of inbox) if (this.status === "running") k()
        continue
      }
      if (this.resumed.length > 0) {
        // Outside a burst's own drain: finish them in arrival order.
        const resumed = this.resumed
        this.resumed = []
        for (const c of resumed) if (this.status === "running") this.handlerDone(c.nr, c.r, c.exit, c.endedAt)
        continue
      }
      if (this.readyHead < this.ready.length) {
        const nr = this.ready[this.readyHead]!
        this.ready[this.readyHead++] = undefined as unknown as NodeRun
        if (this.readyHead > 4096 && this.readyHead * 2 > this.ready.length) {
          this.ready.splice(0, this.readyHead)
          this.readyHead = 0
        }
        this.exec(nr)
        continue
      }
      return
    }
  }

  /** The nodes with an effect in flight (to report them cancelled). */
  inflightNodes(): ReadonlyArray<string> {
    const paths: Array<string> = []
    for (const nr of this.inflight.values()) if (nr !== undefined && !nr.done) paths.push(nr.path)
    // Container nodes (map, call, branch, choose) whose nested scopes were still running.
    for (const nr of this.open) if (!nr.done) paths.push(nr.path)
    return paths
  }

  /** Marks the run failed (first failure wins). */
  failRun(error: ToolError, node: string | undefined): void {
    if (this.status !== "running") return
    this.status = "failed"
    this.failure = { error, node }
    this.signal()
  }

  /**
   * Wakes the driver to flush events on the next macrotask, once for
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

  /** Records the terminal event; nothing is recorded after it. */
  close<T extends "RunCompleted" | "RunFailed" | "RunCancelled">(type: T, data: EventData<T>): void {
    this.emit(type, undefined, undefined, data)
    this.closed = true
  }

  /** Cancels a pending flush wake (the run is over). */
  clearFlush(): void {
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer)
    this.flushTimer = undefined
  }

  private signal(): void {
    const wake = this.wake
    if (wake !== undefined) {
      this.wake = undefined
      wake()
    }
  }

  /**
   * Runs `eff` on a fiber started at once; `k` gets its exit inline when it
   * completes synchronously, else later through the inbox.
   */
  protected fork<A, E>(
    eff: Effect.Effect<A, E>,
    nr: NodeRun | undefined,
    k: (exit: Exit.Exit<A, E>) => void,
    meter?: Usage
  ): Fiber.RuntimeFiber<A, E> {
    const fiber = meter === undefined
      ? Runtime.runFork(this.services.runtime)(eff)
      : Runtime.runFork(this.services.runtime)(eff, {
        updateRefs: (refs, fiberId) => FiberRefs.updateAs(refs, { fiberId, fiberRef: currentMeter, value: meter })
      })
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
      if (!this.draining) this.drain()
      if (this.status !== "running") this.signal()
      else this.scheduleFlush()
    })
    return fiber
  }

  protected stopTimer(timer: Fiber.RuntimeFiber<unknown, unknown> | undefined): void {
    if (timer !== undefined && timer.unsafePoll() === null) timer.unsafeInterruptAsFork(FiberId.none)
  }

  protected startScope(
    plan: ScopePlan,
    prefix: string,
    env: Env,
    depth: number,
    budgets: ReadonlyArray<Budgeter>,
    onDone: (value: Json) => void,
    onFail: (error: ToolError) => void
  ): void {
    if (depth > this.config.maxDepth) {
      onFail(new Permanent({ message: `scopes nested deeper than the limit of ${this.config.maxDepth} (limits.maxDepth)` }))
      return
    }
    const n = plan.nodes.length
    const values = new Array<Json | undefined>(n)
    const scope: ScopeRun = {
      plan,
      values,
      counts: plan.depCounts.slice(),
      left: n,
      prefix,
      depth,
      budgets,
      onDone,
      onFail,
      env: (name) => {
        const i = plan.indexOf.get(name)
        if (i !== undefined) {
          const v = values[i]
          if (v !== undefined) return v
        }
        return env(name)
      }
    }
    if (n === 0) return this.finishScope(scope)
    for (const i of plan.roots) this.makeReady(scope, i)
  }

  protected finishScope(scope: ScopeRun): void {
    const result = evalPure(scope.plan.result, scope.env)
    if (Either.isLeft(result)) scope.onFail(new Permanent({ message: `result: ${result.left.message}` }))
    else scope.onDone(result.right)
  }

  protected makeReady(scope: ScopeRun, index: number): void {
    // Nodes made ready bound the run's work too (a map readies all its items' roots before executing them).
    if (++this.nodesReady > 4 * this.config.maxNodes) {
      return this.failRun(
        new ResourceExhausted({ message: `run created more than ${4 * this.config.maxNodes} nodes (4 × limits.maxNodes)` }),
        undefined
      )
    }
    const pn = scope.plan.nodes[index]!
    const path = scope.prefix + pn.id
    const nr: NodeRun = { scope, pn, path, budgets: scope.budgets, done: false, fiber: undefined, timer: undefined, map: undefined, site: undefined }
    this.emit("NodeReady", path, undefined, pn.readyData)
    this.ready.push(nr)
  }

  private exec(nr: NodeRun): void {
    if (++this.nodesStarted > this.config.maxNodes) {
      this.emit("NodeStarted", nr.path, undefined, nr.pn.startedData)
      return this.failNode(nr, new ResourceExhausted({ message: `run executed more than ${this.config.maxNodes} nodes (limits.maxNodes)` }))
    }
    this.emit("NodeStarted", nr.path, undefined, nr.pn.startedData)
    const node = nr.pn.node
    const policy = node.policy
    if (policy?.budget !== undefined) {
      nr.budgets = [Effect.runSync(makeBudgeter(policy.budget)), ...nr.budgets]
    }
    if (policy?.timeout !== undefined && node.kind !== "tool" && node.kind !== "llm" && node.kind !== "expr") {
      const ms = durationMs(policy.timeout, 0)
      nr.timer = this.fork(Clock.sleep(`${ms} millis`), undefined, (exit) => {
        if (Exit.isSuccess(exit) && !nr.done) this.failNode(nr, new Timeout({ message: timeoutMessage(`node ${nr.path}`, ms) }))
      })
    }
    // Tool nodes run their pre-node hook once their args are evaluated (see Run.execTool).
    if (node.kind === "tool") return this.dispatch(nr)
    const preNode = this.services.hooks.preNode
    if (preNode === undefined) return this.dispatch(nr)
    this.hook(nr, preNode({ runId: this.config.runId, node: nr.path, kind: node.kind }), () => this.dispatch(nr))
  }

  /** Runs a hook effect for a node; `k` continues when it passes, a veto fails the node. */
  protected hook(nr: NodeRun, eff: Effect.Effect<void, ToolError>, k: () => void): void {
    this.fork(eff, nr, (exit) => {
      if (nr.done) return
      if (Exit.isSuccess(exit)) k()
      else this.failNode(nr, toToolError(exit.cause, `hook of node ${nr.path}`))
    })
  }

  /** Executes a node of the given kind (its pre-node hook has passed). */
  protected abstract dispatch(nr: NodeRun): void

  /** Runs a nested scope of `nr`; its result completes the node. */
  protected startChild(nr: NodeRun, plan: ScopePlan, prefix: string, env: Env): void {
    this.open.add(nr)
    this.startScope(plan, prefix, env, nr.scope.depth + 1, nr.budgets, (v) => this.complete(nr, v), (e) => this.failNode(nr, e))
  }

  /** Starts a tool call now, or parks it until a call slot frees. */
  protected startCall(nr: NodeRun, site: CallSite): void {
    if (this.callsInFlight >= this.config.concurrency || this.batching) {
      this.waiting.push(nr.pn.rank, nr)
      return
    }
    if (this.config.recorded !== undefined || !isPlainCall(site)) return this.runCall(nr, toolCall(this.callEnv, site))
    const r = inlineCall(this.callEnv, site)
    switch (r._tag) {
      case "Done":
        return this.afterCall(nr, r.exit)
      case "Effect":
        return this.runCall(nr, r.effect)
      case "Handler": {
        this.takeSlot(nr)
        if (r.register !== undefined) return this.startDirect(nr, r, r.register)
        nr.fiber = this.fork(r.effect, nr, (exit) => this.handlerDone(nr, r, exit), r.meter)
      }
    }
  }

  /** A suspended handler's exit: hand the freed call slot on first (a waiting call starts before this one's bookkeeping), then finish the call. */
  private handlerDone(nr: NodeRun, r: Suspended, exit: Exit.Exit<unknown, ToolError>, endedAt?: number): void {
    this.freeSlot(nr)
    this.releaseWaiting()
    this.finishHandler(nr, r, exit, endedAt)
  }

  private finishHandler(nr: NodeRun, r: Suspended, exit: Exit.Exit<unknown, ToolError>, endedAt?: number): void {
    const done = r.finish(exit, endedAt)
    if (Exit.isExit(done)) this.afterCall(nr, done as Exit.Exit<Json, ToolError>)
    else this.runCall(nr, done)
  }

  /**
   * Drives a handler's `Effect.async` without a fiber (direct.ts). When it
   * resumes later — from a timer or I/O callback, typically one of a burst
   * firing together — the call is finished right after that callback
   * (`finishResumed`): freed slots go to waiting calls critical path first,
   * at once when no call still in flight can make a better one ready, else
   * once the burst is over (`drainSoon`).
   */
  private startDirect(nr: NodeRun, r: Suspended, register: AsyncRegister): void {
    let early: Effect.Effect<unknown, unknown> | undefined
    let started = false
    const call: DirectCall = new DirectCall(register, (resumed) => {
      if (!started) {
        early = resumed
        return
      }
      this.inflight.delete(call)
      if (this.status === "running") this.directResumed(nr, r, resumed)
    }, () => r.abort())
    started = true
    if (early === undefined) {
      this.inflight.set(call, nr)
      return
    }
    // Resumed during registration: the call completes here, like a handler that never suspended.
    const exit = asExit(early)
    if (exit !== undefined) this.handlerDone(nr, r, exit as Exit.Exit<unknown, ToolError>)
    else nr.fiber = this.fork(r.resumed(early), nr, (e) => this.handlerDone(nr, r, e), r.meter)
  }

  private directResumed(nr: NodeRun, r: Suspended, resumed: Effect.Effect<unknown, unknown>): void {
    const exit = asExit(resumed) as Exit.Exit<unknown, ToolError> | undefined
    // Resumed with an effect still to run: run it on a fiber, still holding the call slot.
    if (exit === undefined) {
      nr.fiber = this.fork(r.resumed(resumed), nr, (e) => this.handlerDone(nr, r, e), r.meter)
      return
    }
    this.resumed.push({ nr, r, exit, endedAt: this.now() })
    if (this.draining || this.burstScheduled) return
    this.burstScheduled = true
    queueMicrotask(this.finishResumed)
  }

  /**
   * Finishes the calls resumed by one host callback, right after it (a
   * microtask, like a promise continuation; between two timers firing
   * together Node runs microtasks): their dependents become ready at once,
   * and a waiting call starts at once when nothing still in flight can
   * make a call ready that would go before it; the rest take the free
   * slots once the burst of callbacks is over (`drainSoon`).
   */
  private readonly finishResumed = (): void => {
    this.burstScheduled = false
    if (this.status !== "running" || this.draining) return
    this.batching = true
    try {
      this.finishBurst()
    } finally {
      this.batching = false
    }
    this.drainSoon()
  }

  /**
   * Drains the inbox once the current burst of host callbacks is over
   * (timers firing together run back to back; `setImmediate` comes after
   * all of them): calls made ready meanwhile queue up and take the free
   * slots by rank at the end, then the events recorded are flushed.
   */
  private drainSoon(): void {
    if (this.drainScheduled) return
    this.drainScheduled = true
    setImmediate(this.deferredDrain)
  }

  private readonly deferredDrain = (): void => {
    this.drainScheduled = false
    if (this.status === "running" && !this.draining) {
      this.batching = true
      try {
        this.finishBurst()
        this.drain()
      } finally {
        this.batching = false
      }
      // Calls that completed at once made more nodes ready: those start first come, first served.
      if (this.status === "running") {
        this.draining = true
        try {
          this.releaseWaiting()
        } finally {
          this.draining = false
        }
        this.drain()
      }
    }
    this.signal()
  }

  /**
   * Finishes a burst of resumed calls highest rank first, and starts a
   * waiting call as soon as no call still to be finished can make a call
   * ready that would go before it (a node's dependents rank below it, and
   * among equal ranks the call that waited longer goes first): the
   * critical path's next call starts after its predecessor's bookkeeping,
   * not after the whole burst's — the same calls, in the same order, as
   * taking the free slots at the end of the burst, only sooner.
   */
  private finishBurst(): void {
    const burst = this.resumed
    if (burst.length === 0) return
    this.resumed = []
    if (burst.length > 1) burst.sort(byRankDesc)
    for (let i = 0; i < burst.length; i++) {
      if (this.status !== "running") return
      const c = burst[i]!
      this.freeSlot(c.nr)
      this.draining = true
      try {
        this.finishHandler(c.nr, c.r, c.exit, c.endedAt)
      } finally {
        this.draining = false
        this.stepTime = -1
      }
      // Nodes made ready run now (their calls join the waiting queue: `batching` is set).
      this.drain()
      // Whatever the calls still holding slots (the rest of the burst among them) make ready ranks below them, and joins the queue after the calls waiting now.
      this.startWaitingFrom(this.slotRanks.max - 1)
    }
  }

  private takeSlot(nr: NodeRun): void {
    this.callsInFlight++
    this.slotRanks.add(nr.pn.rank)
  }

  private freeSlot(nr: NodeRun): void {
    this.callsInFlight--
    this.slotRanks.delete(nr.pn.rank)
  }

  /** Starts waiting calls of rank at least `minRank` while call slots are free. */
  private startWaitingFrom(minRank: number): void {
    if (this.waiting.size === 0 || this.waiting.topRank() < minRank) return
    this.batching = false
    this.draining = true
    try {
      while (this.status === "running" && this.callsInFlight < this.config.concurrency && this.waiting.topRank() >= minRank) {
        const nr = this.waiting.pop()
        if (nr === undefined) return
        if (nr.done || nr.site === undefined) continue
        this.startCall(nr, nr.site)
      }
    } finally {
      this.draining = false
      this.stepTime = -1
      this.batching = true
    }
  }

  /** Runs a call effect holding a call slot. */
  protected runCall(nr: NodeRun, eff: Effect.Effect<Json, ToolError>): void {
    this.takeSlot(nr)
    nr.fiber = this.fork(eff, nr, (exit) => {
      this.freeSlot(nr)
      this.releaseWaiting()
      this.afterCall(nr, exit)
    })
  }

  /** Starts waiting calls while slots are free (not during a batch: its end does). */
  protected releaseWaiting(): void {
    if (this.batching) return
    while (this.callsInFlight < this.config.concurrency) {
      const nr = this.waiting.pop()
      if (nr === undefined) return
      if (nr.done || nr.site === undefined) continue
      this.startCall(nr, nr.site)
    }
  }

  protected afterCall(nr: NodeRun, exit: Exit.Exit<Json, ToolError>): void {
    nr.fiber = undefined
    if (nr.done) return
    if (Exit.isSuccess(exit)) this.complete(nr, exit.value)
    else this.failNode(nr, toToolError(exit.cause, `node ${nr.path}`))
  }

  /** Runs an effect of a node outside the call slots; its success continues with `k`. */
  protected hookless<A>(nr: NodeRun, eff: Effect.Effect<A, ToolError>, k: (a: A) => void): void {
    nr.fiber = this.fork(eff, nr, (exit) => {
      nr.fiber = undefined
      if (nr.done) return
      if (Exit.isSuccess(exit)) k(exit.value)
      else this.failNode(nr, toToolError(exit.cause, `node ${nr.path}`))
    })
  }

  protected complete(nr: NodeRun, value: Json): void {
    if (nr.done) return
    const postNode = this.services.hooks.postNode
    if (postNode === undefined) return this.finishNode(nr, value)
    const kind = nr.pn.node.kind
    this.hook(nr, postNode({ runId: this.config.runId, node: nr.path, kind, output: value }), () => this.finishNode(nr, value))
  }

  protected finishNode(nr: NodeRun, value: Json): void {
    if (nr.done) return
    nr.done = true
    if (this.open.size > 0) this.open.delete(nr)
    this.stopTimer(nr.timer)
    const scope = nr.scope
    const index = nr.pn.index
    scope.values[index] = value
    const site = nr.site
    const outputHash = site !== undefined && site.output === value ? site.outputHash! : hashJson(value)
    this.emit("NodeCompleted", nr.path, undefined, { outputHash })
    const counts = scope.counts
    for (const j of nr.pn.dependents) if (--counts[j]! === 0) this.makeReady(scope, j)
    if (--scope.left === 0) this.finishScope(scope)
  }

  protected failNode(nr: NodeRun, error: ToolError): void {
    if (nr.done) return
    nr.done = true
    if (this.open.size > 0) this.open.delete(nr)
    this.stopTimer(nr.timer)
    this.emit("NodeFailed", nr.path, undefined, { errorKind: errorKind(error), message: error.message })
    this.failRun(error, nr.path)
  }
}
