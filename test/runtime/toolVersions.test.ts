/**
 * Runs pinned to tool versions: a run records the version of each tool it calls; replaying it after a tool's
 * major version changed (or a non-semantic version changed at all) is refused naming the tool and both
 * versions, unless allowed; a compatible change (minor, patch) replays as before.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Layer, Schema } from "effect"
import * as Durable from "../../src/runtime/durable.js"
import { RunStore } from "../../src/runtime/runStore.js"
import * as Runtime from "../../src/runtime/runtime.js"
import { incompatible } from "../../src/runtime/toolVersions.js"
import { builtinTools, make, makeRegistry, ToolRegistry } from "../../src/tools/index.js"
import { EventLog } from "../../src/trace/events.js"
import { compileProgram } from "../support/runtime.js"

const versioned = (version: string) =>
  make({
    name: "t.price",
    description: "a price",
    input: Schema.Struct({ item: Schema.String }),
    output: Schema.Number,
    idempotent: true,
    version,
    run: ({ item }) => item.length * 10
  })

const program = compileProgram(`program main() { p = tool t.price(item: "apple") return p }`, [versioned("1.0.0")])

const withTool = (version: string) =>
  Layer.mergeAll(
    Runtime.layerServices,
    RunStore.layerMemory,
    Layer.succeed(ToolRegistry, Either.getOrThrow(makeRegistry([...builtinTools, versioned(version)])))
  )

describe("tool versions", () => {
  it("incompatible: a different major version, or any change of a version that is not semantic", () => {
    expect(incompatible("1.2.0", "1.3.5")).toBe(false)
    expect(incompatible("v1", "1.9")).toBe(false)
    expect(incompatible("1.2.0", "2.0.0")).toBe(true)
    expect(incompatible("1", "2")).toBe(true)
    expect(incompatible("blue", "blue")).toBe(false)
    expect(incompatible("blue", "green")).toBe(true)
  })

  it.effect("a run records its tools' versions; replay refuses an incompatible change unless allowed", () =>
    Effect.gen(function*() {
      const recorded = yield* Effect.gen(function*() {
        const result = yield* Runtime.run(program, {}, { runId: "priced", seed: 1 })
        return yield* Effect.flatMap(EventLog, (log) => log.events(result.runId))
      }).pipe(Effect.provide(withTool("1.0.0")))
      const started = recorded[0]!
      expect(started.type === "RunStarted" && started.data.toolVersions).toEqual({ "t.price": "1.0.0" })
      const source = { _tag: "Trace", events: recorded, program } as const

      const minor = yield* Durable.replay(source).pipe(Effect.provide(withTool("1.4.2")))
      expect(minor.exact).toBe(true)

      const refused = yield* Effect.flip(Durable.replay(source).pipe(Effect.provide(withTool("2.0.0"))))
      expect(refused.kind).toBe("InvalidProgram")
      expect(refused.message).toBe(
        `run priced was recorded with tool "t.price" version 1.0.0, which is now 2.0.0 — an incompatible change ` +
          `(the major version differs); allow it to go on (--allow-version-change, or allowVersionChange: true)`
      )
      const allowed = yield* Durable.replay(source, { allowVersionChange: true }).pipe(
        Effect.provide(withTool("2.0.0"))
      )
      expect(allowed.exact).toBe(true)
    }))
})
