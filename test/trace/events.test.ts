/** Run events as Schema classes: `makeEvent` builds genuine instances, decoding yields instances, encoding takes both forms. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Equal, Schema } from "effect"
import type { RunStarted } from "../../src/trace/events.js"
import {
  ChoiceMade,
  decodeEvent,
  encodeEvent,
  EVENT_CLASSES,
  EVENT_TYPES,
  makeEvent,
  NodeCompleted,
  RunEvent,
  ToolReturned
} from "../../src/trace/events.js"

const data = {
  tool: "search",
  outputHash: "h1",
  latencyMs: 12,
  cost: 0.5,
  source: "tool" as const,
  output: { hits: [1, 2] }
}

describe("event classes", () => {
  it("makeEvent builds an instance equal in every respect to one built by the class constructor", () => {
    const fast = makeEvent("ToolReturned", { runId: "r1", seq: 4, at: 1000, node: "n1", attempt: 2, data })
    const made = new ToolReturned({ runId: "r1", seq: 4, at: 1000, type: "ToolReturned", node: "n1", attempt: 2, data })
    const trusted = new ToolReturned({
      runId: "r1",
      seq: 4,
      at: 1000,
      type: "ToolReturned",
      node: "n1",
      attempt: 2,
      data
    }, true)
    expect(fast).toBeInstanceOf(ToolReturned)
    expect(Schema.is(ToolReturned)(fast)).toBe(true)
    expect(Schema.is(RunEvent)(fast)).toBe(true)
    expect(Schema.is(NodeCompleted)(fast)).toBe(false)
    expect(JSON.stringify(fast)).toBe(JSON.stringify(made))
    expect(Object.keys(fast)).toEqual(["runId", "seq", "at", "type", "node", "attempt", "data"])
    expect(Equal.equals(fast, trusted)).toBe(true)
    expect(
      Equal.equals(fast, makeEvent("ToolReturned", { runId: "r1", seq: 5, at: 1000, node: "n1", attempt: 2, data }))
    ).toBe(false)
    expect(Schema.encodeSync(ToolReturned)(fast)).toEqual(Schema.encodeSync(ToolReturned)(made))
    expect(String(fast)).toBe(String(trusted))
  })

  it("an undefined node or attempt is absent, not an own property holding undefined", () => {
    const e = makeEvent("NodeCompleted", {
      runId: "r",
      seq: 0,
      at: 1,
      node: undefined,
      attempt: undefined,
      data: { outputHash: "h" }
    })
    expect(Object.keys(e)).toEqual(["runId", "seq", "at", "type", "data"])
    expect(JSON.stringify(e)).toBe(
      "{\"runId\":\"r\",\"seq\":0,\"at\":1,\"type\":\"NodeCompleted\",\"data\":{\"outputHash\":\"h\"}}"
    )
  })

  it("makeEvent picks the class of every type", () => {
    for (const type of EVENT_TYPES) {
      const e = makeEvent(type, { runId: "r", seq: 0, at: 1, data: {} as never })
      expect(e).toBeInstanceOf(EVENT_CLASSES[type])
      expect(e.type).toBe(type)
    }
    expect(EVENT_TYPES).toHaveLength(19)
  })

  it("the constructor defaults `type` and validates", () => {
    const e = new NodeCompleted({ runId: "r", seq: 0, at: 1, data: { outputHash: "h" } })
    expect(e.type).toBe("NodeCompleted")
    expect(() => new NodeCompleted({ runId: "r", seq: -1, at: 1, data: { outputHash: "h" } })).toThrow(
      "Expected a non-negative number, actual -1"
    )
  })

  it.effect("decoding yields class instances in wire order; encoding gives plain JSON and accepts plain objects", () =>
    Effect.gen(function*() {
      const wire = {
        data: { version: 3, propensity: 0.25, policy: "ucb1", option: "formal", key: "tone" },
        node: "n5",
        type: "ChoiceMade",
        at: 7,
        seq: 2,
        runId: "r"
      }
      const decoded = yield* decodeEvent(wire)
      expect(decoded).toBeInstanceOf(ChoiceMade)
      expect(Object.keys(decoded)).toEqual(["runId", "seq", "at", "type", "node", "data"])
      const encoded = encodeEvent(decoded)
      expect(Object.getPrototypeOf(encoded)).toBe(Object.prototype)
      expect(encoded).toEqual(wire)
      // A plain object of an event's shape (as tests and older code build them) encodes too.
      expect(encodeEvent({ ...wire, type: "ChoiceMade" } as RunEvent)).toEqual(wire)
    }))

  it.effect("decoding rejects what is not an event with the Schema's message", () =>
    Effect.gen(function*() {
      const bad = yield* Effect.either(
        decodeEvent({ runId: "r", seq: 1.5, at: 1, type: "NodeCompleted", data: { outputHash: "h" } })
      )
      expect(Either.isLeft(bad) && bad.left.message.includes("Expected an integer, actual 1.5")).toBe(true)
      const nan = yield* Effect.either(
        decodeEvent({ runId: "r", seq: 1, at: 1, type: "ToolReturned", data: { ...data, cost: null } })
      )
      expect(Either.isLeft(nan) && nan.left.message.includes("Expected number, actual null")).toBe(true)
    }))

  it("object literals type-check as events and compare equal to instances", () => {
    const literal: RunEvent = {
      runId: "r",
      seq: 0,
      at: 1,
      type: "RunStarted",
      data: { programHash: "p", inputsHash: "i", seed: null, mode: "live" }
    }
    const instance = makeEvent("RunStarted", { runId: "r", seq: 0, at: 1, data: literal.data as RunStarted["data"] })
    expect(instance).toEqual(literal)
    expect(literal).toEqual(instance)
  })
})
