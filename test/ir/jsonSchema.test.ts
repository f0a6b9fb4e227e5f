/** The IR's JSON Schema is self-consistent and agrees with the Effect Schema. */
import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import * as fc from "fast-check"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { arbMutatedJson, arbProgram, arbSchemaProgram } from "../../laws/arbitrary.js"
import { programJsonSchema } from "../../src/ir/jsonSchema.js"
import { Program } from "../../src/ir/schema.js"
import { compileSource } from "../../src/language/index.js"

type JsonSchema = { readonly [k: string]: unknown }

const KNOWN_KEYWORDS = new Set([
  "$schema",
  "$defs",
  "$ref",
  "type",
  "required",
  "properties",
  "additionalProperties",
  "enum",
  "items",
  "anyOf",
  "title",
  "description"
])

const typeOf = (v: unknown): string =>
  v === null
    ? "null"
    : Array.isArray(v)
    ? "array"
    : typeof v === "number"
    ? (Number.isInteger(v) ? "integer" : "number")
    : typeof v

/**
 * A minimal JSON Schema checker for the keywords the IR's schema uses;
 * returns the JSON Pointers of the values that fail. Throws on a keyword it
 * does not know, so the checker cannot silently accept.
 */
const check = (root: JsonSchema, schema: JsonSchema, value: unknown, at = ""): Array<string> => {
  for (const k of Object.keys(schema)) if (!KNOWN_KEYWORDS.has(k)) throw new Error(`unsupported keyword ${k} at ${at}`)
  if (typeof schema["$ref"] === "string") {
    const name = (schema["$ref"] as string).replace(/^#\/\$defs\//, "")
    const target = (root["$defs"] as Record<string, JsonSchema>)[name]
    if (target === undefined) throw new Error(`dangling $ref ${String(schema["$ref"])}`)
    return check(root, target, value, at)
  }
  if (Array.isArray(schema["anyOf"])) {
    const branches = schema["anyOf"] as Array<JsonSchema>
    // A branch whose `kind` is an enum without the value's kind fails anyway: not checked (node kinds nest deeply).
    const kind = typeof value === "object" && value !== null ? (value as { readonly kind?: unknown }).kind : undefined
    const may = (b: JsonSchema) => {
      const kinds = kindsOf(root, b)
      return kinds === undefined || kind === undefined || kinds.includes(kind)
    }
    return branches.some((b) => may(b) && check(root, b, value, at).length === 0) ? [] : [at]
  }
  let errors: Array<string> = []
  const type = schema["type"]
  if (type !== undefined) {
    const actual = typeOf(value)
    const ok = actual === type || (type === "number" && actual === "integer")
    if (!ok) return [at]
  }
  if (Array.isArray(schema["enum"]) && !(schema["enum"] as Array<unknown>).includes(value)) return [at]
  if (type === "object") {
    const obj = value as Record<string, unknown>
    for (const r of (schema["required"] as Array<string> | undefined) ?? []) if (!(r in obj)) errors.push(`${at}/${r}`)
    const props = (schema["properties"] as Record<string, JsonSchema> | undefined) ?? {}
    const extra = schema["additionalProperties"]
    for (const [k, v] of Object.entries(obj)) {
      if (props[k] !== undefined) errors = errors.concat(check(root, props[k], v, `${at}/${k}`))
      else if (extra === false) errors.push(`${at}/${k}`)
      else if (typeof extra === "object" && extra !== null) {
        errors = errors.concat(check(root, extra as JsonSchema, v, `${at}/${k}`))
      }
    }
  }
  if (type === "array" && schema["items"] !== undefined) {
    ;(value as Array<unknown>).forEach((v, i) =>
      errors = errors.concat(check(root, schema["items"] as JsonSchema, v, `${at}/${i}`))
    )
  }
  return errors
}

/** The `kind` values a schema (through its `$ref`) allows, when it says them with an enum. */
const kindsOf = (root: JsonSchema, schema: JsonSchema): ReadonlyArray<unknown> | undefined => {
  const target = typeof schema["$ref"] === "string"
    ? (root["$defs"] as Record<string, JsonSchema>)[(schema["$ref"] as string).replace(/^#\/\$defs\//, "")]
    : schema
  const kind = (target?.["properties"] as Record<string, JsonSchema> | undefined)?.["kind"]
  return Array.isArray(kind?.["enum"]) ? kind["enum"] as ReadonlyArray<unknown> : undefined
}

const schema = programJsonSchema() as unknown as JsonSchema
const validJson = (v: unknown) => check(schema, schema, v)
const isExact = Schema.is(Program, { onExcessProperty: "error" })

describe("programJsonSchema", () => {
  it("has a Program object at the root and resolvable, used $defs", () => {
    expect(schema["type"]).toBe("object")
    expect(schema["required"]).toEqual(["ir", "entry", "programs", "signatures"])
    expect(schema["$schema"]).toBe("https://json-schema.org/draft/2020-12/schema")
    const defs = schema["$defs"] as Record<string, unknown>
    const refs = new Set<string>()
    JSON.stringify(schema, (k, v: unknown) => {
      if (k === "$ref") refs.add(v as string)
      return v
    })
    for (const r of refs) expect(Object.keys(defs)).toContain(r.replace("#/$defs/", ""))
    expect([...refs].map((r) => r.replace("#/$defs/", "")).sort()).toEqual(Object.keys(defs).sort())
    expect(Object.keys(defs)).toEqual(expect.arrayContaining(["Expr", "Node", "Body", "Type", "Policy"]))
  })

  it("accepts generated programs", () => {
    fc.assert(fc.property(arbProgram, (p) => validJson(p).length === 0), { numRuns: 200 })
    fc.assert(fc.property(arbSchemaProgram, (p) => validJson(p).length === 0), { numRuns: 200 })
  })

  it("accepts the lowered examples", () => {
    const dir = join(import.meta.dirname, "../../examples")
    const files = readdirSync(dir).filter((f) => f.endsWith(".tr"))
    expect(files.length).toBeGreaterThan(0)
    for (const f of files) {
      const r = compileSource(readFileSync(join(dir, f), "utf8"))
      expect(r.program, f).toBeDefined()
      expect(validJson(r.program), f).toEqual([])
    }
  })

  it("rejects what the Effect Schema rejects, and only that", () => {
    fc.assert(
      fc.property(arbMutatedJson(arbProgram), (m) => {
        expect(validJson(m).length === 0).toBe(isExact(m))
      }),
      { numRuns: 500 }
    )
  })

  it("reports where a program breaks the schema", () => {
    const bad = {
      ir: "trellis/1",
      entry: "main",
      programs: {
        main: {
          params: [],
          nodes: [{ id: "a", kind: "tool", tool: "t", args: {}, retries: 2 }],
          result: { kind: "nope" }
        }
      },
      signatures: {}
    }
    expect(validJson(bad)).toEqual(["/programs/main/nodes/0", "/programs/main/result"])
  })
})
