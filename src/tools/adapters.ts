/**
 * Adapters between Trellis tools and model providers' tool-calling
 * payloads: OpenAI-style function definitions and `tool_calls`, and
 * Anthropic-style tool definitions and `tool_use` blocks.
 *
 * Tool names: providers accept only `[A-Za-z0-9_-]{1,64}`, so a dotted name
 * is sent with each `.` replaced by `__` (`audit.log` → `audit__log`) and
 * mapped back on the way in. `Tool.make` refuses names containing `__`, `._`
 * or `_.`, which makes the mapping a bijection on tool names.
 */
import { Either, ParseResult, Schema } from "effect"
import { isRecord } from "../ir/eval.js"
import type { JsonRecord } from "../ir/eval.js"
import { toolJsonSchema } from "./jsonSchema.js"
import { isTool, toJson } from "./tool.js"
import type { UnknownTool } from "./tool.js"

/** A provider payload could not be read. */
export class ToolAdapterError extends Schema.TaggedError<ToolAdapterError>()("ToolAdapterError", {
  message: Schema.String
}) {}

/** A provider-neutral tool definition. */
export interface ToolDefinition {
  readonly name: string
  readonly description: string
  /** JSON Schema of the arguments (an object schema). */
  readonly parameters: JsonRecord
}

/** A provider-neutral tool call: which tool, with which arguments, under the provider's call id. */
export interface ToolCall {
  readonly id: string
  readonly name: string
  readonly args: JsonRecord
}

/** An OpenAI-style tool definition. */
export interface OpenAIToolDefinition {
  readonly type: "function"
  readonly function: { readonly name: string; readonly description: string; readonly parameters: JsonRecord }
}

/** An OpenAI-style tool call (an entry of `message.tool_calls`); `arguments` is a JSON text. */
export interface OpenAIToolCall {
  readonly id: string
  readonly type: "function"
  readonly function: { readonly name: string; readonly arguments: string }
}

/** An Anthropic-style tool definition. */
export interface AnthropicToolDefinition {
  readonly name: string
  readonly description: string
  readonly input_schema: JsonRecord
}

/** An Anthropic-style `tool_use` content block. */
export interface AnthropicToolUse {
  readonly type: "tool_use"
  readonly id: string
  readonly name: string
  readonly input: JsonRecord
}

/** A tool name as providers accept it: `.` becomes `__`. */
export const toProviderName = (name: string): string => name.replaceAll(".", "__")

/** A provider's tool name back to the Trellis name: `__` becomes `.`. */
export const fromProviderName = (name: string): string => name.replaceAll("__", ".")

/** The neutral definition of a tool (from its JSON Schema export). */
export const toolDefinition = (tool: UnknownTool): ToolDefinition => {
  const { description, name, parameters } = toolJsonSchema(tool)
  return { name, description, parameters }
}

const definitionOf = (d: ToolDefinition | UnknownTool): ToolDefinition => (isTool(d) ? toolDefinition(d) : d)

const EMPTY_OBJECT_SCHEMA: JsonRecord = { type: "object", properties: {} }

// Objects are checked by `jsonObject`, not copied by Schema (a copy could mishandle a "__proto__" key).
const JsonObject = Schema.Unknown

const OpenAIToolDefinitionSchema = Schema.Struct({
  type: Schema.Literal("function"),
  function: Schema.Struct({
    name: Schema.String,
    description: Schema.optional(Schema.String),
    parameters: Schema.optional(JsonObject)
  })
})

const OpenAIToolCallSchema = Schema.Struct({
  id: Schema.String,
  type: Schema.Literal("function"),
  function: Schema.Struct({ name: Schema.String, arguments: Schema.String })
})

const AnthropicToolDefinitionSchema = Schema.Struct({
  name: Schema.String,
  description: Schema.optional(Schema.String),
  input_schema: JsonObject
})

const AnthropicToolUseSchema = Schema.Struct({
  type: Schema.Literal("tool_use"),
  id: Schema.String,
  name: Schema.String,
  input: JsonObject
})

const decode = <A, I>(schema: Schema.Schema<A, I>, what: string, u: unknown): Either.Either<A, ToolAdapterError> =>
  Either.mapLeft(
    Schema.decodeUnknownEither(schema)(u),
    (e) => new ToolAdapterError({ message: `invalid ${what}: ${ParseResult.TreeFormatter.formatErrorSync(e)}` })
  )

const jsonObject = (u: unknown, what: string): Either.Either<JsonRecord, ToolAdapterError> =>
  Either.flatMap(
    Either.mapLeft(toJson(u), (why) => new ToolAdapterError({ message: `${what}: ${why}` })),
    (json) =>
      isRecord(json)
        ? Either.right(json)
        : Either.left(new ToolAdapterError({ message: `${what} is not a JSON object` }))
  )

/** An OpenAI-style definition of a tool (or a neutral definition). */
export const toOpenAITool = (tool: ToolDefinition | UnknownTool): OpenAIToolDefinition => {
  const d = definitionOf(tool)
  return {
    type: "function",
    function: { name: toProviderName(d.name), description: d.description, parameters: d.parameters }
  }
}

/** Reads an OpenAI-style definition; a missing description is `""`, missing parameters an empty object schema. */
export const fromOpenAITool = (payload: unknown): Either.Either<ToolDefinition, ToolAdapterError> =>
  Either.flatMap(decode(OpenAIToolDefinitionSchema, "OpenAI tool definition", payload), ({ function: f }) =>
    Either.map(
      f.parameters === undefined ? Either.right(EMPTY_OBJECT_SCHEMA) : jsonObject(f.parameters, "function.parameters"),
      (parameters) => ({ name: fromProviderName(f.name), description: f.description ?? "", parameters })
    ))

/** An OpenAI-style tool call of a neutral call (`arguments` is the JSON text of the args). */
export const toOpenAIToolCall = (call: ToolCall): OpenAIToolCall => ({
  id: call.id,
  type: "function",
  function: { name: toProviderName(call.name), arguments: JSON.stringify(call.args) }
})

/** Reads an OpenAI-style tool call; `arguments` must be the JSON text of an object (`""` counts as `{}`). */
export const fromOpenAIToolCall = (payload: unknown): Either.Either<ToolCall, ToolAdapterError> =>
  Either.flatMap(decode(OpenAIToolCallSchema, "OpenAI tool call", payload), ({ function: f, id }) => {
    let parsed: unknown
    try {
      parsed = f.arguments.trim() === "" ? {} : JSON.parse(f.arguments)
    } catch (e) {
      return Either.left(
        new ToolAdapterError({
          message: `function.arguments of tool call "${id}" is not valid JSON: ${
            e instanceof Error ? e.message : String(e)
          }`
        })
      )
    }
    return Either.map(jsonObject(parsed, `function.arguments of tool call "${id}"`), (args) => ({
      id,
      name: fromProviderName(f.name),
      args
    }))
  })

/** An Anthropic-style definition of a tool (or a neutral definition). */
export const toAnthropicTool = (tool: ToolDefinition | UnknownTool): AnthropicToolDefinition => {
  const d = definitionOf(tool)
  return { name: toProviderName(d.name), description: d.description, input_schema: d.parameters }
}

/** Reads an Anthropic-style definition; a missing description is `""`. */
export const fromAnthropicTool = (payload: unknown): Either.Either<ToolDefinition, ToolAdapterError> =>
  Either.flatMap(
    decode(AnthropicToolDefinitionSchema, "Anthropic tool definition", payload),
    (d) =>
      Either.map(jsonObject(d.input_schema, "input_schema"), (parameters) => ({
        name: fromProviderName(d.name),
        description: d.description ?? "",
        parameters
      }))
  )

/** An Anthropic-style `tool_use` block of a neutral call. */
export const toAnthropicToolUse = (call: ToolCall): AnthropicToolUse => ({
  type: "tool_use",
  id: call.id,
  name: toProviderName(call.name),
  input: call.args
})

/** Reads an Anthropic-style `tool_use` block. */
export const fromAnthropicToolUse = (payload: unknown): Either.Either<ToolCall, ToolAdapterError> =>
  Either.flatMap(
    decode(AnthropicToolUseSchema, "Anthropic tool_use block", payload),
    (block) =>
      Either.map(jsonObject(block.input, `input of tool_use "${block.id}"`), (args) => ({
        id: block.id,
        name: fromProviderName(block.name),
        args
      }))
  )
