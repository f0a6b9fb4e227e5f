/** Signatures compile to a prompt, an output Schema and its JSON Schema; replies decode with it. */
import { describe, expect, it } from "@effect/vitest"
import type { Signature } from "../../src/ir/schema.js"
import { compileSignature, decodeReply, decodeValue, outputJsonSchema } from "../../src/llm/signature.js"

const answer: Signature = {
  doc: "Answer the question using only the given context.",
  inputs: [
    { name: "question", type: { kind: "string" } },
    { name: "context", type: { kind: "list", of: { kind: "string" } } }
  ],
  outputs: [
    { name: "text", type: { kind: "string" } },
    { name: "confidence", type: { kind: "number" }, doc: "0..1, how sure the answer is" },
    { name: "tags", type: { kind: "list", of: { kind: "record", fields: [{ name: "k", type: { kind: "string" } }] } } }
  ]
}

describe("signature compilation", () => {
  it("puts instructions and output fields in the system message, labelled inputs in the user message", () => {
    const c = compileSignature("Answer", answer, { question: "Why?", context: ["a", "b"] })
    expect(c.messages).toEqual([
      {
        role: "system",
        content: [
          "Answer the question using only the given context.",
          "",
          "Reply with one JSON object, and nothing else, with these fields:",
          "- text (string)",
          "- confidence (number): 0..1, how sure the answer is",
          "- tags ({ k: string }[])"
        ].join("\n")
      },
      { role: "user", content: `question (string): Why?\ncontext (string[]): ["a","b"]` }
    ])
  })

  it("uses default instructions when the signature has none", () => {
    const c = compileSignature("S", { inputs: [], outputs: [{ name: "a", type: { kind: "any" } }] }, {})
    expect(c.messages[0]!.content.startsWith("Produce the outputs from the inputs.")).toBe(true)
  })

  it("hashes the canonical prompt: same prompt same hash, other arguments another", () => {
    const a = compileSignature("Answer", answer, { question: "Why?", context: ["a"] })
    const b = compileSignature("Answer", answer, { context: ["a"], question: "Why?" })
    const c = compileSignature("Answer", answer, { question: "Why not?", context: ["a"] })
    expect(a.promptHash).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(b.promptHash).toBe(a.promptHash)
    expect(c.promptHash).not.toBe(a.promptHash)
  })

  it("exports the outputs' JSON Schema: every field required, types and descriptions", () => {
    const js = outputJsonSchema(answer) as unknown as Record<string, unknown>
    expect(js.type).toBe("object")
    expect(js.required).toEqual(["text", "confidence", "tags"])
    const props = js.properties as Record<string, Record<string, unknown>>
    expect(props.text).toEqual({ type: "string" })
    expect(props.confidence).toEqual({ type: "number", description: "0..1, how sure the answer is" })
    expect((props.tags!.items as Record<string, unknown>).required).toEqual(["k"])
  })
})

describe("decoding replies", () => {
  const c = compileSignature("Answer", answer, { question: "q", context: [] })

  it("accepts a conforming object (in a code fence too) and drops unknown keys", () => {
    const ok = decodeReply(c, "```json\n{\"text\":\"t\",\"confidence\":0.5,\"tags\":[{\"k\":\"x\"}],\"extra\":1}\n```")
    expect(ok).toEqual({ _tag: "Ok", value: { text: "t", confidence: 0.5, tags: [{ k: "x" }] } })
  })

  it("reports every mismatch with its field", () => {
    const bad = decodeValue(c, { text: 1, tags: [{}] })
    expect(bad._tag).toBe("Invalid")
    const message = bad._tag === "Invalid" ? bad.message : ""
    expect(message).toContain(`["text"]`)
    expect(message).toContain(`["confidence"]`)
    expect(message).toContain(`["k"]`)
  })

  it("reports text that is not JSON", () => {
    const bad = decodeReply(c, "I think the answer is 4")
    expect(bad._tag).toBe("Invalid")
    expect(bad._tag === "Invalid" && bad.message.startsWith("the reply is not valid JSON")).toBe(true)
  })
})
