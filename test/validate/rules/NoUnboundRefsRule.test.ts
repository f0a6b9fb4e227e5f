import { describe, it } from "vitest"
import { at, expectErrors, expectValid } from "../../support/validate.js"

describe("V1 unbound-ref (NoUnboundRefsRule)", () => {
  it("accepts refs to params, nodes (also forward), binders and enclosing scopes", () => {
    expectValid(`
program main(q: string, xs: number[]) {
  later = total + 1
  total = sum(xs)
  m = map x in xs {
    inner = x + later
    return { x: x, q: q, inner: inner }
  }
  return m
}`)
  })

  it("reports a ref that names nothing, at the ref", () => {
    const src = `program main(q: string) {
  a = qq + "!"
  return a
}`
    expectErrors(src).toEqual([
      {
        code: "unbound-ref",
        message: "Unbound reference \"qq\"",
        path: ["programs", "main", "nodes", 0, "expr", "left"],
        span: at(src, "qq")
      }
    ])
  })

  it("reports refs in args, conditions, over, results and idempotency keys", () => {
    const src = `program main() {
  t = tool f(a: nope1) with { idempotencyKey: nope2 }
  b = if nope3 { return 1 } else { return 2 }
  m = map x in nope4 { return x }
  return nope5
}`
    expectErrors(src).toEqual([
      {
        code: "unbound-ref",
        message: "Unbound reference \"nope1\"",
        path: ["programs", "main", "nodes", 0, "args", "a"],
        span: at(src, "nope1", "a: nope1")
      },
      {
        code: "unbound-ref",
        message: "Unbound reference \"nope2\"",
        path: ["programs", "main", "nodes", 0, "policy", "idempotencyKey"],
        span: at(src, "idempotencyKey: nope2")
      },
      {
        code: "unbound-ref",
        message: "Unbound reference \"nope3\"",
        path: ["programs", "main", "nodes", 1, "cond"],
        span: at(src, "nope3")
      },
      {
        code: "unbound-ref",
        message: "Unbound reference \"nope4\"",
        path: ["programs", "main", "nodes", 2, "over"],
        span: at(src, "nope4")
      },
      {
        code: "unbound-ref",
        message: "Unbound reference \"nope5\"",
        path: ["programs", "main", "result"],
        span: at(src, "nope5")
      }
    ])
  })

  it("keeps a map binder and body nodes inside the body", () => {
    const src = `program main(xs: number[]) {
  m = map x in xs {
    y = x * 2
    return y
  }
  return x + y
}`
    expectErrors(src).toEqual([
      {
        code: "unbound-ref",
        message: "Unbound reference \"x\"",
        path: ["programs", "main", "result", "left"],
        span: at(src, "x", "return x + y")
      },
      {
        code: "unbound-ref",
        message: "Unbound reference \"y\"",
        path: ["programs", "main", "result", "right"],
        span: at(src, "y", "return x + y")
      }
    ])
  })

  it("refuses any reference in a parameter default, even to another param", () => {
    const src = `program main(n: number, k: number = n * 2) {
  return k
}`
    expectErrors(src).toEqual([
      {
        code: "unbound-ref",
        message: "Unbound reference \"n\" in parameter default",
        path: ["programs", "main", "params", 1, "default", "left"],
        span: at(src, "n", "= n * 2")
      }
    ])
  })

  it("requires `after` names to be sibling nodes, not params or outer nodes", () => {
    const src = `program main(q: string) {
  a = tool f()
  m = map x in [1] {
    t = tool g() with { after: [a, q, zz] }
    return t
  }
  tool h() with { after: [a] }
}`
    expectErrors(src).toEqual([
      {
        code: "unbound-ref",
        message: "Unbound reference \"a\" in after",
        path: ["programs", "main", "nodes", 1, "body", "nodes", 0, "policy", "after", 0],
        span: at(src, "a", "[a, q")
      },
      {
        code: "unbound-ref",
        message: "Unbound reference \"q\" in after",
        path: ["programs", "main", "nodes", 1, "body", "nodes", 0, "policy", "after", 1],
        span: at(src, "q", "[a, q, zz]")
      },
      {
        code: "unbound-ref",
        message: "Unbound reference \"zz\" in after",
        path: ["programs", "main", "nodes", 1, "body", "nodes", 0, "policy", "after", 2],
        span: at(src, "zz")
      }
    ])
  })

  it("lets inner names shadow outer ones", () => {
    expectValid(`
program main(x: string) {
  m = map x in [1, 2] { return x + 1 }
  return { m: m, x: x }
}`)
  })
})
