/** Tool.make, argument decoding, output encoding, JSON Schema export and the error taxonomy. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Exit, Schema } from "effect"
import { expectTypeOf } from "vitest"
import {
  decodeArgs,
  DEFAULT_RETRY_ON,
  encodeOutput,
  errorKind,
  fromKind,
  invoke,
  isTool,
  isToolError,
  make,
  makeContext,
  Permanent,
  RateLimited,
  toJson,
  ToolError,
  toolJsonSchema,
  Transient
} from "../../src/tools/index.js"

const Doc = Schema.Struct({ id: Schema.String, score: Schema.Number }).annotations({ identifier: "Doc" })

const search = make({
  name: "docs.search",
  description: "Searches the docs.",
  input: Schema.Struct({
    query: Schema.String.annotations({ description: "what to look for" }),
    k: Schema.optional(Schema.NumberFromString)
  }),
  output: Schema.Array(Doc),
  handler: (args) => Effect.succeed([{ id: `${args.query}:${args.k ?? 10}`, score: 1 }])
})

const decode = (u: unknown) => Effect.runSync(Effect.either(decodeArgs(search, u)))

describe("Tool.make", () => {
  it("applies the documented defaults", () => {
    expect(search.version).toBe("1")
    expect(search.idempotent).toBe(false)
    expect(search.retryable).toBe(false)
    expect(search.limits).toEqual({})
    expect(search.batch).toBeUndefined()
    expect(search.batchHandler).toBeUndefined()
    expect(isTool(search)).toBe(true)
    expect(isTool({ ...search })).toBe(true)
    expect(isTool({ name: "x", handler: () => Effect.void })).toBe(false)
  })

  it("derives the validator's spec from the Schemas", () => {
    expect(search.spec).toEqual({
      name: "docs.search",
      description: "Searches the docs.",
      idempotent: false,
      input: [
        { name: "query", type: { kind: "string" }, optional: false },
        { name: "k", type: { kind: "string" }, optional: true }
      ],
      output: {
        kind: "list",
        of: {
          kind: "record",
          fields: [
            { name: "id", type: { kind: "string" } },
            { name: "score", type: { kind: "number" } }
          ]
        }
      }
    })
  })

  it("refuses invalid names, limits and batch settings with every problem listed", () => {
    const base = {
      description: "",
      input: Schema.Struct({}),
      output: Schema.Null,
      handler: () => Effect.succeed(null)
    }
    expect(() => make({ ...base, name: "bad name" })).toThrow(
      "Tool.make: invalid tool name \"bad name\": use letters, digits, \"_\" and \"-\" in dot-separated segments"
    )
    expect(() => make({ ...base, name: "a__b" })).toThrow("\"__\", \"._\" and \"_.\" are reserved")
    expect(() => make({ ...base, name: "a_.b" })).toThrow("\"__\", \"._\" and \"_.\" are reserved")
    expect(() => make({ ...base, name: "a".repeat(65) })).toThrow("longer than 64 characters")
    expect(() =>
      make({
        ...base,
        name: "ok",
        limits: { rate: { perSecond: 0, burst: 1 }, concurrency: 1.5, timeout: "soon" },
        batch: { size: 0, window: "1 s" }
      })
    ).toThrow(
      "Tool.make: limits.rate: perSecond and burst must be positive numbers; limits.concurrency must be a positive integer; limits.timeout: invalid duration \"soon\"; batch.size must be a positive integer; batch.window: invalid duration \"1 s\""
    )
  })

  it("derives a batch handler from the handler when only `batch` is given", async () => {
    const double = make({
      name: "double",
      description: "",
      input: Schema.Struct({ n: Schema.Number }),
      output: Schema.Number,
      batch: { size: 3, window: "10ms" },
      handler: (args) => Effect.succeed(args.n * 2)
    })
    expect(double.batch).toEqual({ size: 3, window: "10ms" })
    const out = await Effect.runPromise(double.batchHandler!([{ n: 1 }, { n: 2 }, { n: 3 }], makeContext()))
    expect(out).toEqual([2, 4, 6])
  })
})

describe("type inference", () => {
  it("a handler's argument and output types come from the Schemas; wrong ones do not compile", () => {
    const typed = make({
      name: "typed",
      description: "",
      input: Schema.Struct({ query: Schema.String, k: Schema.optional(Schema.NumberFromString) }),
      output: Schema.Number,
      handler: (args) => {
        expectTypeOf(args).toEqualTypeOf<{ readonly query: string; readonly k?: number }>()
        return Effect.succeed(args.query.length)
      }
    })
    expectTypeOf(typed.input.Type).toEqualTypeOf<{ readonly query: string; readonly k?: number }>()
    expectTypeOf(decodeArgs(typed, {})).toEqualTypeOf<
      Effect.Effect<{ readonly query: string; readonly k?: number }, Permanent>
    >()
    make({
      name: "wrong",
      description: "",
      input: Schema.Struct({ a: Schema.String }),
      output: Schema.Number,
      // @ts-expect-error the handler returns a string where the output Schema says number
      handler: (args) => Effect.succeed(args.a)
    })
    make({
      name: "wrong2",
      description: "",
      input: Schema.Struct({ a: Schema.String }),
      output: Schema.String,
      // @ts-expect-error `b` is not an argument
      handler: (args) => Effect.succeed(args.b)
    })
    expect(typed.name).toBe("typed")
  })
})

describe("decodeArgs", () => {
  it("decodes and coerces where the Schema says so", () => {
    expect(decode({ query: "q", k: "3" })).toEqual(Either.right({ query: "q", k: 3 }))
    expect(decode({ query: "q" })).toEqual(Either.right({ query: "q" }))
  })

  it("rejects unknown fields with the Schema's own message", () => {
    expect(decode({ query: "q", extra: 1 })).toEqual(
      Either.left(
        new Permanent({
          message:
            "{ readonly query: string; readonly k?: NumberFromString }\n└─ [\"extra\"]\n   └─ is unexpected, expected: \"query\" | \"k\""
        })
      )
    )
  })

  it("reports every problem at once", () => {
    expect(decode({ k: "x" })).toEqual(
      Either.left(
        new Permanent({
          message: [
            "{ readonly query: string; readonly k?: NumberFromString }",
            "├─ [\"query\"]",
            "│  └─ is missing",
            "└─ [\"k\"]",
            "   └─ NumberFromString",
            "      └─ Transformation process failure",
            "         └─ Unable to decode \"x\" into a number"
          ].join("\n")
        })
      )
    )
    expect(decode(null)).toEqual(
      Either.left(
        new Permanent({ message: "Expected { readonly query: string; readonly k?: NumberFromString }, actual null" })
      )
    )
  })
})

describe("encodeOutput", () => {
  it("encodes with the output Schema into JSON", () => {
    const dated = make({
      name: "clock.now",
      description: "",
      input: Schema.Struct({}),
      output: Schema.Struct({ at: Schema.Date, note: Schema.optional(Schema.String) }),
      handler: () => Effect.succeed({ at: new Date(0) })
    })
    expect(Effect.runSync(encodeOutput(dated, { at: new Date(0) }))).toEqual({ at: "1970-01-01T00:00:00.000Z" })
    expect(Effect.runSync(encodeOutput(dated, { at: new Date(0), note: undefined } as never))).toEqual({
      at: "1970-01-01T00:00:00.000Z"
    })
  })

  it("fails Permanent when the output breaks the Schema or is not JSON", () => {
    const loose = make({
      name: "loose",
      description: "",
      input: Schema.Struct({}),
      output: Schema.Unknown,
      handler: () => Effect.succeed(Number.NaN)
    })
    expect(Effect.runSync(Effect.either(encodeOutput(loose, Number.NaN)))).toEqual(
      Either.left(new Permanent({ message: "output of tool \"loose\" is not JSON: value is NaN, not a JSON number" }))
    )
    expect(Effect.runSync(Effect.either(encodeOutput(loose, { a: [1, new Map()] })))).toEqual(
      Either.left(new Permanent({ message: "output of tool \"loose\" is not JSON: value.a[1] is not a plain object" }))
    )
    const bad = Effect.runSync(Effect.either(encodeOutput(search, [{ id: 1 }] as never)))
    expect(
      Either.isLeft(bad) && bad.left.message.startsWith("output of tool \"docs.search\" does not match its schema:")
    ).toBe(
      true
    )
  })

  it("toJson keeps the value when nothing needs dropping and rejects cycles", () => {
    const value = { a: [1, "x", null, { b: true }] }
    expect(toJson(value)).toEqual(Either.right(value))
    expect(Either.getOrThrow(toJson(value))).toBe(value)
    const cyclic: Record<string, unknown> = {}
    cyclic["self"] = cyclic
    expect(toJson(cyclic)).toEqual(Either.left("value.self is a cycle"))
    const shared = { x: 1 }
    expect(toJson([shared, shared])).toEqual(Either.right([{ x: 1 }, { x: 1 }]))
  })
})

describe("invoke", () => {
  it("decodes, handles and encodes", () => {
    expect(Effect.runSync(invoke(search, { query: "q", k: "2" }))).toEqual([{ id: "q:2", score: 1 }])
  })

  it("passes the context to the handler", () => {
    const who = make({
      name: "who",
      description: "",
      input: Schema.Struct({}),
      output: Schema.String,
      handler: (_, ctx) => Effect.succeed(`${ctx.idempotencyKey}#${ctx.attempt}`)
    })
    expect(Effect.runSync(invoke(who, {}, makeContext({ idempotencyKey: "k", attempt: 3 })))).toBe("k#3")
  })
})

describe("toolJsonSchema", () => {
  it("exports the arguments and output as draft-07 JSON Schema without a header", () => {
    expect(toolJsonSchema(search)).toEqual({
      name: "docs.search",
      description: "Searches the docs.",
      parameters: {
        $defs: { NumberFromString: { type: "string", description: "a string to be decoded into a number" } },
        type: "object",
        required: ["query"],
        properties: {
          query: { type: "string", description: "what to look for" },
          k: { $ref: "#/$defs/NumberFromString" }
        },
        additionalProperties: false
      },
      output: {
        $defs: {
          Doc: {
            type: "object",
            required: ["id", "score"],
            properties: { id: { type: "string" }, score: { type: "number" } },
            additionalProperties: false
          }
        },
        type: "array",
        items: { $ref: "#/$defs/Doc" }
      }
    })
  })

  it("inlines a top-level $ref so the root is an object schema", () => {
    const tool = make({
      name: "one",
      description: "d",
      input: Schema.Struct({ q: Schema.String }).annotations({ identifier: "Args" }),
      output: Doc,
      handler: () => Effect.succeed({ id: "", score: 0 })
    })
    const schema = toolJsonSchema(tool)
    expect(schema.parameters).toEqual({
      type: "object",
      required: ["q"],
      properties: { q: { type: "string" } },
      additionalProperties: false
    })
    expect(schema.output["type"]).toBe("object")
  })
})

describe("error taxonomy", () => {
  it("kinds, defaults and constructors agree", () => {
    expect(DEFAULT_RETRY_ON).toEqual(["Timeout", "RateLimited", "Transient"])
    for (
      const kind of [
        "Timeout",
        "RateLimited",
        "Transient",
        "Permanent",
        "Cancelled",
        "BudgetExceeded",
        "Defect"
      ] as const
    ) {
      const e = fromKind(kind, "m")
      expect(errorKind(e)).toBe(kind)
      expect(e.message).toBe("m")
      expect(isToolError(e)).toBe(true)
    }
    expect(fromKind("RateLimited", "slow", 250)).toEqual(new RateLimited({ message: "slow", retryAfterMs: 250 }))
    expect(isToolError(new Error("x"))).toBe(false)
    expect(isToolError({ _tag: "Other", message: "x" })).toBe(false)
  })

  it("errors encode to JSON and decode back (they cross the wire and traces)", () => {
    const e = new RateLimited({ message: "slow down", retryAfterMs: 1000 })
    const json = Schema.encodeSync(ToolError)(e)
    expect(json).toEqual({ _tag: "RateLimited", message: "slow down", retryAfterMs: 1000 })
    expect(Schema.decodeUnknownSync(ToolError)(JSON.parse(JSON.stringify(json)))).toEqual(e)
    expect(Schema.decodeUnknownSync(ToolError)({ _tag: "Transient", message: "t" })).toEqual(
      new Transient({ message: "t" })
    )
  })

  it("a handler's failure keeps its kind through invoke", () => {
    const flaky = make({
      name: "flaky",
      description: "",
      input: Schema.Struct({}),
      output: Schema.Null,
      handler: () => Effect.fail(new Transient({ message: "try later" }))
    })
    expect(Effect.runSyncExit(invoke(flaky, {}))).toEqual(Exit.fail(new Transient({ message: "try later" })))
  })
})
