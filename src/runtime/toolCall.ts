/**
 * One tool call of a `tool` node, as an Effect, with every policy in
 * order: decode the args with the tool's Schema → idempotency key →
 * idempotency store → result cache → budgets → (per attempt) the tool's
 * rate/concurrency guard → circuit breaker → per-attempt timeout → handler (or its batcher)
 * → encode the output; retries by the node's retry policy around each
 * attempt; `ToolCalled` / `NodeRetrying` / `ToolReturned` / `Chunk`
 * events recorded as they happen. `inlineCall` serves the common case of
 * a call with no policy at all without building that Effect.
 *
 * Tracing: the policed call runs in a `node` span (attributes
 * `trellis.node`, `trellis.tool`) with a `tool <name>` span per attempt
 * that calls the handler. The inline fast path opens no span; when a
 * tracer other than Effect's default is installed (OpenTelemetry), a run's
 * calls all take the policed path so every call is traced.
 */
import { Cause, Context, DefaultServices, Effect, Exit, Fiber, FiberRef, Option, Random, Tracer } from "effect"
import type { Json, JsonRecord } from "../ir/eval.js"
import type { Policy } from "../ir/schema.js"
import { countsAgainstBreaker, resolveBreaker } from "../tools/breaker.js"
import type { ResolvedBreaker } from "../tools/breaker.js"
import { CircuitOpen, Defect, errorKind, fromKind, Permanent } from "../tools/errors.js"
import type { ToolError } from "../tools/errors.js"
import { decodeArgs, encodeOutput, thrownError } from "../tools/tool.js"
import type { AnyTool, ToolContext } from "../tools/tool.js"
import { hashJson } from "../trace/contentHash.js"
import type { EventData, RunEventType } from "../trace/events.js"
import { describe } from "./errors.js"
import { charge, metered } from "./meter.js"
import type { Usage } from "./meter.js"
import type { BatchedCall } from "./policy/batcher.js"
import { protect } from "./policy/breaker.js"
import type { CircuitBreakerService } from "./policy/breaker.js"
import type { Budgeter } from "./policy/budget.js"
import { cacheKey } from "./policy/cache.js"
import type { ResultCache } from "./policy/cache.js"
import { durationMs } from "./policy/duration.js"
import { idempotencyKeyFor, workspaceNow } from "./policy/idempotency.js"
import type { IdempotencyStore } from "./policy/idempotency.js"
import { hasLimits } from "./policy/limiter.js"
import type { ToolLimiter } from "./policy/limiter.js"
import { retrying } from "./policy/retry.js"
import { withTimeout } from "./policy/timeout.js"
import type { Recorded } from "./recorded.js"

/** Records an event of the run (assigns `seq` and `at`). */
export type Emit = <T extends RunEventType>(
  type: T,
  node: string | undefined,
  attempt: number | undefined,
  data: EventData<T>
) => void

/** What tool calls of one run share. */
export interface CallEnv {
  readonly runId: string
  readonly emit: Emit
  /** Clock time in ms. */
  readonly now: () => number
  readonly store: IdempotencyStore["Type"]
  readonly cache: ResultCache["Type"]
  readonly limiter: ToolLimiter["Type"]
  /** The circuit breakers (a tool with `limits.breaker` calls through its own). */
  readonly breakers: CircuitBreakerService
  /** The batched entry point of each tool that declares `batch`. */
  readonly batchers: ReadonlyMap<string, BatchedCall<unknown, unknown>>
  /** The run's seed: each call of a seeded run draws from its own Random, seeded by (seed, node path). */
  readonly seed: number | undefined
  /** The run's record when it is resumed or replayed: recorded outcomes answer calls (see recorded.ts). */
  readonly recorded: Recorded | undefined
  /** Whether the run's fibers export spans (set by the first inline call; see `isTraced`). */
  traced?: boolean | undefined
}

/** Effect's built-in tracer: its spans go nowhere unless a real tracer replaces it. */
const defaultTracer = Context.get(DefaultServices.liveServices, Tracer.Tracer)

/**
 * Whether the running fiber has tracing on with a tracer other than
 * Effect's default (read once per run: the scheduler calls `inlineCall`
 * on the run's fiber or on one forked from the run's runtime).
 */
const isTraced = (env: CallEnv): boolean => {
  if (env.traced !== undefined) return env.traced
  const fiber = Fiber.getCurrentFiber()
  env.traced = Option.isSome(fiber) &&
    fiber.value.currentTracer !== defaultTracer &&
    fiber.value.getFiberRef(FiberRef.currentTracerEnabled)
  return env.traced
}

/** Gives a call of a seeded run its own Random, so jitter and handlers' draws do not depend on completion order. */
const seeded = <A, E, R>(env: CallEnv, path: string, eff: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  env.seed === undefined ? eff : Effect.withRandom(eff, Random.make(`${env.seed}/${path}`))

/** One call site: a tool node instance with its evaluated arguments. */
export interface CallSite {
  /** The node path. */
  readonly path: string
  readonly tool: AnyTool
  readonly args: JsonRecord
  /** The key the program gave (`idempotencyKey:`), as a string. */
  readonly explicitKey: string | undefined
  readonly policy: Policy | undefined
  /** Budgets of the node and its enclosing scopes, innermost first. */
  readonly budgets: ReadonlyArray<Budgeter>
  /** Numbers `Chunk` events of the node. */
  chunks: number
  /** The last output recorded by `ToolReturned` and its hash (so `NodeCompleted` need not hash it again). */
  output: Json | undefined
  outputHash: string | undefined
}

/** The cache TTL of a node in ms, or undefined when the node does not ask for caching. */
const cacheTtl = (policy: Policy | undefined): number | undefined => {
  const cache = policy?.cache
  return cache === undefined || cache === false ? undefined : durationMs(cache.ttl, 0)
}

/** Whether a tool's results are recorded in the idempotency store: a key was given, or the tool has side effects. */
const usesStore = (site: CallSite): boolean => site.explicitKey !== undefined || !site.tool.idempotent

/** Whether a call needs none of the policy machinery. */
export const isPlainCall = (site: CallSite): boolean =>
  site.policy?.retry === undefined &&
  site.policy?.timeout === undefined &&
  site.tool.limits.timeout === undefined &&
  site.policy?.cache === undefined &&
  site.budgets.length === 0 &&
  site.tool.batch === undefined &&
  site.tool.limits.breaker === undefined &&
  !usesStore(site) &&
  !hasLimits(site.tool.limits)

/**
 * A handler's context. A class, so a call allocates one small object: the
 * derived idempotency key and the abort signal are made on first use.
 */
class CallContext implements ToolContext {
  private controller: AbortController | undefined
  constructor(
    private readonly env: CallEnv,
    private readonly site: CallSite,
    readonly attempt: number,
    private key: string | undefined
  ) {}
  get idempotencyKey(): string {
    return (this.key ??= idempotencyKeyFor(this.env.runId, this.site.path, this.site.args))
  }
  get signal(): AbortSignal {
    this.controller ??= new AbortController()
    return this.controller.signal
  }
  get emit(): (text: string) => Effect.Effect<void> {
    return (text) => Effect.sync(() => this.emitNow(text))
  }
  get emitNow(): (text: string) => void {
    const { attempt, env, site } = this
    return (text) => env.emit("Chunk", site.path, attempt, { index: site.chunks++, text })
  }
  /** Aborts the signal, if a handler asked for it. */
  abort(): void {
    this.controller?.abort()
  }
}

/** Calls the handler, turning a thrown exception or a defect into `Defect`. */
const callHandler = (
  batcher: BatchedCall<unknown, unknown> | undefined,
  tool: AnyTool,
  decoded: unknown,
  ctx: ToolContext
): Effect.Effect<unknown, ToolError> => {
  let eff: Effect.Effect<unknown, ToolError>
  try {
    eff = batcher === undefined ? tool.handler(decoded, ctx) : batcher(decoded, ctx)
  } catch (e) {
    return Effect.fail(new Defect({ message: `tool "${tool.name}" threw: ${describe(e)}` }))
  }
  if (Exit.isExit(eff)) {
    const exit = eff as Exit.Exit<unknown, ToolError>
    if (Exit.isSuccess(exit) || Option.isNone(Cause.dieOption(exit.cause))) return exit
  }
  return Effect.catchAllDefect(
    eff,
    (d) => Effect.fail(new Defect({ message: `tool "${tool.name}" died: ${describe(d)}` }))
  )
}

const returned = (
  env: CallEnv,
  site: CallSite,
  attempt: number,
  output: Json,
  latencyMs: number,
  cost: number,
  source: "tool" | "idempotency" | "cache",
  tokens = 0
): void => {
  const outputHash = hashJson(output)
  site.output = output
  site.outputHash = outputHash
  env.emit(
    "ToolReturned",
    site.path,
    attempt,
    tokens > 0
      ? { tool: site.tool.name, outputHash, latencyMs, cost, tokens, source, output }
      : { tool: site.tool.name, outputHash, latencyMs, cost, source, output }
  )
}

/** A failure's `retryAfterMs`, for the kinds that carry one. */
const retryAfterOf = (e: ToolError): number | undefined =>
  e._tag === "RateLimited" || e._tag === "CircuitOpen" ? e.retryAfterMs : undefined

const resolvedBreakers = new WeakMap<AnyTool, ResolvedBreaker>()

/** The resolved breaker settings of a tool that declares `limits.breaker` (resolved once per tool). */
const breakerOf = (tool: AnyTool): ResolvedBreaker | undefined => {
  const config = tool.limits.breaker
  if (config === undefined) return undefined
  let resolved = resolvedBreakers.get(tool)
  if (resolved === undefined) {
    resolved = resolveBreaker(config)
    resolvedBreakers.set(tool, resolved)
  }
  return resolved
}

/** The whole tool call with every policy, as an Effect. */
export const toolCall = (env: CallEnv, site: CallSite): Effect.Effect<Json, ToolError> =>
  seeded(env, site.path, policedCall(env, site)).pipe(
    Effect.withSpan("node", { attributes: { "trellis.node": site.path, "trellis.tool": site.tool.name } })
  )

const policedCall = (env: CallEnv, site: CallSite): Effect.Effect<Json, ToolError> =>
  Effect.gen(function*() {
    const tool = site.tool
    const decoded = yield* decodeArgs(tool, site.args)
    const argsHash = hashJson(site.args)
    const store = usesStore(site)
    const key = site.explicitKey ?? idempotencyKeyFor(env.runId, site.path, site.args)
    const rec = env.recorded
    const served = rec === undefined || rec.mode === "live" ? undefined : rec.served.get(site.path)
    if (served !== undefined) {
      returned(env, site, 1, served.output, 0, 0, served.source)
      return served.output
    }
    const idem = { tool: tool.name, key, argsHash }
    if (store) {
      const recorded = yield* env.store.get(idem)
      if (Option.isSome(recorded)) {
        returned(env, site, 1, recorded.value, 0, 0, "idempotency")
        return recorded.value
      }
    }
    const ttl = cacheTtl(site.policy)
    const ck = ttl === undefined ? undefined : cacheKey(tool.name, tool.version, site.args, yield* workspaceNow)
    if (ck !== undefined) {
      const hit = yield* env.cache.get(ck)
      if (Option.isSome(hit)) {
        returned(env, site, 1, hit.value, 0, 0, "cache")
        return hit.value
      }
    }
    // A budget already spent stops the call before it is made.
    for (const b of site.budgets) yield* b.charge(0, 0)

    const meter: Usage = { cost: 0, tokens: 0 }
    const batcher = env.batchers.get(tool.name)
    // A batched tool's guard wraps each batch (see makeBatcher), not each call.
    const guard = batcher === undefined ? env.limiter.guard(tool) : <A, E, R>(eff: Effect.Effect<A, E, R>) => eff
    const breaker = breakerOf(tool)
    const timeoutText = site.policy?.timeout ?? tool.limits.timeout
    const timeoutMs = timeoutText === undefined ? undefined : durationMs(timeoutText, 0)
    let startedAt = 0
    let lastAttempt = 1
    const calledData = store ? { tool: tool.name, argsHash, idempotencyKey: key } : { tool: tool.name, argsHash }
    const attemptOnce = (attempt: number): Effect.Effect<Json, ToolError> => {
      const answer = recordedAnswer(rec, site.path, attempt)
      if (answer !== undefined) {
        return Effect.suspend(() => {
          lastAttempt = attempt
          env.emit("ToolCalled", site.path, attempt, calledData)
          startedAt = env.now()
          return answer
        })
      }
      const ctx = new CallContext(env, site, attempt, key)
      const called = () => {
        lastAttempt = attempt
        env.emit("ToolCalled", site.path, attempt, calledData)
        startedAt = env.now()
      }
      let eff: Effect.Effect<Json, ToolError> = Effect.suspend(() => {
        called()
        return Effect.flatMap(callHandler(batcher, tool, decoded, ctx), (out) => encodeOutput(tool, out))
      }).pipe(Effect.onInterrupt(() => Effect.sync(() => ctx.abort())))
      eff = Effect.withSpan(eff, `tool ${tool.name}`, {
        kind: "client",
        attributes: { "trellis.tool": tool.name, "trellis.node": site.path, "trellis.attempt": attempt }
      })
      if (timeoutMs !== undefined) {
        eff = withTimeout(timeoutMs, `tool "${tool.name}" (node ${site.path}, attempt ${attempt})`)(eff)
      }
      if (breaker !== undefined) {
        // A refused call is still an attempt (its ToolCalled and failure are recorded), so a replay answers it.
        eff = protect<ToolError>(env.breakers, `tool:${tool.name}`, breaker, {
          counts: countsAgainstBreaker,
          rejected: (retryAfterMs) => {
            called()
            return new CircuitOpen({
              message: `tool "${tool.name}": circuit breaker open, retry after ${retryAfterMs}ms`,
              retryAfterMs
            })
          },
          onTransition: (t) =>
            env.emit("BreakerChanged", undefined, undefined, {
              breaker: `tool:${tool.name}`,
              from: t.from,
              to: t.to,
              node: site.path,
              ...(t.calls === undefined ? {} : { calls: t.calls }),
              ...(t.failures === undefined ? {} : { failures: t.failures })
            })
        })(eff)
      }
      return guard(eff)
    }
    const retry = site.policy?.retry
    const attempts = retry === undefined
      ? attemptOnce(1)
      : retrying(retry, (attempt, delayMs, error) =>
        Effect.sync(() =>
          env.emit(
            "NodeRetrying",
            site.path,
            attempt,
            retryAfterOf(error) === undefined
              ? { attempt, delayMs, errorKind: errorKind(error), message: error.message }
              : {
                attempt,
                delayMs,
                errorKind: errorKind(error),
                message: error.message,
                retryAfterMs: retryAfterOf(error)!
              }
          )
        ))(attemptOnce)
    const output = yield* metered(meter, attempts)
    const latency = env.now() - startedAt
    for (const b of site.budgets) {
      yield* b.charge(meter.cost, meter.tokens)
    }
    returned(env, site, lastAttempt, output, latency, meter.cost, "tool", meter.tokens)
    if (store) yield* env.store.put(idem, output)
    if (ck !== undefined && ttl !== undefined) yield* env.cache.set(ck, output, ttl, tool.name)
    return output
  })

/**
 * The recorded answer to attempt `attempt` of the call at `path`, or
 * undefined when the tool must really be called (no record, a live replay,
 * or a resumed attempt that was in flight). A replay answers every call
 * from the record: an attempt cut short there never completes (the run's
 * end interrupts it), one missing from it fails the node.
 */
const recordedAnswer = (
  rec: Recorded | undefined,
  path: string,
  attempt: number
): Effect.Effect<Json, ToolError> | undefined => {
  if (rec === undefined || rec.mode === "live") return undefined
  const a = rec.attempts.get(path)?.get(attempt)
  if (a?.outcome !== undefined) {
    const o = a.outcome
    if (o._tag === "Failed") return Effect.fail(fromKind(o.kind, o.message, o.retryAfterMs))
    const tokens = o.tokens ?? 0
    return o.cost > 0 || tokens > 0 ? Effect.as(charge({ cost: o.cost, tokens }), o.output) : Effect.succeed(o.output)
  }
  if (rec.mode === "resume") return undefined
  if (a !== undefined) return Effect.never
  return Effect.fail(new Permanent({ message: `replay: the record has no call of node ${path} (attempt ${attempt})` }))
}

/** The effect as an Exit when it already is one (a completed effect), else undefined. */
const asExit = <A, E, R>(eff: Effect.Effect<A, E, R>): Exit.Exit<A, E> | undefined =>
  Exit.isExit(eff) ? (eff as Exit.Exit<A, E>) : undefined

/** What `inlineCall` leaves to do: nothing (`Done`), a whole call Effect, or just the handler's own Effect. */
export type Inline =
  | { readonly _tag: "Done"; readonly exit: Exit.Exit<Json, ToolError> }
  | { readonly _tag: "Effect"; readonly effect: Effect.Effect<Json, ToolError> }
  | Suspended

/**
 * Serves a plain call (see `isPlainCall`) without building the policy
 * Effect. When decoding, the handler and encoding all return completed
 * Effects the call is `Done` at once; when only the handler suspends, the
 * caller runs the handler's own Effect (no wrapping: a wrapper costs more
 * than the fiber) and calls `finish` with its exit.
 */
export const inlineCall = (env: CallEnv, site: CallSite): Inline => {
  if (env.traced ?? isTraced(env)) return { _tag: "Effect", effect: toolCall(env, site) }
  const tool = site.tool
  const decoded = asExit(decodeArgs(tool, site.args))
  if (decoded === undefined) return { _tag: "Effect", effect: toolCall(env, site) }
  if (Exit.isFailure(decoded)) return { _tag: "Done", exit: Exit.failCause(decoded.cause) }
  const argsHash = hashJson(site.args)
  const ctx = new CallContext(env, site, 1, undefined)
  env.emit("ToolCalled", site.path, 1, { tool: tool.name, argsHash })
  const startedAt = env.now()
  const run = tool.run
  if (run !== undefined) {
    // A `run` handler: called here, its Promise (if any) awaited without a fiber.
    let out: unknown
    try {
      out = run.call(tool, decoded.value, ctx)
    } catch (e) {
      return { _tag: "Done", exit: Exit.fail(thrownError(tool.name, e)) }
    }
    if (isThenable(out)) return new Suspended(env, site, ctx, undefined, out, startedAt)
    const done = finishInline(env, site, out, 0, startedAt)
    const exit = asExit(done)
    return exit === undefined ? { _tag: "Effect", effect: done } : { _tag: "Done", exit }
  }
  let effect: Effect.Effect<unknown, ToolError>
  try {
    effect = tool.handler(decoded.value, ctx)
  } catch (e) {
    return { _tag: "Done", exit: Exit.fail(new Defect({ message: `tool "${tool.name}" threw: ${describe(e)}` })) }
  }
  const handled = asExit(effect)
  if (handled === undefined) return new Suspended(env, site, ctx, effect, undefined, startedAt)
  const done = finishCall(env, site, ctx, handled, 0, startedAt)
  const exit = asExit(done)
  return exit === undefined ? { _tag: "Effect", effect: done } : { _tag: "Done", exit }
}

const isThenable = (u: unknown): u is PromiseLike<unknown> =>
  typeof u === "object" && u !== null && typeof (u as { then?: unknown }).then === "function"

/**
 * A plain call that did not complete at once (the `Handler` case of
 * `Inline`): either a `run` handler's pending `promise` — the caller
 * awaits it without a fiber (inflight.ts) — or an Effect handler's
 * suspended `effect`, which the caller runs on a fiber whose
 * `currentMeter` is `meter`. Either way the caller ends the call with
 * `finish`. A class, so a call allocates no closures.
 */
export class Suspended {
  readonly _tag = "Handler"
  readonly meter: Usage = { cost: 0, tokens: 0 }
  /** The Effect handler's effect, seeded for a seeded run (undefined for a `run` handler). */
  readonly effect: Effect.Effect<unknown, ToolError> | undefined
  constructor(
    private readonly env: CallEnv,
    private readonly site: CallSite,
    private readonly ctx: CallContext,
    handler: Effect.Effect<unknown, ToolError> | undefined,
    /** The `run` handler's pending result. */
    readonly promise: PromiseLike<unknown> | undefined,
    private readonly startedAt: number
  ) {
    this.effect = handler === undefined ? undefined : seeded(env, site.path, handler)
  }
  /** The failure a `run` handler's rejection means. */
  rejected(e: unknown): ToolError {
    return thrownError(this.site.tool.name, e)
  }
  /**
   * Turns the handler's exit into the call's: encode and record, or map
   * the failure onto the taxonomy. `endedAt` (Clock ms) is when the handler
   * finished, when that was before now.
   */
  finish(exit: Exit.Exit<unknown, ToolError>, endedAt?: number): Effect.Effect<Json, ToolError> {
    return finishCall(this.env, this.site, this.ctx, exit, this.meter.cost, this.startedAt, endedAt)
  }
  /** Aborts the handler's signal (the call was interrupted). */
  abort(): void {
    this.ctx.abort()
  }
}

/** Ends an inline call: maps a failure onto the taxonomy (aborting the signal on interruption), or encodes and records the output. */
const finishCall = (
  env: CallEnv,
  site: CallSite,
  ctx: CallContext,
  exit: Exit.Exit<unknown, ToolError>,
  cost: number,
  startedAt: number,
  endedAt?: number
): Effect.Effect<Json, ToolError> => {
  if (Exit.isSuccess(exit)) return finishInline(env, site, exit.value, cost, startedAt, endedAt)
  if (Cause.isInterrupted(exit.cause)) ctx.abort()
  const defect = Cause.dieOption(exit.cause)
  if (Option.isSome(defect) && Option.isNone(Cause.failureOption(exit.cause))) {
    return Exit.fail(new Defect({ message: `tool "${site.tool.name}" died: ${describe(defect.value)}` }))
  }
  return Exit.failCause(exit.cause)
}

/** Encodes the output of an inline call and records `ToolReturned`. */
const finishInline = (
  env: CallEnv,
  site: CallSite,
  out: unknown,
  cost: number,
  startedAt: number,
  endedAt?: number
): Effect.Effect<Json, ToolError> => {
  const encodedEff = encodeOutput(site.tool, out)
  const encoded = asExit(encodedEff)
  if (encoded === undefined) {
    return Effect.tap(
      encodedEff,
      (o) => Effect.sync(() => returned(env, site, 1, o, (endedAt ?? env.now()) - startedAt, cost, "tool"))
    )
  }
  if (Exit.isSuccess(encoded)) returned(env, site, 1, encoded.value, (endedAt ?? env.now()) - startedAt, cost, "tool")
  return encoded
}
