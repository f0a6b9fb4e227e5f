/** Signatures carry instructions and demos: DSL, IR, validation, normal form, hash, tokens and the prompt. */
import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { check, compile } from "../../src/compile.js"
import { fromTokens, toTokens } from "../../src/ir/tokenSerialization.js"
import { print } from "../../src/language/index.js"
import { compileSignature } from "../../src/llm/signature.js"

const source = (demos: string) =>
  `signature Classify {
  "Label the ticket."
  input text: string
  output label: string
  output score: number
${demos}}

program main(t: string) {
  return llm Classify(text: t)
}
`

const twoDemos = `  demo input { text: "refund please" } output { label: "billing", score: -1 }
  demo input { text: "app crashes" } output { label: "bug", score: 0.5 }
`

describe("signature demos", () => {
  it("parse, lower to JSON values in the IR, and print back to the same IR", () => {
    const c = compile(source(twoDemos))
    expect(c.diagnostics).toEqual([])
    const sig = c.program!.signatures["Classify"]!
    expect(sig.doc).toBe("Label the ticket.")
    expect(sig.demos).toEqual([
      { inputs: { text: "refund please" }, outputs: { label: "billing", score: -1 } },
      { inputs: { text: "app crashes" }, outputs: { label: "bug", score: 0.5 } }
    ])
    const printed = print(c.program!)
    expect(printed).toContain(`demo input { text: "refund please" } output { label: "billing", score: -1 }`)
    expect(compile(printed).program).toEqual(c.program)
  })

  it("keeps `demo` usable as an ordinary name outside signatures", () => {
    const c = compile(`program main(demo: string) {\n  return demo\n}\n`)
    expect(c.diagnostics).toEqual([])
  })

  it("are part of the normal form and the hash: other demos or instructions give another version", () => {
    const none = check(source(""))
    const two = check(source(twoDemos))
    const reordered = check(source(twoDemos.split("\n").reverse().join("\n") + "\n"))
    const otherDoc = check(source(twoDemos).replace("Label the ticket.", "Label it."))
    expect(two.normalized!.signatures["Classify"]!.demos).toHaveLength(2)
    const hashes = [none.hash, two.hash, reordered.hash, otherDoc.hash]
    expect(hashes.every((h) => typeof h === "string")).toBe(true)
    expect(new Set(hashes).size).toBe(4)
    expect(check(source(twoDemos)).hash).toBe(two.hash)
  })

  it("survive the token serialization", () => {
    const program = compile(source(twoDemos)).program!
    const back = fromTokens(toTokens(program))
    expect(Either.getOrThrow(back)).toEqual(program)
  })

  it("are validated against the signature's fields with typed, located diagnostics", () => {
    const bad = compile(
      source(`  demo input { text: 3, extra: "x" } output { label: "a" }\n`)
    )
    const found = bad.diagnostics.map((d) => ({ code: d.code, message: d.message, line: d.span?.start.line }))
    expect(found).toEqual([
      { code: "bad-demo", message: `Demo input "text" of signature "Classify" expects string, got number`, line: 6 },
      { code: "bad-demo", message: `Demo input "extra" is not an input of signature "Classify"`, line: 6 },
      { code: "bad-demo", message: `Demo is missing output "score" of signature "Classify"`, line: 6 }
    ])
  })

  it("must be constants", () => {
    const bad = compile(source(`  demo input { text: t } output { label: "a", score: 1 }\n`))
    expect(bad.diagnostics.map((d) => [d.code, d.span?.start.line])).toEqual([["bad-demo", 6], ["bad-demo", 6]])
    expect(bad.diagnostics[0]!.message).toContain(`The demo value of "text" must be a constant`)
  })

  it("are rendered into the prompt as user/assistant pairs before the call's inputs", () => {
    const sig = compile(source(twoDemos)).program!.signatures["Classify"]!
    const c = compileSignature("Classify", sig, { text: "where is my invoice" })
    expect(c.messages.map((m) => m.role)).toEqual(["system", "user", "assistant", "user", "assistant", "user"])
    expect(c.messages[0]!.content.startsWith("Label the ticket.")).toBe(true)
    expect(c.messages[1]!.content).toBe("text (string): refund please")
    expect(c.messages[2]!.content).toBe(`{"label":"billing","score":-1}`)
    expect(c.messages[5]!.content).toBe("text (string): where is my invoice")
    const { demos: _demos, ...plain } = sig
    expect(compileSignature("Classify", plain, { text: "x" }).promptHash).not.toBe(c.promptHash)
  })
})
