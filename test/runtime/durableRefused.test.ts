/**
 * Issue 14, finding 5 (second half): when the store refuses a run's events
 * for good (a data exception), the run ends `failed` with a clear
 * `StoreUnavailable` error instead of staying `running` forever; a
 * transient failure still leaves it resumable (`running`).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { compile } from "../../src/compile.js"
import type { Program } from "../../src/ir/schema.js"
import * as Durable from "../../src/runtime/durable.js"
import { RunStore } from "../../src/runtime/runStore.js"
import { layerServices } from "../../src/runtime/runtime.js"
import { ToolRegistry } from "../../src/tools/registry.js"
import { StoreError } from "../../src/trace/errors.js"
import { EventSink } from "../../src/trace/events.js"

const program = compile(`program main() { x = tool std.echo(value: "v") return x }`).program as Program

const refusing = (permanent: boolean) =>
  Layer.succeed(EventSink, {
    append: () =>
      Effect.fail(
        new StoreError({
          operation: "append events",
          message: "unsupported Unicode escape sequence",
          ...(permanent ? { permanent } : {})
        })
      )
  })

const layer = (permanent: boolean) =>
  Layer.mergeAll(refusing(permanent), RunStore.layerMemory, ToolRegistry.layerBuiltins).pipe(
    Layer.provideMerge(layerServices)
  )

describe("a run whose events the store refuses", () => {
  it.effect("for good: ends failed with StoreUnavailable, naming the refusal", () =>
    Effect.gen(function*() {
      yield* Effect.exit(Durable.start(program, {}, { runId: "r-perm" }))
      const record = Option.getOrThrow(yield* Effect.flatMap(RunStore, (s) => s.get("r-perm")))
      expect(record.status).toBe("failed")
      expect(record.error?.kind).toBe("StoreUnavailable")
      expect(record.error?.message).toMatch(/could not be recorded: unsupported Unicode escape sequence/)
    }).pipe(Effect.provide(layer(true))))

  it.effect("transiently: stays running, to be resumed", () =>
    Effect.gen(function*() {
      yield* Effect.exit(Durable.start(program, {}, { runId: "r-trans" }))
      const record = Option.getOrThrow(yield* Effect.flatMap(RunStore, (s) => s.get("r-trans")))
      expect(record.status).toBe("running")
    }).pipe(Effect.provide(layer(false))))
})
