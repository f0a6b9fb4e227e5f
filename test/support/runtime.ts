/** Shared helpers of the runtime tests: compile DSL with a tool table, a test layer, instrumented tools. */
import { Effect, Either, Fiber, Layer, Schema, TestClock } from "effect"
import { check } from "../../src/compile.js"
import type { Program } from "../../src/ir/schema.js"
import * as Runtime from "../../src/runtime/runtime.js"
import { builtinTools, make, makeRegistry, ToolRegistry } from "../../src/tools/index.js"
import type { AnyTool } from "../../src/tools/index.js"
import { EventLog } from "../../src/trace/events.js"
import type { RunEvent } from "../../src/trace/events.js"

/** Compiles DSL text against the built-ins plus `tools`, normalized; throws on diagnostics. */
export const compileProgram = (source: string, tools: ReadonlyArray<AnyTool> = []): Program => {
  const table = Either.getOrThrow(makeRegistry([...builtinTools, ...tools])).table
  const checked = check(source, { tools: table })
  if (checked.diagnostics.length > 0 || checked.normalized === undefined) {
    throw new Error(checked.diagnostics.map((d) => `${d.code}: ${d.message}`).join("\n"))
  }
  return checked.normalized
}

/** Every run service in memory, with the built-ins plus `tools` (registered as given). */
export const testLayer = (tools: ReadonlyArray<AnyTool> = []) =>
  Layer.merge(
    Runtime.layerServices,
    Layer.succeed(ToolRegistry, Either.getOrThrow(makeRegistry([...builtinTools, ...tools])))
  )

/** The canonical id of the node the user named `label`. */
export const idOf = (program: Program, label: string): string => {
  const found = Object.entries(program.labels ?? {}).find(([, name]) => name === label)
  if (found === undefined) throw new Error(`no node labelled ${label}`)
  return found[0]
}

/** The recorded events of a run. */
export const eventsOf = (runId: string): Effect.Effect<ReadonlyArray<RunEvent>, never, EventLog> =>
  Effect.orDie(Effect.flatMap(EventLog, (log) => log.events(runId)))

/** A tool that sleeps `ms` on the Clock and returns `value`, counting calls in flight. */
export const makeProbe = (name = "t.work") => {
  const stats = { active: 0, max: 0, calls: 0, finalized: 0 }
  const tool = make({
    name,
    description: "Sleeps ms on the Clock, then returns value; records concurrency.",
    input: Schema.Struct({ ms: Schema.Number, value: Schema.Unknown }),
    output: Schema.Unknown,
    idempotent: true,
    handler: (args) =>
      Effect.acquireUseRelease(
        Effect.sync(() => {
          stats.calls++
          stats.active++
          stats.max = Math.max(stats.max, stats.active)
        }),
        () => Effect.as(Effect.sleep(`${args.ms} millis`), args.value),
        () =>
          Effect.sync(() => {
            stats.active--
            stats.finalized++
          })
      )
  })
  return { tool: tool as unknown as AnyTool, stats }
}

/** Lets every ready fiber run (the runtime's own fibers are not supervised by TestClock). */
export const settle = Effect.repeatN(Effect.yieldNow(), 20)

/**
 * Advances the TestClock 1 ms at a time until `fiber` is done (at most
 * `limitMs`); returns the Clock time (ms since start) at which it was done.
 */
export const advanceUntilDone = <A, E>(fiber: Fiber.Fiber<A, E>, limitMs: number, stepMs = 1) =>
  Effect.gen(function*() {
    yield* settle
    let t = 0
    while ((yield* Fiber.poll(fiber))._tag === "None") {
      if (t >= limitMs) return -1
      yield* TestClock.adjust(`${stepMs} millis`)
      t += stepMs
      yield* settle
    }
    return t
  })
