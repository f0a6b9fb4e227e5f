/**
 * Async batching (SPEC §4): a tool declaring `batch: { size, window }` has
 * its concurrent calls grouped through a bounded queue and
 * `Stream.groupedWithin(size, window)`: a batch is served when it is full or
 * when the window has passed. A full queue makes callers wait
 * (backpressure). When the batcher's scope closes, every call already queued
 * is still served (nothing is dropped); calls made after that fail with
 * `Cancelled`. A batch whose callers have all been interrupted is
 * interrupted too (its `signal` aborts, its finalizers run).
 */
import { Cause, Chunk, Deferred, Effect, Exit, Fiber, Queue, Stream } from "effect"
import type { Scope } from "effect"
import { canonicalJson } from "../../ir/canonical.js"
import { sha256Hex } from "../../ir/hash.js"
import { Cancelled, Defect, isToolError } from "../../tools/errors.js"
import type { ToolError } from "../../tools/errors.js"
import type { BatchConfig, Tool, ToolContext } from "../../tools/tool.js"
import { durationMs } from "./duration.js"
import type { Guard } from "./limiter.js"

/** Options of {@link makeBatcher}. */
export interface BatcherOptions {
  /** Calls that may wait in the queue before callers are held back. @default 4 × size */
  readonly capacity?: number
  /** Batches served at once. @default the tool's `limits.concurrency`, else 16 */
  readonly concurrency?: number
  /** Wraps each batch call (e.g. the tool's rate limit guard). @default none */
  readonly guard?: Guard
}

/** A call of a batched tool (same shape as the tool's handler, without its requirements), plus its backlog. */
export type BatchedCall<I, O> = ((args: I, ctx: ToolContext) => Effect.Effect<O, ToolError>) & {
  /** Calls accepted but not yet in a running batch (bounded by the queue capacity plus the stream's small buffers). */
  readonly backlog: Effect.Effect<number>
}

interface Running {
  waiting: number
  fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined
}

interface Pending<I, O> {
  readonly args: I
  readonly ctx: ToolContext
  readonly done: Deferred.Deferred<O, ToolError>
  state: "queued" | "abandoned" | "running"
  batch: Running | undefined
  /** Counted in the backlog (accepted by the queue while still queued). */
  counted: boolean
}

const END: unique symbol = Symbol("trellis/batcher/end")
type Item<I, O> = Pending<I, O> | typeof END

/** The context a batch is served with: a key derived from its calls' keys, the highest attempt, its own signal, and `emit` to every caller. */
const batchContext = <I, O>(items: ReadonlyArray<Pending<I, O>>, signal: AbortSignal): ToolContext => ({
  idempotencyKey: items.length === 1
    ? items[0]!.ctx.idempotencyKey
    : sha256Hex(canonicalJson(items.map((p) => p.ctx.idempotencyKey))),
  attempt: items.reduce((m, p) => Math.max(m, p.ctx.attempt), 1),
  signal,
  emit: (chunk) => Effect.forEach(items, (p) => p.ctx.emit(chunk), { discard: true }),
  emitNow: (chunk) => {
    for (const p of items) p.ctx.emitNow(chunk)
  }
})

/** The taxonomy error a failed batch gives each of its callers. */
const errorOf = (cause: Cause.Cause<ToolError>, tool: string): ToolError => {
  const failure = Cause.failureOption(cause)
  if (failure._tag === "Some") return failure.value
  if (Cause.isInterruptedOnly(cause)) return new Cancelled({ message: `batch of tool "${tool}" was interrupted` })
  const squashed = Cause.squash(cause)
  if (isToolError(squashed)) return squashed
  return new Defect({
    message: `batch of tool "${tool}" died: ${squashed instanceof Error ? squashed.message : String(squashed)}`
  })
}

/**
 * Starts a batcher for `tool` in the current scope and returns the function
 * to call it through. Calls are grouped up to `config.size` or for
 * `config.window`; each caller gets its own output (same order as the batch).
 */
export const makeBatcher = <I, O, R>(
  tool: Tool<I, O, R>,
  config: BatchConfig,
  options: BatcherOptions = {}
): Effect.Effect<BatchedCall<I, O>, never, Scope.Scope | R> =>
  Effect.gen(function*() {
    const size = Math.max(1, Math.floor(config.size))
    const windowMs = durationMs(config.window, 0)
    const capacity = Math.max(1, Math.floor(options.capacity ?? size * 4))
    const concurrency = Math.max(1, Math.floor(options.concurrency ?? tool.limits.concurrency ?? 16))
    const guard: Guard = options.guard ?? ((eff) => eff)
    const context = yield* Effect.context<R>()
    const queue = yield* Queue.bounded<Item<I, O>>(capacity)
    let closed = false
    let backlog = 0
    /** Moves a queued call to `state`, keeping the backlog count. */
    const leaveQueue = (p: Pending<I, O>, state: "abandoned" | "running"): void => {
      p.state = state
      if (p.counted) {
        p.counted = false
        backlog -= 1
      }
    }

    const serve = (args: ReadonlyArray<I>, ctx: ToolContext): Effect.Effect<ReadonlyArray<O>, ToolError, R> =>
      tool.batchHandler !== undefined
        ? tool.batchHandler(args, ctx)
        : Effect.forEach(args, (a) => tool.handler(a, ctx), { concurrency: "unbounded" })

    const runBatch = (chunk: Chunk.Chunk<Pending<I, O>>): Effect.Effect<void> =>
      Effect.suspend(() => {
        const items = Chunk.toReadonlyArray(chunk).filter((p) => p.state === "queued")
        if (items.length === 0) return Effect.void
        const running: Running = { waiting: items.length, fiber: undefined }
        for (const p of items) {
          leaveQueue(p, "running")
          p.batch = running
        }
        const controller = new AbortController()
        const call = guard(serve(items.map((p) => p.args), batchContext(items, controller.signal))).pipe(
          Effect.onInterrupt(() => Effect.sync(() => controller.abort())),
          Effect.provide(context)
        )
        return Effect.fork(call).pipe(
          Effect.tap((fiber) => {
            running.fiber = fiber
            return running.waiting === 0 ? Fiber.interruptFork(fiber) : Effect.void
          }),
          Effect.flatMap(Fiber.await),
          Effect.flatMap((exit) => {
            if (Exit.isFailure(exit)) {
              const error = errorOf(exit.cause, tool.name)
              return Effect.forEach(items, (p) => Deferred.fail(p.done, error), { discard: true })
            }
            const outputs = exit.value
            if (outputs.length !== items.length) {
              const error = new Defect({
                message:
                  `batch handler of tool "${tool.name}" returned ${outputs.length} outputs for ${items.length} calls`
              })
              return Effect.forEach(items, (p) => Deferred.fail(p.done, error), { discard: true })
            }
            return Effect.forEach(items, (p, i) => Deferred.succeed(p.done, outputs[i]!), { discard: true })
          })
        )
      })

    const consumer = Stream.fromQueue(queue).pipe(
      Stream.takeWhile((item): item is Pending<I, O> => item !== END),
      Stream.groupedWithin(size, Math.max(1, windowMs)),
      Stream.mapEffect(runBatch, { concurrency, unordered: true }),
      Stream.runDrain,
      Effect.zipRight(
        // Calls that slipped in around the end marker are served too.
        Effect.flatMap(Queue.takeAll(queue), (rest) =>
          Effect.forEach(
            Chunk.chunksOf(Chunk.filter(rest, (item): item is Pending<I, O> => item !== END), size),
            runBatch,
            { concurrency, discard: true }
          ))
      )
    )

    // acquire is uninterruptible: the consumer must not inherit that (groupedWithin interrupts its timer)
    yield* Effect.acquireRelease(
      Effect.forkDaemon(Effect.interruptible(consumer)),
      (fiber) =>
        Effect.suspend(() => {
          closed = true
          return Queue.offer(queue, END).pipe(
            Effect.zipRight(Fiber.await(fiber)),
            Effect.zipRight(Queue.shutdown(queue))
          )
        })
    )

    const abandon = (p: Pending<I, O>): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (p.state === "queued") {
          leaveQueue(p, "abandoned")
          return Effect.void
        }
        const running = p.batch
        if (p.state !== "running" || running === undefined) return Effect.void
        running.waiting -= 1
        return running.waiting === 0 && running.fiber !== undefined ? Fiber.interruptFork(running.fiber) : Effect.void
      })

    const call = (args: I, ctx: ToolContext): Effect.Effect<O, ToolError> =>
      Effect.suspend(() => {
        if (closed) return Effect.fail(new Cancelled({ message: `batcher of tool "${tool.name}" is closed` }))
        return Effect.flatMap(Deferred.make<O, ToolError>(), (done) => {
          const pending: Pending<I, O> = { args, ctx, done, state: "queued", batch: undefined, counted: false }
          return Queue.offer(queue, pending).pipe(
            Effect.zipRight(Effect.sync(() => {
              if (pending.state === "queued") {
                pending.counted = true
                backlog += 1
              }
            })),
            Effect.zipRight(Deferred.await(done)),
            Effect.onInterrupt(() => abandon(pending))
          )
        })
      })
    return Object.assign(call, { backlog: Effect.sync(() => backlog) })
  })
