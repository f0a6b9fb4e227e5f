import { describe, it } from "vitest"
import { at, expectErrors, expectValid } from "../../support/validate.js"

describe("V10 bad-fan-in (FanInRule)", () => {
  it("accepts a race of two options and a take within a known list", () => {
    expectValid(`
program main(xs: number[]) {
  r = race {
    a: { return 1 }
    b: { return 2 }
  }
  t = map x in [1, 2, 3] with { take: 2 } { return x }
  u = map x in xs with { take: 5 } { return x }
  return [r, t, u]
}`)
  })

  it("reports a race of one option", () => {
    const src = `program main() {
  r = race {
    only: { return 1 }
  }
  return r
}`
    expectErrors(src).toEqual([
      {
        code: "bad-fan-in",
        message: "race needs at least two options, got 1",
        path: ["programs", "main", "nodes", 0, "options"],
        span: at(src, "r = race {\n    only: { return 1 }\n  }")
      }
    ])
  })

  it("reports a take that is not a positive integer, or larger than the known list", () => {
    const src = `program main() {
  a = map x in [1, 2] with { take: 0 } { return x }
  b = map x in range(3) with { take: 1.5 } { return x }
  c = map x in [1, 2] with { take: 3 } { return x }
  return [a, b, c]
}`
    expectErrors(src).toEqual([
      {
        code: "bad-fan-in",
        message: "take must be an integer >= 1, got 0",
        path: ["programs", "main", "nodes", 0, "take"],
        span: at(src, "take: 0")
      },
      {
        code: "bad-fan-in",
        message: "take must be an integer >= 1, got 1.5",
        path: ["programs", "main", "nodes", 1, "take"],
        span: at(src, "take: 1.5")
      },
      {
        code: "bad-fan-in",
        message: "take 3 asks for more results than the 2 items mapped over",
        path: ["programs", "main", "nodes", 2, "take"],
        span: at(src, "take: 3")
      }
    ])
  })
})

describe("V10 bad-fan-in: fold", () => {
  it("accepts a fold program of two params with a constant init", () => {
    expectValid(`
program main(xs: number[]) {
  s = map x in xs with { fold: add, init: 0 } { return x }
  return s
}
program add(acc: number, x: number) { return acc + x }`)
  })

  it("reports an unknown fold program, a wrong arity, a missing or non-constant init", () => {
    const src = `program main(xs: number[]) {
  a = map x in xs with { fold: nope, init: 0 } { return x }
  b = map x in xs with { fold: one } { return x }
  c = map x in xs with { fold: add, init: xs } { return x }
  return [a, b, c]
}
program one(acc: number) { return acc }
program add(acc: number, x: number) { return acc + x }`
    expectErrors(src).toEqual([
      {
        code: "bad-fan-in",
        message: "fold names unknown program \"nope\"",
        path: ["programs", "main", "nodes", 0, "fold"],
        span: at(src, "fold: nope")
      },
      {
        code: "bad-fan-in",
        message: "fold program \"one\" must take two parameters (accumulator, result), takes 1",
        path: ["programs", "main", "nodes", 1, "fold"],
        span: at(src, "fold: one")
      },
      {
        code: "bad-fan-in",
        message: "fold needs an init value",
        path: ["programs", "main", "nodes", 1],
        span: at(src, "b = map x in xs with { fold: one } { return x }")
      },
      {
        code: "bad-fan-in",
        message: "fold init must be a constant (no references)",
        path: ["programs", "main", "nodes", 2, "init"],
        span: at(src, "init: xs")
      }
    ])
  })
})
