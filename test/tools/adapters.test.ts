/** OpenAI- and Anthropic-style adapters: definitions, calls, and their errors. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Schema } from "effect"
import {
  fromAnthropicTool,
  fromAnthropicToolUse,
  fromOpenAITool,
  fromOpenAIToolCall,
  fromProviderName,
  make,
  toAnthropicTool,
  toAnthropicToolUse,
  ToolAdapterError,
  toolDefinition,
  toOpenAITool,
  toOpenAIToolCall,
  toProviderName
} from "../../src/tools/index.js"

const audit = make({
  name: "audit.log",
  description: "Writes an audit entry.",
  input: Schema.Struct({ entry: Schema.String }),
  output: Schema.Null,
  handler: () => Effect.succeed(null)
})

const parameters = {
  type: "object",
  required: ["entry"],
  properties: { entry: { type: "string" } },
  additionalProperties: false
}

describe("names", () => {
  it("maps dots to double underscores and back", () => {
    expect(toProviderName("audit.log")).toBe("audit__log")
    expect(toProviderName("a.b-c.d_e")).toBe("a__b-c__d_e")
    expect(fromProviderName("a__b-c__d_e")).toBe("a.b-c.d_e")
    expect(fromProviderName("plain_name")).toBe("plain_name")
  })
})

describe("OpenAI style", () => {
  it("exports a tool as a function definition", () => {
    expect(toOpenAITool(audit)).toEqual({
      type: "function",
      function: { name: "audit__log", description: "Writes an audit entry.", parameters }
    })
    expect(fromOpenAITool(toOpenAITool(audit))).toEqual(Either.right(toolDefinition(audit)))
  })

  it("reads definitions with defaults for the optional fields, ignoring extra ones", () => {
    expect(fromOpenAITool({ type: "function", function: { name: "ping", strict: true } })).toEqual(
      Either.right({ name: "ping", description: "", parameters: { type: "object", properties: {} } })
    )
  })

  it("converts tool calls; arguments are a JSON text", () => {
    const call = { id: "call_1", name: "audit.log", args: { entry: "x" } }
    const payload = toOpenAIToolCall(call)
    expect(payload).toEqual({
      id: "call_1",
      type: "function",
      function: { name: "audit__log", arguments: "{\"entry\":\"x\"}" }
    })
    expect(fromOpenAIToolCall(payload)).toEqual(Either.right(call))
    expect(fromOpenAIToolCall({ id: "c", type: "function", function: { name: "n", arguments: "" } })).toEqual(
      Either.right({ id: "c", name: "n", args: {} })
    )
  })

  it("reports malformed payloads", () => {
    expect(fromOpenAIToolCall({ id: "c", type: "function", function: { name: "n", arguments: "{oops" } })).toEqual(
      Either.left(
        new ToolAdapterError({
          message: `function.arguments of tool call "c" is not valid JSON: ${
            (() => {
              try {
                JSON.parse("{oops")
              } catch (e) {
                return (e as Error).message
              }
              return ""
            })()
          }`
        })
      )
    )
    expect(fromOpenAIToolCall({ id: "c", type: "function", function: { name: "n", arguments: "[1]" } })).toEqual(
      Either.left(new ToolAdapterError({ message: "function.arguments of tool call \"c\" is not a JSON object" }))
    )
    const wrongType = fromOpenAIToolCall({ id: "c", type: "custom", function: { name: "n", arguments: "{}" } })
    expect(Either.isLeft(wrongType) && wrongType.left.message.startsWith("invalid OpenAI tool call:")).toBe(true)
    const noName = fromOpenAITool({ type: "function", function: {} })
    expect(Either.isLeft(noName) && noName.left.message).toContain("[\"name\"]")
  })
})

describe("own `__proto__` keys survive both styles", () => {
  it("is kept as data, not a prototype", () => {
    const args = JSON.parse("{\"__proto__\": {\"x\": 1}, \"a\": 2}") as Record<string, never>
    const call = { id: "p", name: "n", args }
    const openai = Either.getOrThrow(fromOpenAIToolCall(JSON.parse(JSON.stringify(toOpenAIToolCall(call)))))
    const anthropic = Either.getOrThrow(fromAnthropicToolUse(toAnthropicToolUse(call)))
    for (const back of [openai, anthropic]) {
      expect(Object.keys(back.args)).toEqual(["__proto__", "a"])
      expect(Object.getPrototypeOf(back.args)).toBe(Object.prototype)
    }
  })
})

describe("Anthropic style", () => {
  it("exports a tool as { name, description, input_schema }", () => {
    expect(toAnthropicTool(audit)).toEqual({
      name: "audit__log",
      description: "Writes an audit entry.",
      input_schema: parameters
    })
    expect(fromAnthropicTool(toAnthropicTool(audit))).toEqual(Either.right(toolDefinition(audit)))
  })

  it("converts tool_use blocks", () => {
    const call = { id: "toolu_1", name: "audit.log", args: { entry: "x", n: [1, null] } }
    const block = toAnthropicToolUse(call)
    expect(block).toEqual({ type: "tool_use", id: "toolu_1", name: "audit__log", input: { entry: "x", n: [1, null] } })
    expect(fromAnthropicToolUse(block)).toEqual(Either.right(call))
  })

  it("reports malformed payloads", () => {
    expect(fromAnthropicToolUse({ type: "tool_use", id: "t", name: "n", input: "x" })).toEqual(
      Either.left(new ToolAdapterError({ message: "input of tool_use \"t\" is not a JSON object" }))
    )
    const wrongType = fromAnthropicToolUse({ type: "text", id: "t", name: "n", input: {} })
    expect(Either.isLeft(wrongType) && wrongType.left.message.startsWith("invalid Anthropic tool_use block:")).toBe(
      true
    )
    expect(fromAnthropicTool({ name: "n", input_schema: { a: Number.POSITIVE_INFINITY } })).toEqual(
      Either.left(new ToolAdapterError({ message: "input_schema: value.a is Infinity, not a JSON number" }))
    )
  })
})
