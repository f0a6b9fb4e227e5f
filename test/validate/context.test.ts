import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import { toolSpecFromSchemas } from "../../src/validate/context.js"
import { typeOfAst } from "../../src/validate/schemaType.js"

const typeOf = (schema: Schema.Schema.AnyNoContext) => typeOfAst(schema.ast)

describe("toolSpecFromSchemas", () => {
  it("turns a struct input into arguments and the output into a type", () => {
    const spec = toolSpecFromSchemas({
      name: "search",
      input: Schema.Struct({
        query: Schema.String,
        k: Schema.optional(Schema.Number),
        exact: Schema.optionalWith(Schema.Boolean, { exact: true })
      }),
      output: Schema.Array(Schema.Struct({ url: Schema.String, score: Schema.Number })),
      idempotent: true,
      description: "Searches the web."
    })
    expect(spec).toEqual({
      name: "search",
      input: [
        { name: "query", type: { kind: "string" }, optional: false },
        { name: "k", type: { kind: "number" }, optional: true },
        { name: "exact", type: { kind: "boolean" }, optional: true }
      ],
      output: {
        kind: "list",
        of: {
          kind: "record",
          fields: [
            { name: "url", type: { kind: "string" } },
            { name: "score", type: { kind: "number" } }
          ]
        }
      },
      idempotent: true,
      description: "Searches the web."
    })
  })

  it("leaves description out when not given, and a non-struct input declares no arguments", () => {
    const spec = toolSpecFromSchemas({ name: "echo", input: Schema.String, output: Schema.Unknown, idempotent: false })
    expect(spec).toEqual({ name: "echo", input: [], output: { kind: "any" }, idempotent: false })
    expect("description" in spec).toBe(false)
  })

  it("reads a defaulted field through its encoded (optional) side", () => {
    const spec = toolSpecFromSchemas({
      name: "t",
      input: Schema.Struct({ n: Schema.optionalWith(Schema.Number, { default: () => 1 }) }),
      output: Schema.Null,
      idempotent: true
    })
    expect(spec.input).toEqual([{ name: "n", type: { kind: "number" }, optional: true }])
    expect(spec.output).toEqual({ kind: "null" })
  })
})

describe("typeOfAst", () => {
  it("maps primitives and literals", () => {
    expect(typeOf(Schema.String)).toEqual({ kind: "string" })
    expect(typeOf(Schema.Number)).toEqual({ kind: "number" })
    expect(typeOf(Schema.Boolean)).toEqual({ kind: "boolean" })
    expect(typeOf(Schema.Null)).toEqual({ kind: "null" })
    expect(typeOf(Schema.Literal("a"))).toEqual({ kind: "string" })
    expect(typeOf(Schema.Literal(1))).toEqual({ kind: "number" })
    expect(typeOf(Schema.Literal(true))).toEqual({ kind: "boolean" })
    expect(typeOf(Schema.Literal(null))).toEqual({ kind: "null" })
    expect(typeOf(Schema.TemplateLiteral("a-", Schema.Number))).toEqual({ kind: "string" })
  })

  it("reads refinements through the refined type and transformations through the encoded side", () => {
    expect(typeOf(Schema.Number.pipe(Schema.int(), Schema.positive()))).toEqual({ kind: "number" })
    expect(typeOf(Schema.NonEmptyString)).toEqual({ kind: "string" })
    expect(typeOf(Schema.NumberFromString)).toEqual({ kind: "string" })
    expect(typeOf(Schema.Date)).toEqual({ kind: "string" })
  })

  it("types unions: same member type stays, a mix is any", () => {
    expect(typeOf(Schema.Literal("a", "b", "c"))).toEqual({ kind: "string" })
    expect(typeOf(Schema.Union(Schema.Number, Schema.Literal(3)))).toEqual({ kind: "number" })
    expect(typeOf(Schema.Union(Schema.String, Schema.Number))).toEqual({ kind: "any" })
    expect(typeOf(Schema.NullOr(Schema.String))).toEqual({ kind: "any" })
    expect(typeOf(Schema.UndefinedOr(Schema.String))).toEqual({ kind: "string" })
  })

  it("types arrays, tuples, records and enums", () => {
    expect(typeOf(Schema.Array(Schema.String))).toEqual({ kind: "list", of: { kind: "string" } })
    expect(typeOf(Schema.NonEmptyArray(Schema.Number))).toEqual({ kind: "list", of: { kind: "number" } })
    expect(typeOf(Schema.Tuple(Schema.String, Schema.String))).toEqual({ kind: "list", of: { kind: "string" } })
    expect(typeOf(Schema.Tuple(Schema.String, Schema.Number))).toEqual({ kind: "list", of: { kind: "any" } })
    expect(typeOf(Schema.Tuple())).toEqual({ kind: "list", of: { kind: "any" } })
    expect(typeOf(Schema.Record({ key: Schema.String, value: Schema.Number }))).toEqual({ kind: "any" })
    enum Color {
      Red = "red",
      Blue = "blue"
    }
    expect(typeOf(Schema.Enums(Color))).toEqual({ kind: "string" })
  })

  it("types recursive schemas without looping, and non-JSON schemas as any", () => {
    interface Tree {
      readonly label: string
      readonly children: ReadonlyArray<Tree>
    }
    const Tree: Schema.Schema<Tree> = Schema.Struct({
      label: Schema.String,
      children: Schema.Array(Schema.suspend(() => Tree))
    })
    const t = typeOf(Tree)
    expect(t.kind).toBe("record")
    if (t.kind === "record") expect(t.fields[0]).toEqual({ name: "label", type: { kind: "string" } })
    expect(typeOf(Schema.BigIntFromSelf)).toEqual({ kind: "any" })
    expect(typeOf(Schema.Unknown)).toEqual({ kind: "any" })
    expect(typeOf(Schema.Undefined)).toEqual({ kind: "any" })
  })
})
