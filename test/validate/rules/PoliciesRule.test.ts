import { describe, expect, it } from "vitest"
import type { Program } from "../../../src/ir/schema.js"
import { at, expectErrors, expectIrErrors, expectValid, tools, violationsOf } from "../../support/validate.js"

describe("V7 bad-policy (PoliciesRule)", () => {
  it("accepts sensible policies", () => {
    expectValid(`program main(xs: number[]) {
  a = tool f() with {
    timeout: "1.5s",
    retry: { times: 0, base: "100ms", max: "1m", maxElapsed: "1h", factor: 1 },
    cache: { ttl: "10m" },
    budget: { cost: 0, tokens: 1000 }
  }
  m = map x in xs with { concurrency: 1 } { return x }
  return [a, m]
}`)
  })

  it("reports a duration that does not parse, at the policy entry", () => {
    const src = `program main() {
  a = tool f() with { timeout: "2 sec" }
  return a
}`
    expectErrors(src).toEqual([
      {
        code: "bad-policy",
        message: "Invalid duration \"2 sec\" for timeout",
        path: ["programs", "main", "nodes", 0, "policy", "timeout"],
        span: at(src, "timeout: \"2 sec\"")
      }
    ])
  })

  it("checks every duration, number range and integer", () => {
    const src = `program main(xs: number[]) {
  a = llm S(x: 1) with {
    retry: { times: 1.5, factor: 0.5, base: "1", max: "1d", maxElapsed: "soon" },
    cache: { ttl: "forever" },
    budget: { cost: -1, tokens: -5 }
  }
  b = tool g() with { retry: { times: -1 } }
  m = map x in xs with { concurrency: 0 } { return x }
  return [a, b, m]
}
signature S {
  input x: number
  output y: number
}`
    expect(violationsOf(src).map((v) => [v.message, v.path.slice(4).join(".")])).toEqual([
      ["retry.times must be an integer >= 0, got 1.5", "policy.retry.times"],
      ["retry.factor must be a number >= 1, got 0.5", "policy.retry.factor"],
      ["Invalid duration \"1\" for retry.base", "policy.retry.base"],
      ["Invalid duration \"1d\" for retry.max", "policy.retry.max"],
      ["Invalid duration \"soon\" for retry.maxElapsed", "policy.retry.maxElapsed"],
      ["Invalid duration \"forever\" for cache.ttl", "policy.cache.ttl"],
      ["budget.cost must be a number >= 0, got -1", "policy.budget.cost"],
      ["budget.tokens must be a number >= 0, got -5", "policy.budget.tokens"],
      ["retry.times must be an integer >= 0, got -1", "policy.retry.times"],
      ["concurrency must be an integer >= 1, got 0", "concurrency"]
    ])
  })

  it("does not judge idempotency without a tool table (unknown, like V4)", () => {
    expectValid(`program main() {
  a = tool search(q: "x") with { retry: { times: 3 } }
  b = tool search(q: "y") with { retry: { times: 3 }, idempotencyKey: "y" }
  c = tool search(q: "z") with { retry: { times: 0 } }
  return [a, b, c]
}`)
  })

  it("with a tool table, allows retry on idempotent tools only (or with a key)", () => {
    const table = tools([
      { name: "search", input: { "q?": { kind: "string" } }, idempotent: true },
      { name: "send", input: { "to?": { kind: "string" } }, idempotent: false }
    ])
    const src = `program main() {
  a = tool search(q: "x") with { retry: {} }
  b = tool send(to: "x") with { retry: { times: 2 } }
  c = tool send(to: "y") with { retry: {}, idempotencyKey: "msg-1" }
  return [a, b, c]
}`
    expectErrors(src, { tools: table }).toEqual([
      {
        code: "bad-policy",
        message: "Retry on tool \"send\" requires an idempotent tool or an idempotencyKey",
        path: ["programs", "main", "nodes", 1, "policy", "retry"],
        span: at(src, "retry: { times: 2 }")
      }
    ])
  })

  it("allows retry on llm, call and map steps", () => {
    expectValid(`signature S {
  input x: number
  output y: number
}
program helper() { return 1 }
program main(xs: number[]) {
  a = llm S(x: 1) with { retry: { times: 2 } }
  b = run helper() with { retry: { times: 2 } }
  m = map x in xs with { retry: { times: 2 } } { return x }
  return [a, b, m]
}`)
  })

  it("checks policies of hand-built nodes of any kind", () => {
    const program: Program = {
      ir: "trellis/1",
      entry: "main",
      programs: {
        main: {
          params: [],
          nodes: [
            {
              id: "b",
              kind: "branch",
              cond: { kind: "lit", value: true },
              then: { nodes: [], result: { kind: "lit", value: 1 } },
              else: null,
              policy: { timeout: "1 minute", budget: { cost: Number.NaN } }
            }
          ],
          result: { kind: "ref", name: "b" }
        }
      },
      signatures: {}
    }
    expectIrErrors(program).toEqual([
      {
        code: "bad-policy",
        message: "Invalid duration \"1 minute\" for timeout",
        path: ["programs", "main", "nodes", 0, "policy", "timeout"]
      },
      {
        code: "bad-policy",
        message: "budget.cost must be a number >= 0, got NaN",
        path: ["programs", "main", "nodes", 0, "policy", "budget", "cost"]
      }
    ])
  })
})
