/** What programs compute: expr, map, branch, call, choose, builtins' runtime errors, inputs, llm without a layer. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Schema } from "effect"
import * as Runtime from "../../src/runtime/runtime.js"
import type { RunError } from "../../src/runtime/runtime.js"
import { make } from "../../src/tools/index.js"
import type { AnyTool } from "../../src/tools/index.js"
import { compileProgram, eventsOf, idOf, testLayer } from "../support/runtime.js"

const runSource = (source: string, inputs: Record<string, unknown> = {}, options: Runtime.RunOptions = {}) =>
  Runtime.run(compileProgram(source), inputs as never, options).pipe(Effect.provide(testLayer()))

const failureOf = <A>(exit: Exit.Exit<A, RunError>): RunError => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const e = exit.cause
  if (e._tag !== "Fail") throw new Error(`expected a Fail cause, got ${e._tag}`)
  return e.error
}

describe("expressions and data flow", () => {
  it.effect("computes a DAG of expr and tool nodes, statement order irrelevant", () =>
    Effect.gen(function*() {
      const r = yield* runSource(`
        program main(x: number = 2) {
          c = b * 10
          b = tool std.echo(value: a + 1)
          a = x * x
          return { a: a, b: b, c: c }
        }`)
      expect(r.status).toBe("completed")
      expect(r.output).toEqual({ a: 4, b: 5, c: 50 })
    }))

  it.effect("inputs override defaults; defaults apply when absent", () =>
    Effect.gen(function*() {
      const src = `program main(x: number, y: string = "d") { return concat(str(x), y) }`
      expect((yield* runSource(src, { x: 1 })).output).toBe("1d")
      expect((yield* runSource(src, { x: 2, y: "!" })).output).toBe("2!")
    }))

  it.effect("missing, unknown and mistyped inputs are InvalidInput, before any event", () =>
    Effect.gen(function*() {
      const src = `program main(x: number, tags: string[] = []) { return x }`
      const missing = failureOf(yield* Effect.exit(runSource(src, {})))
      expect(missing.kind).toBe("InvalidInput")
      expect(missing.message).toContain(`missing input "x"`)
      const unknown = failureOf(yield* Effect.exit(runSource(src, { x: 1, z: 2 })))
      expect(unknown.message).toContain(`unknown input "z"`)
      const typed = failureOf(yield* Effect.exit(runSource(src, { x: "1", tags: [1] })))
      expect(typed.message).toContain(`input "x" of program "main" must be a number, got string`)
      expect(typed.message).toContain(`input "tags" of program "main"[0] must be a string, got number`)
    }))

  it.effect("a builtin's runtime type error is a Permanent failure of that node, not a crash", () =>
    Effect.gen(function*() {
      const program = compileProgram(`
        program main(x: any = "abc") {
          n = tool std.echo(value: x)
          bad = sum(n)
          return bad
        }`)
      const exit = yield* Effect.exit(Runtime.run(program, {}, { runId: "r-bad" }).pipe(Effect.provide(testLayer())))
      const error = failureOf(exit)
      expect(error.kind).toBe("Permanent")
      expect(error.node).toBe(idOf(program, "bad"))
      expect(error.message).toBe("sum() expects a list of numbers, got string")
    }))

  it.effect("division by zero inside a map body fails the item's node with its path", () =>
    Effect.gen(function*() {
      const program = compileProgram(`
        program main(xs: number[] = [1, 0, 2]) {
          out = map x in xs {
            q = tool std.echo(value: 10 / x)
            return q
          }
          return out
        }`)
      const error = failureOf(yield* Effect.exit(Runtime.run(program, {}).pipe(Effect.provide(testLayer()))))
      expect(error.kind).toBe("Permanent")
      expect(error.message).toContain("Division by zero")
      expect(error.node).toBe(`${idOf(program, "out")}/1/${idOf(program, "q")}`)
    }))
})

describe("map", () => {
  it.effect("maps in item order, with outer refs visible in the body", () =>
    Effect.gen(function*() {
      const r = yield* runSource(`
        program main(xs: number[] = [3, 1, 2], k: number = 100) {
          ys = map x in xs with { concurrency: 2 } {
            y = tool std.echo(value: x + k)
            return y * 2
          }
          return ys
        }`)
      expect(r.output).toEqual([206, 202, 204])
    }))

  it.effect("an empty list maps to an empty list; a non-list is a Permanent failure", () =>
    Effect.gen(function*() {
      const src = `program main(xs: any) { ys = map x in xs { return x } return ys }`
      expect((yield* runSource(src, { xs: [] })).output).toEqual([])
      const error = failureOf(yield* Effect.exit(runSource(src, { xs: 5 })))
      expect(error.kind).toBe("Permanent")
      expect(error.message).toBe("map expects a list to map over, got number")
    }))

  it.effect("nested maps", () =>
    Effect.gen(function*() {
      const r = yield* runSource(`
        program main(m: number[][] = [[1, 2], [3]]) {
          out = map row in m {
            inner = map v in row { e = tool std.echo(value: v * v) return e }
            return sum(inner)
          }
          return out
        }`)
      expect(r.output).toEqual([5, 9])
    }))
})

describe("branch", () => {
  it.effect("runs only the taken side; else-less if yields null", () =>
    Effect.gen(function*() {
      const program = compileProgram(`
        program main(x: number) {
          a = if x > 0 { p = tool std.echo(value: "pos") return p } else { n = tool std.echo(value: "neg") return n }
          b = if x > 100 { return "big" }
          return { a: a, b: b }
        }`)
      const r = yield* Runtime.run(program, { x: 5 }, { runId: "br" }).pipe(Effect.provide(testLayer()))
      expect(r.output).toEqual({ a: "pos", b: null })
    }))

  it.effect("a non-boolean condition is a Permanent failure", () =>
    Effect.gen(function*() {
      const error = failureOf(
        yield* Effect.exit(runSource(`program main(x: any = 1) { a = if x { return 1 } return a }`))
      )
      expect(error.kind).toBe("Permanent")
      expect(error.message).toBe("if expects a boolean condition, got number")
    }))
})

describe("call", () => {
  it.effect("runs the callee with its defaults, isolated from the caller's names", () =>
    Effect.gen(function*() {
      const r = yield* runSource(`
        program helper(v: string, suffix: string = "!") {
          up = tool std.echo(value: upper(v))
          return concat(up, suffix)
        }
        program main(words: string[] = ["a", "b"]) {
          out = map w in words { r = run helper(v: w) return r }
          return out
        }`)
      expect(r.output).toEqual(["A!", "B!"])
    }))

  it.effect("the examples/call.tr program computes its summary", () =>
    Effect.gen(function*() {
      const fs = yield* Effect.promise(() => import("node:fs"))
      const r = yield* runSource(fs.readFileSync("examples/call.tr", "utf8"))
      expect(r.output).toEqual({
        cleaned: ["hello world", "trellis"],
        summary: { count: 2, longest: 11, total: 18 }
      })
    }))
})

describe("choose", () => {
  const src = `
    program main(q: string = "x") {
      r = choose "style" {
        short: { return "S" }
        long: { t = tool std.echo(value: concat("L:", q)) return t }
      }
      return r
    }`

  it.effect("runs one option and records ChoiceMade with its propensity and policy", () =>
    Effect.gen(function*() {
      const r = yield* Runtime.run(compileProgram(src), {}, { runId: "c1", seed: 7 })
      expect(["S", "L:x"]).toContain(r.output)
      const choice = (yield* eventsOf("c1")).find((e) => e.type === "ChoiceMade")
      expect(choice?.type).toBe("ChoiceMade")
      if (choice?.type !== "ChoiceMade") return
      expect(choice.data.key).toBe("style")
      expect(choice.data.policy).toBe("epsilon-greedy(0.1)")
      expect(choice.data.version).toBe(0)
      expect(choice.data.propensity).toBeGreaterThan(0)
      expect(choice.data.propensity).toBeLessThanOrEqual(1)
      expect(r.output).toBe(choice.data.option === "short" ? "S" : "L:x")
    }).pipe(Effect.provide(testLayer())))

  it.effect("seeded runs choose reproducibly; feedback updates the policy version", () =>
    Effect.gen(function*() {
      const program = compileProgram(src)
      const pick = (runId: string, seed: number) =>
        Effect.gen(function*() {
          yield* Runtime.run(program, {}, { runId, seed, defaultStrategy: { kind: "thompson" } })
          const e = (yield* eventsOf(runId)).find((x) => x.type === "ChoiceMade")
          return e?.type === "ChoiceMade" ? e.data.option : undefined
        })
      const first = yield* Effect.forEach([1, 2, 3, 4, 5, 6], (s) => pick(`a${s}`, s))
      const again = yield* Effect.forEach([1, 2, 3, 4, 5, 6], (s) => pick(`b${s}`, s))
      expect(again).toEqual(first)
      expect(yield* Runtime.feedback("a1", "style", 1)).toBe(1)
      yield* Runtime.run(program, {}, { runId: "after", seed: 1 })
      const after = (yield* eventsOf("after")).find((x) => x.type === "ChoiceMade")
      expect(after?.type === "ChoiceMade" ? after.data.version : -1).toBe(1)
      const missing = yield* Effect.flip(Runtime.feedback("a1", "nope", 1))
      expect(missing._tag === "RunError" ? missing.kind : missing._tag).toBe("InvalidInput")
    }).pipe(Effect.provide(testLayer())))
})

describe("llm steps", () => {
  it.effect("fail with a clear Permanent error when no LLM layer is provided", () =>
    Effect.gen(function*() {
      const error = failureOf(
        yield* Effect.exit(runSource(`
        signature S { input q: string output a: string }
        program main() { x = llm S(q: "hi") return x.a }`))
      )
      expect(error.kind).toBe("Permanent")
      expect(error.message).toBe("llm steps need the LLM layer (issue 6)")
    }))

  it.effect("are served by an LlmRunner when one is provided", () =>
    Effect.gen(function*() {
      const r = yield* runSource(`
        signature S { input q: string output a: string }
        program main() { x = llm S(q: "hi") return x.a }`).pipe(
        Effect.provide(Runtime.LlmRunner.layer({ run: (req) => Effect.succeed({ a: `echo ${req.args.q as string}` }) }))
      )
      expect(r.output).toBe("echo hi")
    }))
})

describe("tools", () => {
  const thrower: AnyTool = make({
    name: "t.throw",
    description: "throws",
    input: Schema.Struct({}),
    output: Schema.Null,
    handler: () => {
      throw new Error("boom")
    }
  }) as unknown as AnyTool

  it.effect("a handler that throws is a Defect of its node; unknown args are Permanent with Schema's message", () =>
    Effect.gen(function*() {
      const program = compileProgram(`program main() { x = tool t.throw() return x }`, [thrower])
      const error = failureOf(yield* Effect.exit(Runtime.run(program, {}).pipe(Effect.provide(testLayer([thrower])))))
      expect(error.kind).toBe("Defect")
      expect(error.message).toBe(`tool "t.throw" threw: boom`)
      const bad = failureOf(
        yield* Effect.exit(runSource(`program main(v: any = {"a": 1}) { x = tool std.sleep(ms: v) return x }`))
      )
      expect(bad.kind).toBe("Permanent")
      expect(bad.message).toContain("Expected number")
    }))
})
