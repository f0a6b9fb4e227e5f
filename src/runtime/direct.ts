/**
 * Fiberless calls: a tool handler that returns an `Effect.async` (a
 * callback-based wait: a timer, a socket, a child process) is driven
 * directly, without starting a fiber for it. A fiber per suspended call
 * costs ~10 µs of CPU on start and again on resume; for io-bound programs
 * that CPU sits between a timer firing and the next call's timer being
 * armed, where it delays every later call (see the runtime README).
 *
 * The semantics are those of running the effect on a fiber:
 * - the register function is called once, with a resume callback and —
 *   when it takes two parameters — an `AbortSignal`;
 * - the first resume wins, later ones are ignored, a resume during
 *   registration completes the call synchronously;
 * - a register that throws is a defect (`Exit.die`);
 * - interrupting the call aborts the signal and runs the canceller effect
 *   the register returned, and a resume after that is ignored.
 * The resumed effect is handed back as is: when it is not already an
 * `Exit`, the caller runs it (on a fiber). Only effects made by
 * `Effect.async` itself are recognised (by the source text of Effect's
 * own commit function, so any other effect — including a different
 * implementation that happens to share the shape — takes the fiber path).
 */
import { Effect, Exit, Fiber } from "effect"

/** What `Effect.async` was given: registers a resume callback; may return a canceller. */
export type AsyncRegister = (
  resume: (effect: Effect.Effect<unknown, unknown>) => void,
  signal: AbortSignal
) => void | Effect.Effect<void>

/** The shape of Effect 3's primitive effects, as far as recognising `Effect.async` needs it. */
interface Primitive {
  readonly _op?: unknown
  readonly commit?: unknown
  readonly effect_instruction_i0?: unknown
  readonly effect_instruction_i1?: unknown
}

/** The source text of the commit function of every effect `Effect.async` makes. */
const ASYNC_COMMIT: string | undefined = (() => {
  const sample = Effect.async<void>(() => undefined) as unknown as Primitive
  return sample._op === "Commit" && typeof sample.commit === "function" ? Function.prototype.toString.call(sample.commit) : undefined
})()

/** The register function of an effect made by `Effect.async`, or undefined for any other effect. */
export const asyncRegister = (effect: Effect.Effect<unknown, unknown, unknown>): AsyncRegister | undefined => {
  const p = effect as unknown as Primitive
  if (p._op !== "Commit" || typeof p.effect_instruction_i0 !== "function" || p.effect_instruction_i1 !== undefined) return undefined
  if (typeof p.commit !== "function" || Function.prototype.toString.call(p.commit) !== ASYNC_COMMIT) return undefined
  return p.effect_instruction_i0 as AsyncRegister
}

const PENDING = 0
const RESUMED = 1
const INTERRUPTED = 2

/** One `Effect.async` in flight without a fiber. */
export class DirectCall {
  private state = PENDING
  private controller: AbortController | undefined
  private canceller: Effect.Effect<void> | undefined

  /**
   * Calls `register`. `onResume` gets the effect the call was resumed with,
   * at most once — during this constructor when the register resumes at
   * once (check `resumed`), else later from whatever callback resumes it.
   * `onInterrupt` runs when the call is interrupted before it resumed.
   */
  constructor(
    register: AsyncRegister,
    private readonly onResume: (effect: Effect.Effect<unknown, unknown>) => void,
    private readonly onInterrupt: () => void
  ) {
    // (Closures are passed inline: a named one costs a defineProperty per call under tsx's keepNames.)
    let canceller: void | Effect.Effect<void>
    try {
      if (register.length === 1) {
        canceller = (register as (resume: (effect: Effect.Effect<unknown, unknown>) => void) => void | Effect.Effect<void>)((effect) =>
          this.resume(effect)
        )
      } else {
        this.controller = new AbortController()
        canceller = register((effect) => this.resume(effect), this.controller.signal)
      }
    } catch (e) {
      this.resume(Exit.die(e))
      return
    }
    if (Effect.isEffect(canceller)) this.canceller = canceller
  }

  private resume(effect: Effect.Effect<unknown, unknown>): void {
    if (this.state !== PENDING) return
    this.state = RESUMED
    this.onResume(effect)
  }

  /** Whether the call has resumed (its effect went to `onResume`). */
  get resumed(): boolean {
    return this.state === RESUMED
  }

  /** Interrupts the call if it is still waiting: aborts its signal and runs its canceller. */
  interrupt(): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.state !== PENDING) return Effect.void
      this.state = INTERRUPTED
      this.controller?.abort()
      this.onInterrupt()
      const canceller = this.canceller
      // Like an interrupted fiber's finalizer: its failure is nobody's result.
      return canceller === undefined ? Effect.void : Effect.catchAllCause(canceller, () => Effect.void)
    })
  }
}

/** Something in flight for a run: a fiber, or a fiberless call. */
export type InFlight = Fiber.RuntimeFiber<unknown, unknown> | DirectCall

/** Interrupts everything given and waits until each has stopped (fibers' finalizers and calls' cancellers have run). */
export const interruptAll = (items: Iterable<InFlight>): Effect.Effect<void> =>
  Effect.suspend(() => {
    const fibers: Array<Fiber.RuntimeFiber<unknown, unknown>> = []
    const calls: Array<DirectCall> = []
    for (const item of items) {
      if (item instanceof DirectCall) calls.push(item)
      else fibers.push(item)
    }
    const stopCalls = calls.length === 0 ? Effect.void : Effect.forEach(calls, (c) => c.interrupt(), { discard: true })
    return fibers.length === 0 ? stopCalls : Effect.zipRight(stopCalls, Fiber.interruptAll(fibers))
  })
