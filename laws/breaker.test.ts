/**
 * Laws of the circuit breaker (issue 17), on the pure state machine with
 * random settings, arrival times and outcomes:
 * 1. while half-open, it never admits more than `halfOpenProbes` calls (per
 *    half-open episode), whatever the interleaving of calls and answers;
 * 2. it goes from closed to open exactly when, at a recorded outcome, the
 *    outcomes recorded since it (last) closed within the window number at
 *    least `minCalls` and their failure rate reaches `failureRate`.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as Machine from "../src/runtime/policy/breakerState.js"
import type { ResolvedBreaker } from "../src/tools/breaker.js"
import { LAW_CASES, numRuns } from "./settings.js"

const arbSettings: fc.Arbitrary<ResolvedBreaker> = fc.record({
  failureRate: fc.oneof(fc.constantFrom(0.25, 0.5, 1), fc.double({ min: 0.01, max: 1, noNaN: true })),
  minCalls: fc.integer({ min: 1, max: 8 }),
  windowMs: fc.integer({ min: 1, max: 2000 }),
  openForMs: fc.integer({ min: 1, max: 2000 }),
  halfOpenProbes: fc.integer({ min: 1, max: 4 })
})

/** A step: time passes, then a call asks to go through, or the `pick`-th outstanding call answers. */
type Op =
  | { readonly _tag: "call"; readonly dt: number }
  | { readonly _tag: "answer"; readonly dt: number; readonly pick: number; readonly failed: boolean }

const arbOp: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ _tag: fc.constant("call" as const), dt: fc.integer({ min: 0, max: 400 }) }),
  fc.record({
    _tag: fc.constant("answer" as const),
    dt: fc.integer({ min: 0, max: 400 }),
    pick: fc.nat(),
    failed: fc.boolean()
  })
)

describe("circuit breaker laws", () => {
  it("admits at most halfOpenProbes calls per half-open episode; opens from closed iff the window trips", () => {
    fc.assert(
      fc.property(arbSettings, fc.array(arbOp, { maxLength: 120 }), (s, ops) => {
        let state = Machine.initialState
        let now = 0
        const outstanding: Array<Extract<Machine.Admission, { _tag: "Admitted" }>> = []
        // The reference: outcomes recorded (of calls admitted while closed, in the current closed period).
        let closedLog: Array<Machine.Outcome> = []
        let probesThisEpisode = 0
        for (const op of ops) {
          now += op.dt
          if (op._tag === "call") {
            const wasHalfOpen = state.status === "half-open"
            const step = Machine.admit(state, s, now)
            for (const t of step.transitions) {
              if (t.to === "half-open") probesThisEpisode = 0
            }
            state = step.state
            if (step.result._tag === "Admitted") {
              outstanding.push(step.result)
              if (step.result.probe) {
                probesThisEpisode += 1
                // Law 1.
                expect(probesThisEpisode).toBeLessThanOrEqual(s.halfOpenProbes)
              }
            } else {
              expect(step.result.retryAfterMs).toBeGreaterThan(0)
            }
            if (wasHalfOpen && state.status === "half-open") expect(step.transitions).toEqual([])
            continue
          }
          if (outstanding.length === 0) continue
          const [admission] = outstanding.splice(op.pick % outstanding.length, 1)
          const before = state
          const step = Machine.record(before, s, admission!, op.failed, now)
          state = step.state
          const countsForWindow = before.status === "closed" && !admission!.probe &&
            admission!.episode === before.episode
          if (countsForWindow) {
            closedLog = [...Machine.inWindow(closedLog, s.windowMs, now), { at: now, failed: op.failed }]
            const failures = closedLog.filter((o) => o.failed).length
            const shouldTrip = closedLog.length >= s.minCalls && failures / closedLog.length >= s.failureRate
            // Law 2, both ways.
            expect(state.status === "open").toBe(shouldTrip)
            if (shouldTrip) {
              expect(step.transitions).toEqual([
                { from: "closed", to: "open", at: now, calls: closedLog.length, failures }
              ])
            }
          } else if (before.status === "closed") {
            // An outcome of another episode never changes a closed breaker.
            expect(state).toEqual(before)
          }
          if (state.status === "closed" && before.status !== "closed") closedLog = []
        }
      }),
      { numRuns: numRuns(LAW_CASES) }
    )
  })
})
