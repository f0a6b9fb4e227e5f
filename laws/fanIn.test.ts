/**
 * Fan-in laws (issue 18): the incremental fold of a map equals the
 * sequential fold for an order-insensitive reducer under any completion
 * order, and a race or first-k run replays exactly, to the same value,
 * whatever order its tools finished in. Completion orders come from
 * fast-check-chosen tool delays under TestClock. A case is a few runs of
 * a small program (milliseconds), so these laws run `numRuns(50)` cases.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Schema } from "effect"
import * as fc from "fast-check"
import * as Durable from "../src/runtime/durable.js"
import { RunStore } from "../src/runtime/runStore.js"
import * as Runtime from "../src/runtime/runtime.js"
import { make } from "../src/tools/index.js"
import type { AnyTool } from "../src/tools/index.js"
import { advanceUntilDone, compileProgram, testLayer } from "../test/support/runtime.js"
import { numRuns } from "./settings.js"

/** Sleeps `ms` on the Clock (the test's TestClock), then returns `value`. */
const valueAfter = make({
  name: "t.after",
  description: "Sleeps ms, then returns value.",
  input: Schema.Struct({ ms: Schema.Number, value: Schema.Number }),
  output: Schema.Number,
  idempotent: true,
  handler: (args) => Effect.as(Effect.sleep(`${args.ms} millis`), args.value)
}) as unknown as AnyTool

const tools = [valueAfter]

const FOLDS = compileProgram(
  `program main(items: { ms: number, value: number }[]) {
    total = map it in items with { fold: add, init: 0 } { return tool t.after(ms: it.ms, value: it.value) }
    top = map it in items with { fold: biggest, init: -1 } { return tool t.after(ms: it.ms, value: it.value) }
    return { total: total, top: top }
  }
  program add(acc: number, x: number) { return acc + x }
  program biggest(acc: number, x: number) { return max(acc, x) }`,
  tools
)

/** The race-and-take program of each k (take is a literal). */
const fanIn = (k: number) =>
  compileProgram(
    `program main(items: { ms: number, value: number }[]) {
    first = race {
      a: { return tool t.after(ms: items[0].ms, value: items[0].value) }
      b: { return tool t.after(ms: items[1].ms, value: items[1].value) }
      c: { return tool t.after(ms: items[2].ms, value: items[2].value) }
    }
    firsts = map it in items with { take: ${k} } { return tool t.after(ms: it.ms, value: it.value) }
    return { first: first, firsts: firsts }
  }`,
    tools
  )
const FAN_IN = [1, 2, 3].map(fanIn)

const arbItems = (minLength: number) =>
  fc.array(fc.record({ ms: fc.integer({ min: 0, max: 40 }), value: fc.integer({ min: -50, max: 50 }) }), {
    minLength,
    maxLength: 8
  })

/** Runs `eff` on a fiber, advancing the TestClock until it is done. */
const underTestClock = <A, E, R>(eff: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(eff)
    yield* advanceUntilDone(fiber, 10_000, 1)
    return yield* Fiber.join(fiber)
  })

describe("fan-in laws", () => {
  it.effect.prop(
    "incremental fold = sequential fold for an order-insensitive reducer, under any completion order",
    [arbItems(0)],
    ([items]) =>
      Effect.gen(function*() {
        const r = yield* underTestClock(Runtime.run(FOLDS, { items }))
        const values = items.map((i) => i.value)
        expect(r.output).toEqual({
          total: values.reduce((a, b) => a + b, 0),
          top: values.reduce((a, b) => Math.max(a, b), -1)
        })
      }).pipe(Effect.provide(testLayer(tools))),
    { fastCheck: { numRuns: numRuns(50) } }
  )

  it.effect.prop(
    "race and take: the record says which finished first, and replay follows it exactly",
    [arbItems(3), fc.integer({ min: 1, max: 3 })],
    ([items, k]) =>
      Effect.gen(function*() {
        const r = yield* underTestClock(Durable.start(FAN_IN[k - 1]!, { items }, { seed: 1 }))
        const output = r.output as { first: number; firsts: ReadonlyArray<number> }
        // The winner is one of the fastest options; the k picked are k fastest items, fastest first.
        const fastest = Math.min(...items.slice(0, 3).map((i) => i.ms))
        expect(items.slice(0, 3).some((i) => i.ms === fastest && i.value === output.first)).toBe(true)
        expect(output.firsts).toHaveLength(k)
        const sorted = [...items].sort((a, b) => a.ms - b.ms)
        const kth = sorted[k - 1]!.ms
        expect(output.firsts.every((v) => items.some((i) => i.value === v && i.ms <= kth))).toBe(true)
        const replayed = yield* Durable.replay({ _tag: "Stored", runId: r.runId })
        expect(replayed.divergence).toBeUndefined()
        expect(replayed.exact).toBe(true)
        expect(replayed.output).toEqual(r.output)
      }).pipe(Effect.provide(Layer.merge(testLayer(tools), RunStore.layerMemory))),
    { fastCheck: { numRuns: numRuns(50) } }
  )
})
