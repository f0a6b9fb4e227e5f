import { describe, it } from "vitest"
import { at, expectErrors, expectValid } from "../../support/validate.js"

describe("V8 recursive-call (NoRecursiveCallsRule)", () => {
  it("accepts an acyclic call graph, whatever the declaration order", () => {
    expectValid(`
program main() {
  a = run left()
  b = run right()
  return [a, b]
}
program left() { return run leaf() }
program right() { return run leaf() }
program leaf() { return 1 }`)
  })

  it("reports direct recursion at the call step", () => {
    const src = `program main(n: number) {
  r = run main(n: n - 1)
  return r
}`
    expectErrors(src).toEqual([
      {
        code: "recursive-call",
        message: "Recursive call: main -> main",
        path: ["programs", "main", "nodes", 0],
        span: at(src, "r = run main(n: n - 1)")
      }
    ])
  })

  it("reports mutual recursion through nested bodies, from the first program of the cycle", () => {
    const src = `program main() { return run ping(n: 3) }
program ping(n: number) {
  r = if n > 0 { return run pong(n: n - 1) } else { return 0 }
  return r
}
program pong(n: number) { return run ping(n: n) }`
    expectErrors(src).toEqual([
      {
        code: "recursive-call",
        message: "Recursive call: ping -> pong -> ping",
        path: ["programs", "ping", "nodes", 0, "then", "nodes", 0],
        span: at(src, "run pong(n: n - 1)")
      }
    ])
  })

  it("reports each cycle once", () => {
    const src = `program main() {
  a = run a1()
  b = run b1()
  return [a, b]
}
program a1() { return run a2() }
program a2() { return run a1() }
program b1() { return run b1() }`
    expectErrors(src).toEqual([
      {
        code: "recursive-call",
        message: "Recursive call: a1 -> a2 -> a1",
        path: ["programs", "a1", "nodes", 0],
        span: at(src, "run a2()")
      },
      {
        code: "recursive-call",
        message: "Recursive call: b1 -> b1",
        path: ["programs", "b1", "nodes", 0],
        span: at(src, "run b1()", "program b1() { return run b1() }")
      }
    ])
  })
})
