import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Either, Schema } from "effect"
import * as fc from "fast-check"
import { plainGuard } from "../../src/tools/plainGuard.js"

const plain = [
  Schema.Struct({ deps: Schema.Array(Schema.Unknown) }),
  Schema.Struct({ a: Schema.String, b: Schema.optional(Schema.Number), c: Schema.Boolean }),
  Schema.Struct({ kind: Schema.Literal("x", "y"), tags: Schema.Array(Schema.String), n: Schema.NullOr(Schema.Number) }),
  Schema.Record({ key: Schema.String, value: Schema.Number }),
  Schema.Tuple(Schema.String, Schema.Number),
  Schema.Union(Schema.Struct({ a: Schema.String }), Schema.Array(Schema.Number)),
  Schema.Struct({ nested: Schema.Struct({ deep: Schema.Array(Schema.Struct({ v: Schema.Unknown })) }) })
] as const

const values = fc.oneof(
  fc.anything({ maxDepth: 3 }),
  fc.record({ deps: fc.array(fc.anything({ maxDepth: 1 })) }),
  fc.record({ a: fc.string(), b: fc.oneof(fc.integer(), fc.constant(undefined)), c: fc.boolean() }, {
    requiredKeys: ["a", "c"]
  }),
  fc.record({ a: fc.string(), extra: fc.integer() })
)

describe("plainGuard", () => {
  it("refuses schemas with transformations, refinements or classes", () => {
    expect(plainGuard(Schema.NumberFromString.ast)).toBeUndefined()
    expect(plainGuard(Schema.Int.ast)).toBeUndefined()
    expect(plainGuard(Schema.Struct({ d: Schema.Date }).ast)).toBeUndefined()
    class C extends Schema.Class<C>("C")({ a: Schema.String }) {}
    expect(plainGuard(C.ast)).toBeUndefined()
  })

  it("leaves an own __proto__ key to Schema (which drops it), so the fast path stays the identity", () => {
    const record = Schema.Record({ key: Schema.String, value: Schema.Number })
    const guard = plainGuard(record.ast)!
    const u = JSON.parse("{\"__proto__\": 0, \"a\": 1}") as unknown
    expect(guard(u)).toBe(false)
    expect(guard({ a: 1 })).toBe(true)
  })

  plain.forEach((schema, i) => {
    const guard = plainGuard(schema.ast)!
    const decode = Schema.decodeUnknownEither(schema as Schema.Schema<unknown>, {
      onExcessProperty: "error",
      errors: "all"
    })
    const encode = Schema.encodeUnknownEither(schema as Schema.Schema<unknown>, { errors: "all" })
    it(`schema ${i}: accepts exactly what Schema decodes, and decoding what it accepts is the identity`, () => {
      expect(guard).toBeDefined()
      fc.assert(
        fc.property(fc.oneof(values, Arbitrary.make(schema as Schema.Schema<unknown>)), (u) => {
          const d = decode(u)
          // The guard accepts only what Schema decodes; it may leave to Schema what Schema changes while decoding
          // (an own `__proto__` key, which Schema drops), and otherwise accepts exactly what Schema decodes.
          if (guard(u)) expect(Either.isRight(d)).toBe(true)
          else if (Either.isRight(d)) expect(Either.getOrThrow(d)).not.toStrictEqual(u)
          if (guard(u)) {
            expect(Either.getOrThrow(d)).toStrictEqual(u)
            expect(Either.getOrThrow(encode(u))).toStrictEqual(u)
          }
        }),
        { numRuns: 500 }
      )
    })
  })
})
