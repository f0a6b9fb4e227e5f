import { describe, expect, it } from "vitest"
import type { Program } from "../../../src/ir/schema.js"
import { validate } from "../../../src/validate/index.js"
import { at, expectErrors, expectValid, violationsOf } from "../../support/validate.js"

describe("V7 bad-wait (WaitsRule)", () => {
  it("accepts waits and durable sleeps, with days in their durations", () => {
    expectValid(`program main(total: number) {
  ok = wait "approve": { approved: boolean } { amount: total } with { timeout: "30d", label: "gate" }
  nap = wait for "3d"
  x = wait "ping" (total + 1)
  return [ok, nap, x]
}`)
  })

  it("reports a bad deadline at the policy entry, with its location", () => {
    const src = `program main() {
  ok = wait "go" with { timeout: "soon" }
  return ok
}`
    expectErrors(src).toEqual([
      {
        code: "bad-wait",
        message: "Invalid duration \"soon\" for timeout",
        path: ["programs", "main", "nodes", 0, "policy", "timeout"],
        span: at(src, "timeout: \"soon\"")
      }
    ])
  })

  it("refuses a non-record answer type, a sleep with a payload or timeout, durations over 366 days and call policies", () => {
    const src = `program main() {
  a = wait "a": string
  b = wait for "400d"
  c = wait "c" with { retry: { times: 1 }, cache: false }
  return [a, b, c]
}`
    const found = violationsOf(src).map((v) => [v.code, v.message])
    expect(found).toEqual([
      ["bad-wait", "A wait's answer type must be a record type, got string"],
      ["bad-wait", "Duration \"400d\" for wait for exceeds the maximum of 366 days"],
      ["bad-policy", "\"retry\" is not allowed on a wait step"],
      ["bad-policy", "\"cache\" is not allowed on a wait step"]
    ])
  })

  it("refuses a wait with neither or both of a signal and a duration (hand-built IR)", () => {
    const program: Program = {
      ir: "trellis/1",
      entry: "main",
      programs: {
        main: {
          params: [],
          nodes: [
            { id: "a", kind: "wait" },
            { id: "b", kind: "wait", signal: "s", for: "1s" },
            { id: "c", kind: "wait", for: "1s", payload: { kind: "lit", value: 1 } }
          ],
          result: { kind: "lit", value: null }
        }
      },
      signatures: {}
    }
    expect(validate(program).map((v) => [v.code, v.path.join("/")])).toEqual([
      ["bad-wait", "programs/main/nodes/0"],
      ["bad-wait", "programs/main/nodes/1/for"],
      ["bad-wait", "programs/main/nodes/2/payload"]
    ])
  })
})
