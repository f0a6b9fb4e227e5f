/**
 * Patch markers: a run recorded before a program change replays exactly after the change when the change is
 * guarded by `if patched("id")`, and diverges when the same change is made without the marker; a fresh run of
 * the changed program takes the new branch and records the patch id, so its own replay and resume stay true
 * to it.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Layer, Schema } from "effect"
import { check } from "../../src/compile.js"
import { builtin, lit } from "../../src/ir/builder.js"
import { evalPure } from "../../src/ir/eval.js"
import * as Durable from "../../src/runtime/durable.js"
import { patchesOf } from "../../src/runtime/patches.js"
import { RunStore } from "../../src/runtime/runStore.js"
import * as Runtime from "../../src/runtime/runtime.js"
import { builtinTools, make, makeRegistry, ToolRegistry } from "../../src/tools/index.js"
import { EventLog, type RunEvent } from "../../src/trace/events.js"
import { compileProgram } from "../support/runtime.js"

const priced = (name: string, factor: number) =>
  make({
    name,
    description: "a price",
    input: Schema.Struct({ item: Schema.String }),
    output: Schema.Number,
    idempotent: true,
    run: ({ item }) => item.length * factor
  })
const tools = [priced("t.price", 10), priced("t.price2", 100)]

const before = compileProgram(`program main() { p = tool t.price(item: "apple") return p }`, tools)
// The change: the price doubles. Guarded, old runs keep the old computation; unguarded, they cannot replay.
const guarded = compileProgram(
  `program main() { p = tool t.price(item: "apple") return p * (1 + num(patched("v2"))) }`,
  tools
)
const unguarded = compileProgram(`program main() { p = tool t.price(item: "apple") return p * 2 }`, tools)
// A guarded step: a fresh run calls the new tool.
const stepped = compileProgram(
  `program main() {
    p = if patched("v2") { return tool t.price2(item: "apple") } else { return tool t.price(item: "apple") }
    return p
  }`,
  tools
)

const services = Layer.mergeAll(
  Runtime.layerServices,
  RunStore.layerMemory,
  Layer.succeed(ToolRegistry, Either.getOrThrow(makeRegistry([...builtinTools, ...tools])))
)

const recordRun = (program: typeof before, runId: string) =>
  Effect.gen(function*() {
    const result = yield* Runtime.run(program, {}, { runId, seed: 1 })
    const events = yield* Effect.flatMap(EventLog, (log) => log.events(result.runId))
    return { result, events }
  })

const started = (events: ReadonlyArray<RunEvent>) => {
  const first = events[0]!
  return first.type === "RunStarted" ? first.data : undefined
}

describe("patched", () => {
  it("the patch ids of a program; outside a run patched is not a constant", () => {
    expect(patchesOf(guarded)).toEqual(["v2"])
    expect(patchesOf(stepped)).toEqual(["v2"])
    expect(patchesOf(before)).toEqual([])
    const outside = evalPure(builtin("patched", lit("v2")), new Map())
    expect(Either.isLeft(outside) && outside.left.message).toBe(`patched("v2") is known only while a run executes`)
  })

  it.effect("an old run replays exactly through the guarded change; without the marker it diverges", () =>
    Effect.gen(function*() {
      const old = yield* recordRun(before, "old")
      expect(old.result).toMatchObject({ status: "completed", output: 50 })
      expect(started(old.events)?.patches).toBeUndefined()

      const same = yield* Durable.replay(
        { _tag: "Trace", events: old.events, program: guarded },
        { allowProgramChange: true }
      )
      expect(same).toMatchObject({ exact: true, status: "completed", output: 50 })

      const diverged = yield* Durable.replay(
        { _tag: "Trace", events: old.events, program: unguarded },
        { allowProgramChange: true }
      )
      expect(diverged).toMatchObject({ exact: false, output: 100 })
      expect(diverged.divergence?.expected).toContain(`"type":"RunCompleted"`)
      expect(diverged.divergence?.expected).toContain(`"output":50`)

      // Without allowProgramChange a changed program is still refused, marker or not.
      const refused = yield* Effect.flip(Durable.replay({ _tag: "Trace", events: old.events, program: guarded }))
      expect(refused.message).toContain("is not the recorded")
    }).pipe(Effect.provide(services)))

  it.effect("a fresh run takes the new branch, records its patches and replays true to them", () =>
    Effect.gen(function*() {
      const fresh = yield* recordRun(guarded, "fresh")
      expect(fresh.result).toMatchObject({ status: "completed", output: 100 })
      expect(started(fresh.events)?.patches).toEqual(["v2"])
      const again = yield* Durable.replay({ _tag: "Trace", events: fresh.events, program: guarded })
      expect(again).toMatchObject({ exact: true, output: 100 })
      const step = yield* recordRun(stepped, "step")
      expect(step.result).toMatchObject({ status: "completed", output: 500 })
      expect(step.events.some((e) => e.type === "ToolCalled" && e.data.tool === "t.price2")).toBe(true)
    }).pipe(Effect.provide(services)))

  it("a bad patch id is a typed, located diagnostic", () => {
    const source = `program main() {\n  return if patched("no spaces") { return 1 } else { return 0 }\n}`
    const [diagnostic] = check(source).diagnostics
    expect(diagnostic).toMatchObject({ code: "type-mismatch", span: { start: { line: 2, column: 21 } } })
    expect(() => compileProgram(`program main() { return if patched("no spaces") { return 1 } else { return 0 } }`))
      .toThrow(/Argument 1 of "patched" is not a patch id: "no spaces"/)
    expect(() => compileProgram(`program main(x: string) { return if patched(x) { return 1 } else { return 0 } }`))
      .toThrow(/expects a patch id written as a string literal/)
  })
})
