/**
 * JSON Schema export of tools: what a model (or another system) is shown
 * about a tool's arguments and output.
 */
import { JSONSchema, Schema } from "effect"
import type { SchemaAST } from "effect"
import type { JsonRecord } from "../ir/eval.js"
import type { Tool } from "./tool.js"

/** A tool described in JSON Schema (draft-07, without the `$schema` header). */
export interface ToolJsonSchema {
  readonly name: string
  readonly description: string
  /** JSON Schema of the arguments (an object schema; `additionalProperties: false` as decoding rejects unknown fields). */
  readonly parameters: JsonRecord
  /** JSON Schema of the output. */
  readonly output: JsonRecord
}

const cache = new WeakMap<SchemaAST.AST, JsonRecord>()

/**
 * The JSON Schema (draft-07) of a Schema AST as a plain JSON object: no
 * `$schema` header, and a top-level `$ref` (a schema with an identifier)
 * inlined, since tool-calling APIs want an object schema at the root.
 */
export const jsonSchemaOf = (ast: SchemaAST.AST): JsonRecord => {
  const cached = cache.get(ast)
  if (cached !== undefined) return cached
  const { $schema: _header, ...made } = JSONSchema.make(Schema.make(ast)) as unknown as Record<string, unknown>
  let root: Record<string, unknown> = made
  const ref = made["$ref"]
  const defs = made["$defs"]
  if (typeof ref === "string" && ref.startsWith("#/$defs/") && typeof defs === "object" && defs !== null) {
    const name = ref.slice("#/$defs/".length)
    const { [name]: target, ...rest } = defs as Record<string, unknown>
    // Keep the definition when something else still refers to it (a recursive schema).
    const stillUsed = JSON.stringify(rest).includes(`"${ref}"`) || JSON.stringify(target).includes(`"${ref}"`)
    if (typeof target === "object" && target !== null && !stillUsed) {
      root = Object.keys(rest).length === 0 ? { ...target } : { ...target, $defs: rest }
    }
  }
  const json = JSON.parse(JSON.stringify(root)) as JsonRecord
  cache.set(ast, json)
  return json
}

/** A tool's name, description, and the JSON Schemas of its arguments and output. */
export const toolJsonSchema = <I, O, R>(tool: Tool<I, O, R>): ToolJsonSchema => ({
  name: tool.name,
  description: tool.description,
  parameters: jsonSchemaOf(tool.input.ast),
  output: jsonSchemaOf(tool.output.ast)
})
