/**
 * The JSON Schema of the IR (`trellis schema`, `GET /v1/schema/program`),
 * derived from the Effect Schema in `schema.ts`, so that a model can be
 * asked for programs with structured output.
 */
import { JSONSchema } from "effect"
import { Program } from "./schema.js"

/** The JSON Schema dialects `programJsonSchema` can produce. */
export type JsonSchemaTarget = "jsonSchema7" | "jsonSchema2019-09" | "jsonSchema2020-12" | "openApi3.1"

/** Options of `programJsonSchema`. */
export interface JsonSchemaOptions {
  /** The dialect. @default "jsonSchema2020-12" */
  readonly target?: JsonSchemaTarget
}

/**
 * The JSON Schema of a `trellis/1` program document. The root is the
 * Program object schema itself (not a `$ref`, which some structured-output
 * APIs refuse); recursive parts (Expr, Node, Body, Type, …) live in `$defs`
 * and are referenced as `#/$defs/Name`.
 */
export const programJsonSchema = (options: JsonSchemaOptions = {}): JSONSchema.JsonSchema7Root => {
  const made = JSONSchema.make(Program, { target: options.target ?? "jsonSchema2020-12" })
  const { Program: root, ...defs } = made.$defs ?? {}
  if (root === undefined) return made
  const header = made.$schema === undefined ? {} : { $schema: made.$schema }
  return { ...header, ...root, $defs: defs } as JSONSchema.JsonSchema7Root
}
