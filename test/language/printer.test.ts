import { describe, expect, it } from "vitest"
import { type Expr, IR_VERSION, type Node, type Program } from "../../src/ir/schema.js"
import { compileSource, print } from "../../src/language/index.js"
import { examples, kitchenSink } from "../support/language.js"

const compile = (source: string): Program => {
  const r = compileSource(source)
  if (r.program === undefined) throw new Error(r.syntaxErrors.map((e) => e.message + "\n" + e.excerpt).join("\n"))
  return r.program
}
const lit = (value: string | number | boolean | null): Expr => ({ kind: "lit", value })
const ref = (name: string): Expr => ({ kind: "ref", name })
const bin = (op: Extract<Expr, { kind: "binary" }>["op"], left: Expr, right: Expr): Expr => ({
  kind: "binary",
  op,
  left,
  right
})
/** A one-program document whose body is `nodes` returning `result`. */
const doc = (nodes: ReadonlyArray<Node>, result: Expr = lit(null)): Program => ({
  ir: IR_VERSION,
  entry: "main",
  programs: { main: { params: [], nodes, result } },
  signatures: {}
})
/** Prints an expression as the result of a program. */
const printExpr = (e: Expr): string => {
  const text = print(doc([], e))
  return text.slice("program main() {\n  return ".length, -"\n}\n".length)
}

describe("printer: round trips", () => {
  for (const [name, source] of [...examples, ["kitchen-sink (again, explicitly)", kitchenSink] as const]) {
    it(`${name}: lower(parse(print(p))) = p, and fmt is idempotent`, () => {
      const p = compile(source)
      const text = print(p)
      const again = compileSource(text)
      expect(again.syntaxErrors).toEqual([])
      expect(again.violations).toEqual([])
      expect(again.program).toEqual(p)
      expect(print(again.program!)).toBe(text)
    })
  }
})

describe("printer: layout", () => {
  it("prints the canonical layout", () => {
    const source = `# comments are dropped
signature Ask { "Ask." input q: string "the question"   output a: string }
program main(q: string, k: number = 2) {
  hits = tool web.search(query: q, k: k * 2) with { retry: { times: 2 }, timeout: "1s", idempotencyKey: q }
  notes = map h in hits with { concurrency: 2 } { return llm Ask(q: h.text) with { model: "local/echo" } }
  pick = if k > 1 { return notes[0] } else if k == 1 { return null } else { return tool fallback() }
  style = choose "style" { short: { return 1 } long: { return 2 } }
  tool audit.log(event: "x") with { after: [pick, style] }
  return { notes: notes, pick: pick }
}`
    expect(print(compile(source))).toBe(`signature Ask {
  "Ask."
  input q: string "the question"
  output a: string
}

program main(q: string, k: number = 2) {
  hits = tool web.search(query: q, k: k * 2) with { timeout: "1s", retry: { times: 2 }, idempotencyKey: q }
  notes = map h in hits with { concurrency: 2 } {
    return llm Ask(q: h.text) with { model: "local/echo" }
  }
  pick = if k > 1 {
    return notes[0]
  } else if k == 1 {
    return null
  } else {
    return tool fallback()
  }
  style = choose "style" {
    short: {
      return 1
    }
    long: {
      return 2
    }
  }
  tool audit.log(event: "x") with { after: [pick, style] }
  return { notes: notes, pick: pick }
}
`)
  })

  it("omits `return null` of a program body but keeps it in nested bodies", () => {
    expect(print(compile("program p() { a = if c { return null } return null }"))).toBe(
      "program p() {\n  a = if c {\n    return null\n  }\n}\n"
    )
    expect(print(compile("program p() {}"))).toBe("program p() {\n}\n")
    expect(print({ ir: IR_VERSION, entry: "main", programs: {}, signatures: {} })).toBe("")
  })

  it("prints the entry first when it is neither `main` nor the first program", () => {
    const p: Program = {
      ir: IR_VERSION,
      entry: "b",
      programs: { a: { params: [], nodes: [], result: lit(1) }, b: { params: [], nodes: [], result: lit(2) } },
      signatures: {}
    }
    const text = print(p)
    expect(text.indexOf("program b")).toBeLessThan(text.indexOf("program a"))
    expect(compile(text)).toEqual(p)
  })
})

describe("printer: expressions", () => {
  it("uses the fewest parentheses precedence and left-associativity allow", () => {
    const [a, b, c] = [ref("a"), ref("b"), ref("c")]
    expect(printExpr(bin("-", bin("-", a, b), c))).toBe("a - b - c")
    expect(printExpr(bin("-", a, bin("-", b, c)))).toBe("a - (b - c)")
    expect(printExpr(bin("*", bin("+", a, b), c))).toBe("(a + b) * c")
    expect(printExpr(bin("+", a, bin("*", b, c)))).toBe("a + b * c")
    expect(printExpr(bin("or", bin("and", a, b), c))).toBe("a and b or c")
    expect(printExpr(bin("and", a, bin("or", b, c)))).toBe("a and (b or c)")
    expect(printExpr({ kind: "unary", op: "not", arg: bin("==", a, b) })).toBe("not a == b")
    expect(printExpr(bin("==", { kind: "unary", op: "not", arg: a }, b))).toBe("(not a) == b")
    expect(printExpr(bin("and", a, { kind: "unary", op: "not", arg: b }))).toBe("a and not b")
    expect(printExpr({ kind: "unary", op: "-", arg: bin("+", a, b) })).toBe("-(a + b)")
    expect(printExpr({ kind: "unary", op: "-", arg: { kind: "get", target: a, field: "x" } })).toBe("-a.x")
    expect(printExpr({ kind: "get", target: { kind: "unary", op: "-", arg: a }, field: "x" })).toBe("(-a).x")
    expect(printExpr(bin("<", bin("<", a, b), c))).toBe("a < b < c")
    expect(printExpr(bin("==", bin("<", a, b), bin(">=", b, c)))).toBe("a < b == b >= c")
  })

  it("keeps -(5) and x[(\"k\")] apart from -5 and x.k", () => {
    expect(printExpr(lit(-5))).toBe("-5")
    expect(printExpr({ kind: "unary", op: "-", arg: lit(5) })).toBe("-(5)")
    expect(printExpr({ kind: "unary", op: "-", arg: lit(-5) })).toBe("--5")
    expect(printExpr({ kind: "get", target: lit(-5), field: "x" })).toBe("(-5).x")
    expect(printExpr(bin("-", a(), lit(-5)))).toBe("x - -5")
    expect(printExpr({ kind: "index", target: ref("x"), index: lit("k") })).toBe("x[(\"k\")]")
    expect(printExpr({ kind: "get", target: ref("x"), field: "k" })).toBe("x.k")
    expect(printExpr({ kind: "get", target: ref("x"), field: "if" })).toBe("x.if")
    expect(printExpr({ kind: "get", target: ref("x"), field: "a b" })).toBe("x[\"a b\"]")
    function a(): Expr {
      return ref("x")
    }
  })

  it("prints numbers in shortest form, strings JSON-escaped, keys bare or quoted", () => {
    expect([1e21, 5e-324, -0, 0.1, -2.5e-7, 123456789].map((n) => printExpr(lit(n)))).toEqual([
      "1e+21",
      "5e-324",
      "-0",
      "0.1",
      "-2.5e-7",
      "123456789"
    ])
    expect(printExpr(lit("a\"b\\c\n\u0001\ud800é"))).toBe("\"a\\\"b\\\\c\\n\\u0001\\ud800é\"")
    expect(
      printExpr({
        kind: "record",
        entries: [{ key: "a", value: lit(1) }, { key: "if", value: lit(2) }, { key: "", value: lit(3) }, {
          key: "x-y",
          value: lit(4)
        }]
      })
    ).toBe("{ a: 1, \"if\": 2, \"\": 3, \"x-y\": 4 }")
    expect(printExpr({ kind: "slice", target: ref("x"), start: null, end: lit(-1) })).toBe("x[:-1]")
    expect(printExpr({ kind: "list", items: [] })).toBe("[]")
    expect(printExpr({ kind: "record", entries: [] })).toBe("{}")
  })

  it("every printed expression lowers back to itself", () => {
    const exprs: ReadonlyArray<Expr> = [
      { kind: "unary", op: "-", arg: lit(0) },
      lit(-0),
      { kind: "index", target: lit(5), index: lit("") },
      { kind: "get", target: lit(1.5), field: "e1" },
      { kind: "get", target: lit(1e21), field: "x" },
      { kind: "slice", target: lit("abc"), start: lit("a"), end: null },
      bin("+", lit(-1), { kind: "unary", op: "not", arg: { kind: "unary", op: "-", arg: lit(-2) } })
    ]
    for (const e of exprs) expect(compile(print(doc([], e))).programs["main"]?.result).toEqual(e)
  })
})

describe("printer: policies and synthetic steps", () => {
  it("prints every policy key, an empty policy, and after names that are not identifiers", () => {
    const node: Node = {
      id: "t",
      kind: "tool",
      tool: "x",
      args: {},
      policy: {
        budget: { tokens: 5 },
        label: "l",
        after: ["a", "$3", "if"],
        idempotencyKey: ref("k"),
        cache: false,
        retry: {
          on: ["Timeout"],
          maxElapsed: "1m",
          jitter: "equal",
          max: "2s",
          factor: 1.5,
          base: "1ms",
          backoff: "none",
          times: 0
        },
        timeout: "3s"
      }
    }
    expect(print(doc([node, { id: "u", kind: "tool", tool: "y", args: {}, policy: {} }]))).toBe(
      "program main() {\n" +
        "  t = tool x() with { timeout: \"3s\", retry: { times: 0, backoff: \"none\", base: \"1ms\", factor: 1.5, max: \"2s\", jitter: \"equal\", maxElapsed: \"1m\", on: [\"Timeout\"] }, cache: false, idempotencyKey: k, after: [a, \"$3\", \"if\"], label: \"l\", budget: { tokens: 5 } }\n" +
        "  u = tool y() with {}\n" +
        "}\n"
    )
  })

  it("prints synthetic nodes as bare steps, or as `return <step>` when last and returned", () => {
    const nodes: ReadonlyArray<Node> = [
      { id: "$0", kind: "tool", tool: "a", args: {} },
      { id: "$1", kind: "call", program: "main", args: {} }
    ]
    expect(print(doc(nodes, ref("$1")))).toBe("program main() {\n  tool a()\n  return run main()\n}\n")
    expect(print(doc(nodes, lit(1)))).toBe("program main() {\n  tool a()\n  run main()\n  return 1\n}\n")
  })
})
