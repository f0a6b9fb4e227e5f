import { describe, expect, it } from "vitest"
import { at, expectErrors, expectValid, T, tools, violationsOf } from "../../support/validate.js"

/** The [message, path-suffix] pairs of the type mismatches of a program body. */
const mismatches = (body: string, params = "", context = {}) =>
  violationsOf(`program main(${params}) {\n${body}\n}`, context).map((v) => {
    expect(v.code).toBe("type-mismatch")
    return v.message
  })

describe("V6 type-mismatch (TypesAgreeRule)", () => {
  it("reports arithmetic on a non-number, at the operator expression", () => {
    const src = `program main(q: string) {
  a = q * 2
  return a
}`
    expectErrors(src).toEqual([
      {
        code: "type-mismatch",
        message: "Operator \"*\" expects number operands, got string",
        path: ["programs", "main", "nodes", 0, "expr"],
        span: at(src, "q * 2")
      }
    ])
  })

  it("never reports on unknown (any) types", () => {
    expectValid(
      `program main(x: any, xs: any[]) {
  t = tool anything(v: x)
  a = x * 2 + t.field.deep[3] - xs[0].y
  b = not x and t
  c = if t.ok { return 1 } else { return "one" }
  d = c + 1
  m = map item in t { return item.whatever }
  return { a: a, b: b, d: d, m: m, s: x[1:2], l: len(x) }
}`
    )
  })

  it("types operators per the expression semantics", () => {
    expect(
      mismatches(
        `  a = s + n
  b = l + s
  c = flag + flag
  d = s < n
  e = flag < flag
  f = n and flag
  g = not s
  h = -s
  i = n % s
  ok1 = s + s
  ok2 = l + l
  ok3 = n + n
  ok4 = s < s
  ok5 = s == n
  ok6 = flag or not flag
  ok7 = -n / 2
  return [a, b, c, d, e, f, g, h, i, ok1, ok2, ok3, ok4, ok5, ok6, ok7]`,
        "s: string, n: number, flag: boolean, l: number[]"
      )
    ).toEqual([
      "Operator \"+\" expects two numbers, two strings or two lists, got string and number",
      "Operator \"+\" expects two numbers, two strings or two lists, got number[] and string",
      "Operator \"+\" expects two numbers, two strings or two lists, got boolean and boolean",
      "Operator \"<\" expects two numbers or two strings, got string and number",
      "Operator \"<\" expects two numbers or two strings, got boolean and boolean",
      "Operator \"and\" expects boolean operands, got number",
      "Operator \"not\" expects a boolean operand, got string",
      "Operator \"-\" expects a number operand, got string",
      "Operator \"%\" expects number operands, got string"
    ])
  })

  it("reports certain misuse even next to an unknown operand", () => {
    expect(mismatches(`  return [flag + x, x < null, x and 1]`, "flag: boolean, x: any")).toEqual([
      "Operator \"+\" expects two numbers, two strings or two lists, got boolean and any",
      "Operator \"<\" expects two numbers or two strings, got any and null",
      "Operator \"and\" expects boolean operands, got number"
    ])
  })

  it("types fields, indexes and slices", () => {
    expect(
      mismatches(
        `  a = r.txet
  b = s.len
  c = l[s]
  d = s[true]
  e = n[0]
  f = r[1]
  g = n[1:2]
  h = l[0:"2"]
  i = x[true]
  ok = [r.text, r["text"], l[0] + 1, s[0] + "!", l[1:] + l, s[:2] + s, r[s]]
  return [a, b, c, d, e, f, g, h, i, ok]`,
        "r: { text: string }, s: string, l: number[], n: number, x: any"
      )
    ).toEqual([
      "Record has no field \"txet\"",
      "Cannot read field \"len\" of string",
      "Index of a list must be a number, got string",
      "Index of a string must be a number, got boolean",
      "Cannot index number",
      "Index of a record must be a string, got number",
      "Cannot slice number",
      "Slice bound must be a number, got string",
      "Index must be a number or a string, got boolean"
    ])
  })

  it("types builtin calls: arity and argument types", () => {
    expect(
      mismatches(
        `  return [
    len(n), len(s, s), keys(l), values(s), concat(l, s), concat(n), join(l), join(ss, 1),
    split(s), lower(n), min(s), max(n, s), min(), sum(ss), round(s), num(null), range(s),
    len(s) + len(l) + len(r), keys(r)[0] + "", values(r), concat(ss, ["x"])[0] + "",
    concat(s, "!") + "", join(ss) + "", split(s, ",")[0] + "", lower(s) + upper(s),
    min(l) + max(1, 2) + sum(l) + round(1.5, 1) + num("1") + num(true), str(r) + "",
    range(3)[0] + range(1, 4)[0]
  ]`,
        "s: string, n: number, l: number[], ss: string[], r: { a: number }"
      )
    ).toEqual([
      "Argument 1 of \"len\" expects a string, list or record, got number",
      "Builtin \"len\" expects 1 argument, got 2",
      "Argument 1 of \"keys\" expects a record, got number[]",
      "Argument 1 of \"values\" expects a record, got string",
      "Argument 2 of \"concat\" expects a list like the other arguments, got string",
      "Argument 1 of \"concat\" expects a list or a string, got number",
      "Argument 1 of \"join\" expects a list of strings, got number[]",
      "Argument 2 of \"join\" expects a string, got number",
      "Builtin \"split\" expects 2 arguments, got 1",
      "Argument 1 of \"lower\" expects a string, got number",
      "Argument 1 of \"min\" expects a number or a list of numbers, got string",
      "Argument 2 of \"max\" expects a number, got string",
      "Builtin \"min\" expects at least 1 argument, got 0",
      "Argument 1 of \"sum\" expects a list of numbers, got string[]",
      "Argument 1 of \"round\" expects a number, got string",
      "Argument 1 of \"num\" expects a number, boolean or string, got null",
      "Argument 1 of \"range\" expects a number, got string"
    ])
  })

  it("points a builtin argument error at the argument", () => {
    const src = `program main(n: number) {
  return len(n)
}`
    expectErrors(src).toEqual([
      {
        code: "type-mismatch",
        message: "Argument 1 of \"len\" expects a string, list or record, got number",
        path: ["programs", "main", "result", "args", 0],
        span: at(src, "n", "(n)")
      }
    ])
  })

  it("reports a non-boolean condition and a map over a non-list", () => {
    const src = `program main(n: number, s: string) {
  a = if n { return 1 } else { return 2 }
  m = map c in s { return c }
  return [a, m]
}`
    expectErrors(src).toEqual([
      {
        code: "type-mismatch",
        message: "Condition of \"if\" must be boolean, got number",
        path: ["programs", "main", "nodes", 0, "cond"],
        span: at(src, "n", "if n")
      },
      {
        code: "type-mismatch",
        message: "map over expects a list, got string",
        path: ["programs", "main", "nodes", 1, "over"],
        span: at(src, "s", "in s")
      }
    ])
  })

  it("infers through nodes, forward refs, binders, map results, branches and chooses", () => {
    expect(
      mismatches(
        `  later = total * 2
  total = sum(xs)
  doubled = map x in xs { return x * 2 }
  labels = map x in xs { return x.name }
  b = if flag { return "yes" } else { return "no" }
  c = choose "k" { one: { return 1 } two: { return 2 } }
  d = if flag { return 1 }
  e = if flag { return 1 } else { return "one" }
  return [later + "", doubled[0] + "", b * 1, c + "", d + "", e + ""]`,
        "xs: number[], flag: boolean"
      )
    ).toEqual([
      "Cannot read field \"name\" of number",
      "Operator \"+\" expects two numbers, two strings or two lists, got number and string",
      "Operator \"+\" expects two numbers, two strings or two lists, got number and string",
      "Operator \"*\" expects number operands, got string",
      "Operator \"+\" expects two numbers, two strings or two lists, got number and string"
    ])
  })

  it("types record and list literals, and params' declared record types", () => {
    expect(
      mismatches(
        `  r = { a: 1, "b c": "x" }
  l = [r, r]
  return [r.a + 1, r["b c"] + "", l[0].a + 1, l[1].z, opts.depth * 2, opts.mode * 2]`,
        "opts: { depth: number, mode: string }"
      )
    ).toEqual(["Record has no field \"z\"", "Operator \"*\" expects number operands, got string"])
  })

  it("uses tool output types from the tool table, and any without one", () => {
    const table = tools([{ name: "search", input: { query: T.string }, output: T.list(T.record({ url: T.string })) }])
    const body = `  hits = tool search(query: "q")
  return map h in hits { return h.uri }`
    expect(mismatches(body, "", { tools: table })).toEqual(["Record has no field \"uri\""])
    expect(mismatches(body)).toEqual([])
  })

  it("checks non-literal tool, signature and call arguments against the declared inputs", () => {
    const src = `signature S {
  input text: string
  output o: string
}
program helper(n: number) { return n }
program main(k: number, xs: string[]) {
  a = tool search(query: k)
  b = llm S(text: xs)
  c = run helper(n: xs[0])
  return [a, b, c]
}`
    const table = tools([{ name: "search", input: { query: T.string }, idempotent: true }])
    expectErrors(src, { tools: table }).toEqual([
      {
        code: "type-mismatch",
        message: "Argument \"query\" of tool \"search\" expects string, got number",
        path: ["programs", "main", "nodes", 0, "args", "query"],
        span: at(src, "k", "query: k")
      },
      {
        code: "type-mismatch",
        message: "Argument \"text\" of signature \"S\" expects string, got string[]",
        path: ["programs", "main", "nodes", 1, "args", "text"],
        span: at(src, "xs", "text: xs")
      },
      {
        code: "type-mismatch",
        message: "Argument \"n\" of program \"helper\" expects number, got string",
        path: ["programs", "main", "nodes", 2, "args", "n"],
        span: at(src, "xs[0]", "n: xs[0]")
      }
    ])
  })

  it("checks parameter defaults against the declared type", () => {
    const src = `program main(k: number = "five", tags: string[] = [1], ok: number[] = []) {
  return k
}`
    expectErrors(src).toEqual([
      {
        code: "type-mismatch",
        message: "Default of parameter \"k\" expects number, got string",
        path: ["programs", "main", "params", 0, "default"],
        span: at(src, "\"five\"")
      },
      {
        code: "type-mismatch",
        message: "Default of parameter \"tags\" expects string[], got number[]",
        path: ["programs", "main", "params", 1, "default"],
        span: at(src, "[1]")
      }
    ])
  })

  it("types a cycle as any instead of looping", () => {
    expect(
      violationsOf(`program main() {
  a = b + 1
  b = a * 2
  return a
}`).map((v) => v.code)
    ).toEqual(["cycle"])
  })
})
