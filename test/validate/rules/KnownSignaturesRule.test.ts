import { describe, it } from "vitest"
import { at, expectErrors, expectValid } from "../../support/validate.js"

const signature = `signature Answer {
  "Answer the question."
  input question: string
  input context: string[]
  output text: string
  output confidence: number
}
`

describe("V5 unknown-signature, bad-signature-args (KnownSignaturesRule)", () => {
  it("accepts an llm step matching its signature", () => {
    expectValid(`${signature}
program main(q: string) {
  a = llm Answer(question: q, context: ["x", q])
  return a.text
}`)
  })

  it("reports an unknown signature at its name", () => {
    const src = `${signature}
program main(q: string) {
  a = llm Answr(question: q)
  return a
}`
    expectErrors(src).toEqual([
      {
        code: "unknown-signature",
        message: "Unknown signature \"Answr\"",
        path: ["programs", "main", "nodes", 0, "signature"],
        span: at(src, "Answr")
      }
    ])
  })

  it("reports unknown, mistyped literal and missing arguments (every input is required)", () => {
    const src = `${signature}
program main(q: string) {
  a = llm Answer(question: 42, ctx: [])
  return a
}`
    expectErrors(src).toEqual([
      {
        code: "bad-signature-args",
        message: "Argument \"question\" of signature \"Answer\" expects string, got number",
        path: ["programs", "main", "nodes", 0, "args", "question"],
        span: at(src, "42", "question: 42")
      },
      {
        code: "bad-signature-args",
        message: "Unknown argument \"ctx\" for signature \"Answer\"",
        path: ["programs", "main", "nodes", 0, "args", "ctx"],
        span: at(src, "[]", "ctx: []")
      },
      {
        code: "bad-signature-args",
        message: "Missing argument \"context\" for signature \"Answer\"",
        path: ["programs", "main", "nodes", 0, "args"],
        span: at(src, "a = llm Answer(question: 42, ctx: [])")
      }
    ])
  })

  it("types the output as a record of the signature's outputs", () => {
    const src = `${signature}
program main(q: string) {
  a = llm Answer(question: q, context: [])
  return a.txet
}`
    expectErrors(src).toEqual([
      {
        code: "type-mismatch",
        message: "Record has no field \"txet\"",
        path: ["programs", "main", "result"],
        span: at(src, "a.txet")
      }
    ])
  })
})
