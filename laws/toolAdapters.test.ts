/**
 * Tool adapter laws (SPEC §9): calls and definitions round-trip through the
 * OpenAI- and Anthropic-style payloads, and the name mapping is a bijection
 * on legal tool names.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Schema } from "effect"
import * as fc from "fast-check"
import type { JsonRecord } from "../src/ir/eval.js"
import {
  configProblems,
  decodeArgs,
  fromAnthropicTool,
  fromAnthropicToolUse,
  fromOpenAITool,
  fromOpenAIToolCall,
  fromProviderName,
  make,
  toAnthropicTool,
  toAnthropicToolUse,
  toOpenAITool,
  toOpenAIToolCall,
  toProviderName
} from "../src/tools/index.js"
import type { ToolCall, ToolDefinition } from "../src/tools/index.js"
import { LAW_CASES, numRuns } from "./settings.js"

const segmentChar = fc.constantFrom(..."abcXYZ019-_")
const segment = fc.stringOf(segmentChar, { minLength: 1, maxLength: 8 }).filter((s) => /^[A-Za-z_]/.test(s))
/** Legal tool names: dotted segments that Tool.make accepts. */
const arbName = fc
  .array(segment, { minLength: 1, maxLength: 4 })
  .map((parts) => parts.join("."))
  .filter((name) => configProblems({ name }).length === 0)

/** JSON objects as JSON text can hold them (read back from their text, so no `-0`). */
const arbArgs: fc.Arbitrary<JsonRecord> = fc
  .dictionary(fc.string(), fc.jsonValue())
  .map((value) => JSON.parse(JSON.stringify(value)) as JsonRecord)

const arbCall: fc.Arbitrary<ToolCall> = fc.record({ id: fc.string(), name: arbName, args: arbArgs })

const arbDefinition: fc.Arbitrary<ToolDefinition> = fc.record({
  name: arbName,
  description: fc.string(),
  parameters: arbArgs
})

describe("tool adapter laws", () => {
  it("names: from(to(n)) = n, and the provider name is legal for providers", () => {
    fc.assert(
      fc.property(arbName, (name) => {
        const provider = toProviderName(name)
        expect(provider).toMatch(/^[A-Za-z0-9_-]{1,64}$/)
        expect(fromProviderName(provider)).toBe(name)
      }),
      { numRuns: numRuns(LAW_CASES) }
    )
  })

  it("OpenAI calls: call → payload → call is the identity (also through JSON text)", () => {
    fc.assert(
      fc.property(arbCall, (call) => {
        expect(fromOpenAIToolCall(toOpenAIToolCall(call))).toEqual(Either.right(call))
        expect(fromOpenAIToolCall(JSON.parse(JSON.stringify(toOpenAIToolCall(call))))).toEqual(Either.right(call))
      }),
      { numRuns: numRuns(LAW_CASES) }
    )
  })

  it("Anthropic calls: call → tool_use → call is the identity (also through JSON text)", () => {
    fc.assert(
      fc.property(arbCall, (call) => {
        expect(fromAnthropicToolUse(toAnthropicToolUse(call))).toEqual(Either.right(call))
        expect(fromAnthropicToolUse(JSON.parse(JSON.stringify(toAnthropicToolUse(call))))).toEqual(Either.right(call))
      }),
      { numRuns: numRuns(LAW_CASES) }
    )
  })

  it("definitions round-trip through both styles", () => {
    fc.assert(
      fc.property(arbDefinition, (definition) => {
        expect(fromOpenAITool(toOpenAITool(definition))).toEqual(Either.right(definition))
        expect(fromAnthropicTool(toAnthropicTool(definition))).toEqual(Either.right(definition))
        expect(fromOpenAITool(JSON.parse(JSON.stringify(toOpenAITool(definition))))).toEqual(Either.right(definition))
      }),
      { numRuns: numRuns(LAW_CASES) }
    )
  })

  it("a call read back from a payload decodes exactly as the original args do", () => {
    const tool = make({
      name: "law.tool",
      description: "",
      input: Schema.Struct({ q: Schema.String, k: Schema.optional(Schema.Int) }),
      output: Schema.Null,
      handler: () => Effect.succeed(null)
    })
    const arbMaybeValid: fc.Arbitrary<JsonRecord> = fc.oneof(
      fc.record({ q: fc.string(), k: fc.integer() }, { requiredKeys: ["q"] }),
      arbArgs
    )
    fc.assert(
      fc.property(fc.string(), arbMaybeValid, (id, args) => {
        const call: ToolCall = { id, name: tool.name, args }
        const back = Either.getOrThrow(fromOpenAIToolCall(toOpenAIToolCall(call)))
        const direct = Effect.runSync(Effect.either(decodeArgs(tool, args)))
        expect(Effect.runSync(Effect.either(decodeArgs(tool, back.args)))).toEqual(direct)
      }),
      { numRuns: numRuns(LAW_CASES) }
    )
  })
})
