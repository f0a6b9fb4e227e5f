/**
 * What a run has in flight: fibers (Effect handlers that suspended, hooks,
 * timers, policed calls) and promise calls — a `run` handler's pending
 * Promise, awaited without a fiber. A promise call has the semantics of
 * an interruptible wait on the promise: it completes once, with the
 * promise's outcome; interrupting it aborts the handler's signal, and the
 * promise settling later is ignored.
 */
import { Effect, Fiber } from "effect"

const PENDING = 0
const SETTLED = 1
const INTERRUPTED = 2

/** A `run` handler's pending Promise, awaited without a fiber. */
export class PromiseCall {
  private state = PENDING

  /**
   * Awaits `promise`: `onSettle` gets its value (`ok` true) or its
   * rejection (`ok` false), at most once, unless the call was interrupted
   * first; `onInterrupt` runs when it is interrupted while pending.
   */
  constructor(
    promise: PromiseLike<unknown>,
    private readonly onSettle: (ok: boolean, value: unknown) => void,
    private readonly onInterrupt: () => void
  ) {
    promise.then((v) => this.settle(true, v), (e: unknown) => this.settle(false, e))
  }

  private settle(ok: boolean, value: unknown): void {
    if (this.state !== PENDING) return
    this.state = SETTLED
    this.onSettle(ok, value)
  }

  /** Interrupts the call if it is still pending (its handler's signal aborts). */
  interrupt(): void {
    if (this.state !== PENDING) return
    this.state = INTERRUPTED
    this.onInterrupt()
  }
}

/** Something in flight for a run: a fiber, or a promise call. */
export type InFlight = Fiber.RuntimeFiber<unknown, unknown> | PromiseCall

/** Interrupts everything given and waits until each has stopped (fibers' finalizers have run). */
export const interruptAll = (items: Iterable<InFlight>): Effect.Effect<void> =>
  Effect.suspend(() => {
    const fibers: Array<Fiber.RuntimeFiber<unknown, unknown>> = []
    for (const item of items) {
      if (item instanceof PromiseCall) item.interrupt()
      else fibers.push(item)
    }
    return fibers.length === 0 ? Effect.void : Fiber.interruptAll(fibers)
  })
