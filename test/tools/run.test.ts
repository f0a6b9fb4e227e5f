/** The `run` handler shape of `Tool.make`: types from the Schemas, the derived Effect handler, configuration errors. */
import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import { Effect, Exit, Schema } from "effect"
import { invoke, make, makeContext, Transient } from "../../src/tools/index.js"

const Input = Schema.Struct({ query: Schema.String, k: Schema.optional(Schema.Number) })

describe("Tool.make with run", () => {
  it("types run's args from the input Schema and its result from the output Schema", () => {
    const tool = make({
      name: "t.typed",
      description: "",
      input: Input,
      output: Schema.Number,
      run: async (args) => {
        expectTypeOf(args).toEqualTypeOf<{ readonly query: string; readonly k?: number }>()
        return args.query.length
      }
    })
    expectTypeOf(tool.input.Type).toEqualTypeOf<{ readonly query: string; readonly k?: number }>()
    make({
      name: "t.wrong",
      description: "",
      input: Input,
      output: Schema.Number,
      // @ts-expect-error run returns a string where the output Schema says number
      run: async (args) => args.query
    })
    expect(tool.run).toBeTypeOf("function")
  })

  it.effect("the derived Effect handler serves invoke: values, Promises, typed failures, Defects", () =>
    Effect.gen(function*() {
      const sync = make({
        name: "t.sync",
        description: "",
        input: Input,
        output: Schema.Number,
        run: (a) => a.query.length
      })
      const later = make({
        name: "t.later",
        description: "",
        input: Input,
        output: Schema.Number,
        run: async (a) => a.k ?? 0
      })
      const transient = make({
        name: "t.transient",
        description: "",
        input: Input,
        output: Schema.Number,
        run: () => Promise.reject(new Transient({ message: "busy" }))
      })
      const broken = make({
        name: "t.broken",
        description: "",
        input: Input,
        output: Schema.Number,
        run: (): number => {
          throw new TypeError("oops")
        }
      })
      expect(yield* invoke(sync, { query: "abc" })).toBe(3)
      expect(yield* invoke(later, { query: "abc", k: 4 })).toBe(4)
      const t = yield* Effect.exit(invoke(transient, { query: "" }))
      expect(Exit.isFailure(t) && t.cause._tag === "Fail" && t.cause.error).toMatchObject({
        _tag: "Transient",
        message: "busy"
      })
      const b = yield* Effect.exit(invoke(broken, { query: "" }))
      expect(Exit.isFailure(b) && b.cause._tag === "Fail" && b.cause.error).toMatchObject({
        _tag: "Defect",
        message: `tool "t.broken" threw: oops`
      })
    }))

  it("emitNow records through emit", () => {
    const seen: Array<string> = []
    const ctx = makeContext({ emit: (c) => Effect.sync(() => seen.push(c)) })
    ctx.emitNow("a")
    expect(seen).toEqual(["a"])
  })

  it("refuses both handler and run, or neither", () => {
    const base = { name: "t.x", description: "", input: Input, output: Schema.Number }
    expect(() => make({ ...base, handler: () => Effect.succeed(1), run: () => 1 } as never)).toThrow(/not both/)
    expect(() => make(base as never)).toThrow(/give a handler or a run function/)
  })
})
