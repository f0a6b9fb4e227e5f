/** The README's builder example (examples/builder.ts) builds the IR its DSL twin lowers to. */
import { describe, expect, it } from "vitest"
import { fanout } from "../../examples/builder.js"
import { check } from "../../src/compile.js"
import { compileSource } from "../../src/language/index.js"

const dsl = `program main(topic: string, k: number = 3) {
  hits = tool search(query: topic, k: k)
  notes = map hit in hits with { concurrency: 4 } {
    return tool summarize(text: hit.text)
  }
  return tool publish(items: notes)
}
`

describe("examples/builder.ts", () => {
  it("equals the lowering of the same program written in the DSL", () => {
    expect(fanout).toEqual(compileSource(dsl).program)
  })

  it("is valid and has the DSL twin's hash", () => {
    const fromBuilder = check(JSON.stringify(fanout))
    expect(fromBuilder.diagnostics).toEqual([])
    expect(fromBuilder.hash).toBe(check(dsl).hash)
  })
})
