/**
 * What the validator is told about the world: the tools that exist, the
 * resource limits, and the source map for spans.
 */
import type { Schema } from "effect"
import type { SourceMap } from "../ir/diagnostic.js"
import type { Type } from "../ir/schema.js"
import { fieldsOfAst, typeOfAst } from "./schemaType.js"

/** One input argument of a tool. */
export interface ToolInput {
  readonly name: string
  readonly type: Type
  /** Whether the argument may be left out. */
  readonly optional: boolean
}

/** What the validator knows about a tool: its arguments, output type and idempotency. */
export interface ToolSpec {
  readonly name: string
  readonly input: ReadonlyArray<ToolInput>
  readonly output: Type
  /** Whether calling the tool twice with the same args is safe (V7 allows `retry` then). */
  readonly idempotent: boolean
  readonly description?: string
}

/** The tools a program may call, by name. */
export type ToolTable = ReadonlyMap<string, ToolSpec>

/** Static resource limits checked by V9. */
export interface ResourceLimits {
  /**
   * Total nodes of all programs of the document.
   * @default 1_000_000
   */
  readonly maxNodes: number
  /**
   * Nesting of bodies (a program's top level is depth 0, a map body in it depth 1).
   * @default 32
   */
  readonly maxDepth: number
  /**
   * Items of a map whose `over` has a statically known size (a list literal or `range` of literals).
   * @default 10_000
   */
  readonly maxFanOut: number
  /**
   * Largest `concurrency` a map may ask for; unchecked when absent.
   * @default undefined
   */
  readonly maxConcurrency?: number
}

/** The limits used when the context does not override them. */
export const defaultLimits: ResourceLimits = { maxNodes: 1_000_000, maxDepth: 32, maxFanOut: 10_000 }

/** Options of `validate`. */
export interface ValidationContext {
  /**
   * The tool table. When absent, V4 is skipped, tool outputs are typed `any`,
   * and V7 refuses `retry` on a tool step without an `idempotencyKey`.
   * @default undefined
   */
  readonly tools?: ToolTable
  /**
   * Overrides of the resource limits.
   * @default defaultLimits
   */
  readonly limits?: Partial<ResourceLimits>
  /**
   * The source map of a lowered program; violations then carry spans.
   * @default undefined
   */
  readonly sourceMap?: SourceMap
  /**
   * Validation stops after this many violations.
   * @default 100
   */
  readonly maxErrors?: number
}

/** The options of `toolSpecFromSchemas`. */
export interface ToolSchemas<I extends Schema.Schema.AnyNoContext, O extends Schema.Schema.AnyNoContext> {
  readonly name: string
  /** A struct schema of the arguments. */
  readonly input: I
  readonly output: O
  readonly idempotent: boolean
  readonly description?: string
}

/**
 * Derives a ToolSpec from effect Schemas. Arguments are the property
 * signatures of the input struct (a non-struct input declares none);
 * types are read from the encoded side, the JSON a program holds.
 */
export const toolSpecFromSchemas = <I extends Schema.Schema.AnyNoContext, O extends Schema.Schema.AnyNoContext>(
  options: ToolSchemas<I, O>
): ToolSpec => {
  const input = (fieldsOfAst(options.input.ast) ?? []).map((f) => ({
    name: f.name,
    type: f.type,
    optional: f.optional
  }))
  const spec: ToolSpec = {
    name: options.name,
    input,
    output: typeOfAst(options.output.ast),
    idempotent: options.idempotent
  }
  return options.description === undefined ? spec : { ...spec, description: options.description }
}
