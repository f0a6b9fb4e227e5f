/**
 * The scheduler: one run of a plan as a plain, synchronous state machine.
 *
 * A ready queue (readyQueue.ts) holds node instances whose same-scope
 * dependencies have completed. Draining runs the queue: pure nodes
 * (`expr`, branch conditions, map sources, call arguments) are evaluated
 * inline; tool calls take a call slot (callSlots.ts) and run inline when
 * their handler completes synchronously; a handler that suspends is
 * awaited by the driver (driver.ts) — a `run` handler's Promise without a
 * fiber, an Effect on one — as are llm steps, choices and hooks. Outputs
 * are stored by node index, never by arrival, so results do not depend on
 * completion order. Events go to the event buffer (eventBuffer.ts). How
 * each node kind executes is in `nodes.ts`; the driver loop
 * (`interpret.ts`) starts the run, flushes events, and owns interruption.
 */
import { Clock, Effect, Either, Exit, FiberId } from "effect"
import type { Fiber } from "effect"
import { evalPure } from "../ir/eval.js"
import type { Json } from "../ir/eval.js"
import type { Program } from "../ir/schema.js"
import { errorKind, Permanent, ResourceExhausted, Timeout } from "../tools/errors.js"
import type { ToolError } from "../tools/errors.js"
import { hashJson } from "../trace/contentHash.js"
import type { EventData, RunEvent } from "../trace/events.js"
import { CallSlots } from "./callSlots.js"
import { Driver } from "./driver.js"
import type { Completion } from "./driver.js"
import { toToolError } from "./errors.js"
import { EventBuffer } from "./eventBuffer.js"
import { PromiseCall } from "./inflight.js"
import { withPatches } from "./patches.js"
import type { ScopePlan } from "./plan.js"
import { makeBudgeter } from "./policy/budget.js"
import type { Budgeter } from "./policy/budget.js"
import { durationMs } from "./policy/duration.js"
import { timeoutMessage } from "./policy/timeout.js"
import { ReadyQueue } from "./readyQueue.js"
import type { Env, Group, NodeRun, RunConfig, RunServices, ScopeRun } from "./runState.js"
import { inlineCall, isPlainCall, toolCall } from "./toolCall.js"
import type { CallEnv, CallSite, Emit, Suspended } from "./toolCall.js"

const noBudgets: ReadonlyArray<Budgeter> = []

/**
 * The scheduling core of a run: ready queue, scopes, call slots, events.
 * `Run` (nodes.ts) adds how each node kind executes.
 */
export abstract class Scheduler extends Driver {
  output: Json = null
  failure: { readonly error: ToolError; readonly node: string | undefined } | undefined

  private readonly buffer: EventBuffer
  private readonly ready = new ReadyQueue<NodeRun>()
  private readonly slots: CallSlots<NodeRun>
  /** Container nodes whose nested scopes are running (to report them cancelled if the run stops). */
  protected readonly open = new Set<NodeRun>()
  /** Wait steps not answered yet, with what they wait for (see wait.ts). */
  readonly waits = new Map<NodeRun, { readonly name: string | null; readonly deadline: number | null }>()
  /** Wait steps with nothing to do until a signal or their deadline (their fibers hold no progress). */
  private readonly parked = new Set<NodeRun>()
  private nodesStarted = 0
  private nodesReady = 0
  private runTimer: Fiber.RuntimeFiber<unknown, unknown> | undefined
  protected readonly callEnv: CallEnv
  protected readonly program: Program

  /** Records an event of the run (assigns `seq` and `at`). */
  readonly emit: Emit = (type, node, attempt, data) => {
    // Events recorded by in-flight work (outside a step) are flushed soon.
    if (this.buffer.record(type, node, attempt, data, this.stepNow()) && this.phase === "idle") this.scheduleFlush()
  }

  constructor(readonly config: RunConfig, readonly services: RunServices, recordedEvents?: ReadonlyArray<RunEvent>) {
    super(services.runtime, services.clock)
    const recorded = config.recorded
    this.buffer = new EventBuffer(config.runId, recorded, recordedEvents)
    this.slots = new CallSlots(config.concurrency)
    this.callEnv = {
      ...services.call,
      runId: config.runId,
      emit: this.emit,
      now: this.now,
      seed: config.seed,
      recorded
    }
    this.program = config.plan.program
  }

  /** How many events wait to be flushed. */
  get pendingEventCount(): number {
    return this.buffer.size
  }

  /** Takes the events recorded since the last call. */
  takeEvents(): ReadonlyArray<RunEvent> {
    return this.buffer.take()
  }

  /** Records the terminal event; nothing is recorded after it. */
  close<T extends "RunCompleted" | "RunFailed" | "RunCancelled">(type: T, data: EventData<T>): void {
    this.emit(type, undefined, undefined, data)
    this.buffer.close()
  }

  /** Starts the entry program's scope (and the run-time limit timer). */
  start(): void {
    const params = this.config.params
    const budgets = this.config.budget === undefined ? noBudgets : [this.config.budget]
    if (this.config.maxRunTimeMs !== undefined) {
      const ms = this.config.maxRunTimeMs
      this.runTimer = this.fork(Clock.sleep(`${ms} millis`), undefined, (exit) => {
        if (Exit.isSuccess(exit)) {
          this.failRun(
            new ResourceExhausted({ message: `${timeoutMessage("run", ms)} (limits.maxRunTime)` }),
            undefined
          )
        }
      })
    }
    this.startScope(this.config.plan.entry.scope, "", (name) => params.get(name), 0, budgets, (value) => {
      if (this.status !== "running") return
      this.status = "completed"
      this.output = value
      this.stopTimer(this.runTimer)
    }, (error) => this.failRun(error, undefined))
  }

  /** The nodes with an effect in flight (to report them cancelled). */
  inflightNodes(): ReadonlyArray<string> {
    const paths: Array<string> = []
    for (const nr of this.inflight.values()) if (nr !== undefined && !nr.done) paths.push(nr.path)
    // Container nodes (map, call, branch, choose) whose nested scopes were still running.
    for (const nr of this.open) if (!nr.done) paths.push(nr.path)
    return paths
  }

  /** A wait step has nothing to do until a signal or its deadline; wakes the driver to see whether the whole run is parked. */
  parkWait(nr: NodeRun): void {
    if (nr.done) return
    this.parked.add(nr)
    this.signal()
  }

  /** A parked wait step woke (a signal arrived, or its deadline passed). */
  unparkWait(nr: NodeRun): void {
    this.parked.delete(nr)
  }

  /**
   * Whether nothing but parked waits is left: no node ready, no completion
   * to finish, no call waiting for a slot, and nothing in flight but the
   * parked waits and timers. The run then parks (status `waiting`).
   */
  allParked(): boolean {
    if (this.parked.size === 0 || this.hasWork() || this.hasWaiting()) return false
    for (const nr of this.inflight.values()) if (nr !== undefined && !nr.done && !this.parked.has(nr)) return false
    return true
  }

  /** Marks the run failed (first failure wins). */
  failRun(error: ToolError, node: string | undefined): void {
    if (this.status !== "running") return
    this.status = "failed"
    this.failure = { error, node }
    this.signal()
  }

  protected hasReady(): boolean {
    return this.ready.nonEmpty
  }

  protected pendingEvents(): number {
    return this.buffer.size
  }

  protected runReady(): boolean {
    const nr = this.ready.shift()
    if (nr === undefined) return false
    // A node of a cancelled group (race option, take item) is done before it starts.
    if (!nr.done) this.exec(nr)
    return true
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
    onFail: (error: ToolError) => void,
    group: Group | undefined = undefined
  ): void {
    if (depth > this.config.maxDepth) {
      onFail(
        new Permanent({ message: `scopes nested deeper than the limit of ${this.config.maxDepth} (limits.maxDepth)` })
      )
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
      group,
      env: withPatches(this.config.patches, (name) => {
        const i = plan.indexOf.get(name)
        if (i !== undefined) {
          const v = values[i]
          if (v !== undefined) return v
        }
        return env(name)
      })
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
        new ResourceExhausted({
          message: `run created more than ${4 * this.config.maxNodes} nodes (4 × limits.maxNodes)`
        }),
        undefined
      )
    }
    const pn = scope.plan.nodes[index]!
    const path = scope.prefix + pn.id
    const nr: NodeRun = {
      scope,
      pn,
      path,
      budgets: scope.budgets,
      done: false,
      fiber: undefined,
      timer: undefined,
      map: undefined,
      site: undefined,
      groups: undefined
    }
    if (scope.group !== undefined) scope.group.nodes.add(nr)
    this.emit("NodeReady", path, undefined, pn.readyData)
    this.ready.push(nr)
  }

  private exec(nr: NodeRun): void {
    if (++this.nodesStarted > this.config.maxNodes) {
      this.emit("NodeStarted", nr.path, undefined, nr.pn.startedData)
      return this.failNode(
        nr,
        new ResourceExhausted({ message: `run executed more than ${this.config.maxNodes} nodes (limits.maxNodes)` })
      )
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
        if (Exit.isSuccess(exit) && !nr.done) {
          this.failNode(nr, new Timeout({ message: timeoutMessage(`node ${nr.path}`, ms) }))
        }
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
    this.startScope(
      plan,
      prefix,
      env,
      nr.scope.depth + 1,
      nr.budgets,
      (v) => this.complete(nr, v),
      (e) => this.failNode(nr, e),
      nr.scope.group
    )
  }

  /** Starts a tool call now, or parks it until a call slot frees (during a burst, calls park and start by rank). */
  protected startCall(nr: NodeRun, site: CallSite): void {
    if (!this.slots.free || this.phase === "burst") {
      this.slots.park(nr.pn.rank, nr)
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
        this.slots.take(nr.pn.rank)
        return this.awaitHandler(nr, r)
      }
    }
  }

  /** A suspended handler's exit: hand the freed call slot on first (a waiting call starts before this one's bookkeeping), then finish the call. */
  protected handlerDone(nr: NodeRun, r: Suspended, exit: Exit.Exit<unknown, ToolError>, endedAt?: number): void {
    this.slots.release(nr.pn.rank)
    this.releaseWaiting()
    this.finishHandler(nr, r, exit, endedAt)
  }

  protected releaseSlot(c: Completion): void {
    this.slots.release(c.nr.pn.rank)
  }

  protected finishInBurst(c: Completion): void {
    this.finishHandler(c.nr, c.r, c.exit, c.endedAt)
  }

  protected hasWaiting(): boolean {
    return this.slots.topWaitingRank !== -Infinity
  }

  protected maxHeldRank(): number {
    return this.slots.maxHeldRank
  }

  private finishHandler(nr: NodeRun, r: Suspended, exit: Exit.Exit<unknown, ToolError>, endedAt?: number): void {
    nr.fiber = undefined
    if (nr.done) return
    const done = r.finish(exit, endedAt)
    if (Exit.isExit(done)) this.afterCall(nr, done as Exit.Exit<Json, ToolError>)
    else this.runCall(nr, done)
  }

  /** Starts waiting calls of rank at least `minRank` while call slots are free. */
  protected startWaiting(minRank: number): void {
    const slots = this.slots
    while (this.status === "running" && slots.free && slots.topWaitingRank >= minRank) {
      const nr = slots.next()
      if (nr === undefined) return
      if (nr.done || nr.site === undefined) continue
      this.startCall(nr, nr.site)
    }
  }

  /** Runs a call effect holding a call slot. */
  protected runCall(nr: NodeRun, eff: Effect.Effect<Json, ToolError>): void {
    this.slots.take(nr.pn.rank)
    nr.fiber = this.fork(eff, nr, (exit) => {
      this.slots.release(nr.pn.rank)
      this.releaseWaiting()
      this.afterCall(nr, exit)
    })
  }

  /** Starts waiting calls while slots are free (not during a burst: they start by rank as it goes, and at its end). */
  protected releaseWaiting(): void {
    if (this.phase === "burst") return
    const slots = this.slots
    while (slots.free) {
      const nr = slots.next()
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
    this.hook(
      nr,
      postNode({ runId: this.config.runId, node: nr.path, kind, output: value }),
      () => this.finishNode(nr, value)
    )
  }

  protected finishNode(nr: NodeRun, value: Json): void {
    if (nr.done) return
    nr.done = true
    if (this.waits.size > 0) this.waits.delete(nr)
    this.parked.delete(nr)
    if (this.open.size > 0) this.open.delete(nr)
    this.stopTimer(nr.timer)
    const scope = nr.scope
    if (scope.group !== undefined) scope.group.nodes.delete(nr)
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
    if (this.waits.size > 0) this.waits.delete(nr)
    this.parked.delete(nr)
    if (this.open.size > 0) this.open.delete(nr)
    this.stopTimer(nr.timer)
    this.emit("NodeFailed", nr.path, undefined, { errorKind: errorKind(error), message: error.message })
    if (nr.groups !== undefined) this.cancelGroups(nr.groups, `cancelled: ${nr.path} failed`)
    const group = nr.scope.group
    // Inside a race option or a take item the failure is that group's (run limits still fail the run).
    if (group !== undefined && error._tag !== "ResourceExhausted") {
      group.nodes.delete(nr)
      return group.onFail(error)
    }
    this.failRun(error, nr.path)
  }

  /** Makes a group for a fan-in node's option or item, nested in the node's own group. */
  protected makeGroup(nr: NodeRun, onFail: (error: ToolError) => void): Group {
    const group: Group = { cancelled: false, nodes: new Set(), children: [], onFail }
    nr.scope.group?.children.push(group)
    ;(nr.groups ??= []).push(group)
    return group
  }

  /** Cancels groups: their nodes not yet done are interrupted and recorded as `Cancelled`. */
  protected cancelGroups(groups: ReadonlyArray<Group>, reason: string): void {
    for (const group of groups) this.cancelGroup(group, reason)
    // Promise calls cut short freed their call slots.
    this.releaseWaiting()
  }

  private cancelGroup(group: Group, reason: string): void {
    if (group.cancelled) return
    group.cancelled = true
    for (const child of group.children) this.cancelGroup(child, reason)
    for (const nr of group.nodes) {
      if (nr.done) continue
      nr.done = true
      if (this.open.size > 0) this.open.delete(nr)
      this.stopTimer(nr.timer)
      if (nr.groups !== undefined) this.cancelGroups(nr.groups, reason)
      this.stopInflight(nr)
      this.emit("NodeFailed", nr.path, undefined, { errorKind: "Cancelled", message: reason })
    }
    group.nodes.clear()
  }

  /** Interrupts what a node has in flight: fibers stop (their observers free call slots), promise calls abort. */
  private stopInflight(nr: NodeRun): void {
    for (const [item, owner] of this.inflight) {
      if (owner !== nr) continue
      if (item instanceof PromiseCall) {
        this.inflight.delete(item)
        item.interrupt()
        this.slots.release(nr.pn.rank)
      } else {
        item.unsafeInterruptAsFork(FiberId.none)
      }
    }
  }
}
