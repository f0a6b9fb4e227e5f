/**
 * The circuit breaker's state machine, pure (issue 17): closed → open when
 * the failure rate of the calls recorded in the last `window` reaches
 * `failureRate` with at least `minCalls` of them → half-open once `openFor`
 * has passed, admitting at most `halfOpenProbes` probe calls → closed when
 * every probe succeeded, open again at the first failed probe. Time is given
 * by the caller (Effect's Clock), so the same steps give the same states.
 *
 * Every entry into `open` starts a new `episode`: an outcome is counted only
 * by the episode that admitted it, so a slow call admitted before the breaker
 * opened cannot close it, and one admitted by an earlier half-open cannot
 * count as a probe of a later one. A half-open breaker whose probes have not
 * all answered within `openFor` of its start (a probe lost with its replica)
 * opens again: an unanswered probe counts as failed.
 */
import type { ResolvedBreaker } from "../../tools/breaker.js"

export type { ResolvedBreaker }

/** The three states' names, as events and metrics show them. */
export type BreakerStatus = "closed" | "open" | "half-open"

/** One recorded outcome of a call admitted while closed. */
export interface Outcome {
  readonly at: number
  readonly failed: boolean
}

/** A breaker's state. */
export type BreakerState =
  | { readonly status: "closed"; readonly episode: number; readonly outcomes: ReadonlyArray<Outcome> }
  | { readonly status: "open"; readonly episode: number; readonly until: number }
  | {
    readonly status: "half-open"
    readonly episode: number
    readonly since: number
    readonly admitted: number
    readonly succeeded: number
  }

/** A state change, with the window's counts when it opened from closed. */
export interface Transition {
  readonly from: BreakerStatus
  readonly to: BreakerStatus
  readonly at: number
  readonly calls?: number
  readonly failures?: number
}

/** The answer to a call: admitted (as a probe when half-open) in an episode, or rejected for `retryAfterMs`. */
export type Admission =
  | { readonly _tag: "Admitted"; readonly probe: boolean; readonly episode: number }
  | { readonly _tag: "Rejected"; readonly retryAfterMs: number }

/** A new breaker: closed, no outcomes. */
export const initialState: BreakerState = { status: "closed", episode: 0, outcomes: [] }

/** The outcomes of `outcomes` still inside the window ending at `now` (strictly after `now - windowMs`). */
export const inWindow = (outcomes: ReadonlyArray<Outcome>, windowMs: number, now: number): ReadonlyArray<Outcome> =>
  outcomes.filter((o) => o.at > now - windowMs)

/** Whether `failures` of `calls` open a closed breaker. */
export const trips = (s: ResolvedBreaker, calls: number, failures: number): boolean =>
  calls >= s.minCalls && calls > 0 && failures / calls >= s.failureRate

const opened = (episode: number, now: number, s: ResolvedBreaker): BreakerState => ({
  status: "open",
  episode: episode + 1,
  until: now + s.openForMs
})

/** A step of the machine: the next state, the answer (for `admit`) and the transitions it made, in order. */
export interface Step<A> {
  readonly state: BreakerState
  readonly result: A
  readonly transitions: ReadonlyArray<Transition>
}

/** Asks to make a call at `now`. */
export const admit = (state: BreakerState, s: ResolvedBreaker, now: number): Step<Admission> => {
  switch (state.status) {
    case "closed":
      return { state, result: { _tag: "Admitted", probe: false, episode: state.episode }, transitions: [] }
    case "open": {
      if (now < state.until) {
        return { state, result: { _tag: "Rejected", retryAfterMs: state.until - now }, transitions: [] }
      }
      return {
        state: { status: "half-open", episode: state.episode, since: now, admitted: 1, succeeded: 0 },
        result: { _tag: "Admitted", probe: true, episode: state.episode },
        transitions: [{ from: "open", to: "half-open", at: now }]
      }
    }
    case "half-open": {
      if (state.admitted < s.halfOpenProbes) {
        return {
          state: { ...state, admitted: state.admitted + 1 },
          result: { _tag: "Admitted", probe: true, episode: state.episode },
          transitions: []
        }
      }
      if (now >= state.since + s.openForMs) {
        return {
          state: opened(state.episode, now, s),
          result: { _tag: "Rejected", retryAfterMs: s.openForMs },
          transitions: [{ from: "half-open", to: "open", at: now }]
        }
      }
      return {
        state,
        result: { _tag: "Rejected", retryAfterMs: Math.max(1, state.since + s.openForMs - now) },
        transitions: []
      }
    }
  }
}

/** Records the outcome of a call admitted by `admission` (failed or not) at `now`. */
export const record = (
  state: BreakerState,
  s: ResolvedBreaker,
  admission: Extract<Admission, { _tag: "Admitted" }>,
  failed: boolean,
  now: number
): Step<void> => {
  const same = { state, result: undefined, transitions: [] }
  if (admission.episode !== state.episode) return same
  if (!admission.probe) {
    if (state.status !== "closed") return same
    const outcomes = [...inWindow(state.outcomes, s.windowMs, now), { at: now, failed }]
    const failures = outcomes.reduce((n, o) => (o.failed ? n + 1 : n), 0)
    if (trips(s, outcomes.length, failures)) {
      return {
        state: opened(state.episode, now, s),
        result: undefined,
        transitions: [{ from: "closed", to: "open", at: now, calls: outcomes.length, failures }]
      }
    }
    return { state: { ...state, outcomes }, result: undefined, transitions: [] }
  }
  if (state.status !== "half-open") return same
  if (failed) {
    return {
      state: opened(state.episode, now, s),
      result: undefined,
      transitions: [{ from: "half-open", to: "open", at: now }]
    }
  }
  const succeeded = state.succeeded + 1
  if (succeeded >= s.halfOpenProbes) {
    return {
      state: { status: "closed", episode: state.episode, outcomes: [] },
      result: undefined,
      transitions: [{ from: "half-open", to: "closed", at: now }]
    }
  }
  return { state: { ...state, succeeded }, result: undefined, transitions: [] }
}
