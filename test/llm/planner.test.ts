/** The planner with a scripted model: invalid then valid; never valid → last violations; model failures are typed. */
import { describe, expect, it } from "@effect/vitest"
import type { Layer } from "effect"
import { Effect, Either } from "effect"
import { check } from "../../src/compile.js"
import { plan, PlanError } from "../../src/llm/planner.js"
import { LlmError } from "../../src/llm/service.js"
import { makeRegistry } from "../../src/tools/index.js"
import { builtinTools } from "../../src/tools/index.js"
import { INVALID_PROGRAM, VALID_PROGRAM } from "../support/llmPlanner.js"
import { failingThen, makeFake } from "../support/llmSteps.js"

const tools = Either.getOrThrow(makeRegistry(builtinTools)).table
const TASK = "Greet someone loudly."

const planWith = (router: Layer.Layer<import("../../src/llm/service.js").LlmRouter>, rounds?: number) =>
  plan(TASK, { model: "fake/planner", tools, ...(rounds === undefined ? {} : { rounds }) }).pipe(Effect.provide(router))

describe("the planner", () => {
  it.effect("feeds the violations of an invalid first answer back and returns the valid second one", () =>
    Effect.gen(function*() {
      const fake = makeFake([INVALID_PROGRAM, VALID_PROGRAM])
      const result = yield* planWith(fake.layer)
      if (result._tag !== "Planned") throw new Error(`expected a program, got ${JSON.stringify(result)}`)
      expect(result.rounds).toBe(2)
      // The program passes check, and its DSL text checks to the same hash.
      const again = check(result.source, { tools })
      expect(again.diagnostics).toEqual([])
      expect(again.hash).toBe(result.hash)
      expect(result.source).toContain("std.echo")
      // Structured output was asked for, the task was the user message, and the feedback named the violations.
      expect(fake.calls).toHaveLength(2)
      expect(fake.calls[0]!.json).toBe(true)
      expect(fake.calls[0]!.messages.map((m) => m.role)).toEqual(["system", "user"])
      expect(fake.calls[0]!.messages[0]!.text).toContain("- std.echo(value: any)")
      expect(fake.calls[0]!.messages[1]!.text).toBe(TASK)
      const feedback = fake.calls[1]!.messages
      expect(feedback.map((m) => m.role)).toEqual(["system", "user", "assistant", "user"])
      expect(feedback[2]!.text).toBe(INVALID_PROGRAM)
      expect(feedback[3]!.text).toContain("unknown-tool")
      expect(feedback[3]!.text).toContain("unbound-ref")
    }))

  it.effect("returns the last violations when the model never fixes the program (bounded rounds)", () =>
    Effect.gen(function*() {
      const fake = makeFake([INVALID_PROGRAM])
      const result = yield* planWith(fake.layer)
      expect(result._tag).toBe("Invalid")
      if (result._tag !== "Invalid") return
      expect(result.rounds).toBe(3)
      expect(fake.calls).toHaveLength(3)
      expect(result.violations.map((v) => v.code).sort()).toEqual(["unbound-ref", "unknown-tool"])
      expect(result.answer).toBe(INVALID_PROGRAM)
    }))

  it.effect("an answer that is not JSON is a bad-json violation; --rounds 1 asks once", () =>
    Effect.gen(function*() {
      const fake = makeFake(["Sure! Here is your program: ..."])
      const result = yield* planWith(fake.layer, 1)
      expect(fake.calls).toHaveLength(1)
      expect(result._tag === "Invalid" && result.violations.map((v) => v.code)).toEqual(["bad-json"])
    }))

  it.effect("refuses bad options and reports model failures as typed PlanErrors", () =>
    Effect.gen(function*() {
      const fake = makeFake([VALID_PROGRAM])
      const rounds = yield* Effect.flip(planWith(fake.layer, 0))
      expect(rounds).toBeInstanceOf(PlanError)
      expect(rounds).toMatchObject({ reason: "BadOptions" })
      const down = failingThen(
        [new LlmError({ reason: "UnknownModel", message: `no provider serves "fake/planner"` })],
        fake
      )
      const e = yield* Effect.flip(planWith(down.layer))
      expect(e).toMatchObject({
        reason: "Model",
        llmReason: "UnknownModel",
        message: `no provider serves "fake/planner"`
      })
      expect(fake.calls).toHaveLength(0)
    }))
})
