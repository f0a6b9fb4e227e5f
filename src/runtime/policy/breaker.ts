/**
 * Circuit breakers (issue 17): the `CircuitBreaker` service keeps one
 * breaker per name (`tool:<name>`, `llm:<provider>`) in a store — this
 * process's memory (`layerMemory`, single-process mode) or a store every
 * replica reaches (the Redis adapter of `src/cluster/breakers.ts`). The
 * state machine is `breakerState.ts`; `protect` wraps a call in it.
 *
 * A store that fails (Redis down) admits the call and logs a warning: a
 * breaker must not stop the service it protects.
 */
import { Clock, Context, Effect, FiberRef, Layer, Metric } from "effect"
import type { ResolvedBreaker } from "../../tools/breaker.js"
import * as Machine from "./breakerState.js"
import type { Admission, BreakerStatus, Transition } from "./breakerState.js"

/** An admitted call, as `record` takes it back. */
export type Admitted = Extract<Admission, { _tag: "Admitted" }>

/** What `admit` answers: the admission and the transitions it made (open → half-open, a stale half-open → open). */
export interface AdmitResult {
  readonly admission: Admission
  readonly transitions: ReadonlyArray<Transition>
}

/** The operations on the breakers. */
export interface CircuitBreakerService {
  /** Asks breaker `name` to let a call through now. */
  readonly admit: (name: string, settings: ResolvedBreaker) => Effect.Effect<AdmitResult>
  /** Records the outcome of a call `admit` let through; gives the transitions it made. */
  readonly record: (
    name: string,
    settings: ResolvedBreaker,
    admission: Admitted,
    failed: boolean
  ) => Effect.Effect<ReadonlyArray<Transition>>
  /** The state of breaker `name` now (closed when unknown). */
  readonly status: (name: string, settings: ResolvedBreaker) => Effect.Effect<BreakerStatus>
}

/**
 * The circuit breakers of tools and LLM providers. A reference: without a layer, the breakers live in this
 * process's memory (one set per process, as single-process mode wants); cluster mode provides the shared store.
 */
export class CircuitBreaker extends Context.Reference<CircuitBreaker>()("trellis/CircuitBreaker", {
  defaultValue: (): CircuitBreakerService => makeMemory()
}) {
  /** A fresh set of breakers in memory (tests, or a process that wants its own); time from the Clock. */
  static readonly layerMemory: Layer.Layer<CircuitBreaker> = Layer.sync(CircuitBreaker, () => makeMemory())
}

/** A memory store of breakers (each `makeMemory()` is a separate set). */
export const makeMemory = (): CircuitBreakerService => {
  const states = new Map<string, Machine.BreakerState>()
  const get = (name: string) => states.get(name) ?? Machine.initialState
  return {
    admit: (name, settings) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const step = Machine.admit(get(name), settings, now)
        states.set(name, step.state)
        return { admission: step.result, transitions: step.transitions }
      }),
    record: (name, settings, admission, failed) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const step = Machine.record(get(name), settings, admission, failed, now)
        states.set(name, step.state)
        return step.transitions
      }),
    status: (name, settings) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const state = get(name)
        // An open breaker past its time shows as half-open (the next call is a probe).
        return state.status === "open" && now >= state.until && settings.halfOpenProbes > 0 ? "half-open" : state.status
      })
  }
}

/** `trellis_breaker_transitions_total{breaker, to}`: state changes seen by this process. */
export const breakerTransitionsTotal = Metric.counter("trellis_breaker_transitions_total", {
  description: "Circuit breaker state changes seen by this process, by breaker and new state.",
  incremental: true
})

/** `trellis_breaker_rejected_total{breaker}`: calls failed fast by an open breaker in this process. */
export const breakerRejectedTotal = Metric.counter("trellis_breaker_rejected_total", {
  description: "Calls failed fast by an open circuit breaker in this process.",
  incremental: true
})

/** `trellis_breaker_state{breaker}`: 0 closed, 1 half-open, 2 open, as this process last saw it. */
export const breakerState = Metric.gauge("trellis_breaker_state", {
  description: "Circuit breaker state as this process last saw it: 0 closed, 1 half-open, 2 open."
})

const STATE_VALUE: Record<BreakerStatus, number> = { closed: 0, "half-open": 1, open: 2 }

/** Records transitions as metrics and log lines. */
const observe = (name: string, transitions: ReadonlyArray<Transition>): Effect.Effect<void> =>
  Effect.forEach(transitions, (t) =>
    Effect.all([
      Metric.increment(Metric.tagged(Metric.tagged(breakerTransitionsTotal, "breaker", name), "to", t.to)),
      Metric.set(Metric.tagged(breakerState, "breaker", name), STATE_VALUE[t.to]),
      Effect.logInfo(`circuit breaker ${name}: ${t.from} -> ${t.to}`)
    ], { discard: true }), { discard: true })

/**
 * Who records the transitions of breakers met inside the current fiber when the call site does not record them
 * itself (no `onTransition`): an llm step sets it around its call, so a provider breaker's transitions become
 * `BreakerChanged` events of the run whose call caused them.
 */
export const TransitionListener: FiberRef.FiberRef<((breaker: string, t: Transition) => void) | undefined> = FiberRef
  .unsafeMake<((breaker: string, t: Transition) => void) | undefined>(undefined)

/** How `protect` treats a call. */
export interface ProtectOptions<E> {
  /** Whether a failure counts against the breaker (the others count as answered calls). */
  readonly counts: (e: E) => boolean
  /** The error of a call the open breaker refuses. */
  readonly rejected: (retryAfterMs: number) => E
  /** Called with each transition (to record it as a run event). */
  readonly onTransition?: (t: Transition) => void
}

/**
 * Wraps one call in breaker `name`: an open breaker fails it at once with `rejected(retryAfterMs)`; an admitted
 * call's outcome is recorded (an interrupted call records nothing: a lost probe is ended by the half-open timeout).
 */
export const protect = <E>(
  service: CircuitBreakerService,
  name: string,
  settings: ResolvedBreaker,
  options: ProtectOptions<E>
) =>
<A, R>(eff: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(service.admit(name, settings), ({ admission, transitions }) => {
    const seen = (ts: ReadonlyArray<Transition>) =>
      ts.length === 0 ? Effect.void : Effect.zipRight(
        FiberRef.getWith(TransitionListener, (listener) =>
          Effect.sync(() => {
            for (const t of ts) {
              if (options.onTransition !== undefined) options.onTransition(t)
              else listener?.(name, t)
            }
          })),
        observe(name, ts)
      )
    if (admission._tag === "Rejected") {
      return seen(transitions).pipe(
        Effect.zipRight(Metric.increment(Metric.tagged(breakerRejectedTotal, "breaker", name))),
        Effect.zipRight(Effect.fail(options.rejected(admission.retryAfterMs)))
      )
    }
    const done = (failed: boolean) => Effect.flatMap(service.record(name, settings, admission, failed), seen)
    return Effect.zipRight(
      seen(transitions),
      eff.pipe(
        Effect.tapBoth({ onFailure: (e) => done(options.counts(e)), onSuccess: () => done(false) })
      )
    )
  })
