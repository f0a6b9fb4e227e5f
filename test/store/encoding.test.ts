/**
 * The event store writes `JSON.stringify(event)` as an event's stored body
 * instead of calling `encodeEvent` (5–6× cheaper on the append path). That
 * is only right while the two agree: checked here for arbitrary events of
 * every type, whatever `RunEvent`'s representation (struct or class).
 */
import { expect, it } from "@effect/vitest"
import { Arbitrary } from "effect"
import fc from "fast-check"
import { encodeEvent, EVENT_TYPES, RunEvent } from "../../src/trace/events.js"

const arbitraryEvent = Arbitrary.make(RunEvent)

it.prop("JSON.stringify of an event is its encoded JSON form", [arbitraryEvent], ([event]) => {
  expect(JSON.parse(JSON.stringify(event))).toEqual(JSON.parse(JSON.stringify(encodeEvent(event))))
}, { fastCheck: { numRuns: 2000 } })

it.prop("JSON.stringify of an event is its encoded JSON text, in wire order (the SSE frames send it)", [
  arbitraryEvent
], ([event]) => {
  expect(JSON.stringify(event)).toBe(JSON.stringify(encodeEvent(event)))
}, { fastCheck: { numRuns: 2000 } })

it("every event type is generated", () => {
  const types = new Set(fc.sample(arbitraryEvent, 3000).map((e) => e.type))
  expect([...types].sort()).toEqual([...EVENT_TYPES].sort())
})
