/**
 * How a `wait` step runs (SPEC §11). It records `Waiting { name, payload,
 * deadline }` (a resumed run keeps the deadline it recorded), then:
 * - a recorded answer (`Signalled` / `TimerFired`) answers it again — how
 *   a resumed run continues and how replay answers waits;
 * - in a live or resumed run it claims a signal from the `SignalInbox`
 *   (one sent before the wait was reached is buffered there), else waits
 *   on a fiber for the next signal or its deadline, parked meanwhile: when
 *   every fiber left is a parked wait, the run parks (`interpret.ts`);
 * - a replay without a recorded answer parks.
 * A signal's payload is the step's value (checked against the declared
 * answer type: a mismatch fails the step `Permanent`); the deadline fails
 * it with `Timeout`; a durable sleep's time completes it with null.
 */
import { Clock, Effect, Option } from "effect"
import { parseWaitDuration } from "../ir/duration.js"
import type { Json } from "../ir/eval.js"
import type { Type, WaitNode } from "../ir/schema.js"
import { Permanent, Timeout } from "../tools/errors.js"
import type { ToolError } from "../tools/errors.js"
import type { StoreError } from "../trace/errors.js"
import { typeProblem } from "./inputs.js"
import type { RecordedWait } from "./recorded.js"
import type { Signal, SignalInboxService } from "./signals.js"

/** How a wait ended. */
export type WaitOutcome =
  | { readonly _tag: "Signal"; readonly signal: Signal }
  | { readonly _tag: "Fired"; readonly deadline: number }

/** The deadline of a wait reached at `now` (its recorded one when it has a record). */
export const deadlineOf = (node: WaitNode, now: number, recorded: RecordedWait | undefined): number | null => {
  if (recorded !== undefined) return recorded.deadline
  const text = node.for ?? node.policy?.timeout
  if (text === undefined) return null
  const ms = parseWaitDuration(text)
  return ms === undefined ? null : now + ms
}

/** The recorded answer of a wait, if it has one. */
export const recordedOutcome = (recorded: RecordedWait | undefined): WaitOutcome | undefined => {
  if (recorded?.signalled !== undefined) {
    const { signalId, payload } = recorded.signalled
    return { _tag: "Signal", signal: { signalId, payload } }
  }
  if (recorded?.fired !== undefined) return { _tag: "Fired", deadline: recorded.fired }
  return undefined
}

/**
 * Waits for a signal named `name` (none for a sleep) or the deadline:
 * `park` is called each time the wait has nothing to do, `unpark` when it
 * wakes to look again.
 */
export const awaitOutcome = (options: {
  readonly inbox: SignalInboxService
  readonly runId: string
  readonly path: string
  readonly name: string | undefined
  readonly deadline: number | null
  readonly park: () => void
  readonly unpark: () => void
}): Effect.Effect<WaitOutcome, StoreError> =>
  Effect.gen(function*() {
    const { inbox, runId, path, name, deadline } = options
    while (true) {
      // Listen first, so a signal that arrives while we look is not missed.
      const next = name === undefined ? Effect.never : yield* inbox.listen(runId)
      if (name !== undefined) {
        const got = yield* inbox.claim(runId, name, path)
        if (Option.isSome(got)) return { _tag: "Signal", signal: got.value } as const
      }
      const now = yield* Clock.currentTimeMillis
      if (deadline !== null && now >= deadline) return { _tag: "Fired", deadline } as const
      options.park()
      const timer = deadline === null ? Effect.never : Clock.sleep(`${deadline - now} millis`)
      yield* Effect.raceFirst(next, timer)
      options.unpark()
    }
  })

/** The step's value for an outcome, or its failure. */
export const valueOf = (
  node: WaitNode,
  outcome: WaitOutcome,
  answer: Type | undefined
): { readonly ok: true; readonly value: Json } | { readonly ok: false; readonly error: ToolError } => {
  if (outcome._tag === "Fired") {
    if (node.signal === undefined) return { ok: true, value: null }
    return {
      ok: false,
      error: new Timeout({
        message: `wait "${node.signal}" timed out (deadline ${new Date(outcome.deadline).toISOString()})`
      })
    }
  }
  const payload = outcome.signal.payload
  if (answer !== undefined) {
    const problem = typeProblem(payload, answer, `the payload of signal "${node.signal ?? ""}"`)
    if (problem !== undefined) return { ok: false, error: new Permanent({ message: problem }) }
  }
  return { ok: true, value: payload }
}
