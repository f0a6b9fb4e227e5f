import { describe, expect, it } from "vitest"
import type { DeclarationNode, ProgramDeclNode, StepNode } from "../../src/language/ast.js"
import { visit } from "../../src/language/ast.js"
import { parse } from "../../src/language/parser.js"
import { errorsOf, examples, firstStep, kitchenSink, parseExpr, parseOk, sexpr } from "../support/language.js"

const program = (d: DeclarationNode | undefined): ProgramDeclNode => {
  if (d?.kind !== "ProgramDecl") throw new Error("expected a program")
  return d
}

describe("parser: constructs", () => {
  it("parses every example and the kitchen sink without errors", () => {
    for (const [name, source] of examples) expect(parse(source).errors, name).toEqual([])
    const file = parseOk(kitchenSink)
    expect(file.decls.map((d) => `${d.kind} ${d.name.value}`)).toEqual([
      "SignatureDecl Summarize",
      "SignatureDecl Classify",
      "ProgramDecl score",
      "ProgramDecl main",
      "ProgramDecl index"
    ])
    expect(file.comments.length).toBeGreaterThan(20)
  })

  it("the kitchen sink uses every step kind, statement kind and expression kind", () => {
    const seen = new Set<string>()
    visit(parseOk(kitchenSink), { enter: (n) => void seen.add(n.kind) })
    for (
      const kind of [
        "SignatureField",
        "Param",
        "NamedType",
        "ListType",
        "RecordType",
        "StepStatement",
        "ReturnStatement",
        "ToolStep",
        "LlmStep",
        "RunStep",
        "MapStep",
        "IfStep",
        "ChooseStep",
        "ChooseOption",
        "ExprStep",
        "NumberLiteral",
        "StringLiteral",
        "BooleanLiteral",
        "NullLiteral",
        "Identifier",
        "CallExpr",
        "ListExpr",
        "RecordExpr",
        "ParenExpr",
        "UnaryExpr",
        "BinaryExpr",
        "MemberExpr",
        "IndexExpr",
        "SliceExpr"
      ]
    ) {
      expect(seen.has(kind), kind).toBe(true)
    }
  })

  it("parses signatures with docs, and params with types and defaults", () => {
    const file = parseOk(`
      signature S { "doc" input a: string "field doc" output b: { x: number, "y z": any[] }[] }
      program p(a: string, b: number[][] = [1], c: { d: boolean } = { d: true }, e: null) {}`)
    const sig = file.decls[0]
    expect(
      sig?.kind === "SignatureDecl" &&
        [sig.doc?.value, sig.fields.map((f) => [f.direction, f.name.value, f.doc?.value])]
    ).toEqual([
      "doc",
      [["input", "a", "field doc"], ["output", "b", undefined]]
    ])
    const p = program(file.decls[1])
    expect(p.params.map((x) => [x.name.value, x.type.kind, x.default?.kind])).toEqual([
      ["a", "NamedType", undefined],
      ["b", "ListType", "ListExpr"],
      ["c", "RecordType", "RecordExpr"],
      ["e", "NamedType", undefined]
    ])
  })

  it("tells `IDENT = step` from an expression statement by one token (= vs ==)", () => {
    const body = program(parseOk("program p() { a = b  a == b  c = tool f() tool g() }").decls[0]).body
    expect(body.statements.map((s) => (s.kind === "StepStatement" ? [s.name?.value, s.step.kind] : s.kind))).toEqual([
      ["a", "ExprStep"],
      [undefined, "ExprStep"],
      ["c", "ToolStep"],
      [undefined, "ToolStep"]
    ])
  })

  it("parses every step form", () => {
    const kinds = (src: string): StepNode => firstStep(`program p() { ${src} }`)
    const tool = kinds(`tool audit.log.write(a: 1, b: "x") with { timeout: "1s" }`)
    expect(
      tool.kind === "ToolStep" && [tool.tool.value, tool.args.map((a) => a.name.value), tool.policy?.entries.length]
    ).toEqual([
      "audit.log.write",
      ["a", "b"],
      1
    ])
    expect(kinds("tool x.map.if()").kind === "ToolStep").toBe(true)
    expect(kinds("llm S()").kind).toBe("LlmStep")
    expect(kinds("run other(x: 1) with {}").kind).toBe("RunStep")
    const m = kinds("map d in ds with { concurrency: 2 } { return d }")
    expect(m.kind === "MapStep" && [m.binder.value, m.policy?.entries.length, m.body.statements.length]).toEqual([
      "d",
      1,
      1
    ])
    const c = kinds(`choose "k" { a: { return 1 } "b c": { return 2 } }`)
    expect(c.kind === "ChooseStep" && c.options.map((o) => o.label.value)).toEqual(["a", "b c"])
    const chain = kinds("if a { return 1 } else if b { return 2 } else { return 3 }")
    expect(chain.kind === "IfStep" && chain.else?.kind === "IfStep" && chain.else.else?.kind).toBe("Block")
    const elseStep = kinds("if a with { label: \"x\" } { return 1 } else tool f()")
    expect(elseStep.kind === "IfStep" && [elseStep.policy?.entries.length, elseStep.else?.kind]).toEqual([
      1,
      "ToolStep"
    ])
    const bare = kinds("if a { return 1 }")
    expect(bare.kind === "IfStep" && bare.else).toBe(undefined)
    expect(kinds("len(x) with { label: \"n\" }").kind).toBe("ExprStep")
  })

  it("allows keywords after `.`, and as record keys only when quoted", () => {
    expect(sexpr(parseExpr("x.if.map.return"))).toBe("(. (. (. x if) map) return)")
    expect(sexpr(parseExpr("{ \"if\": 1, b: 2 }"))).toBe("{\"if\": 1, b: 2}")
    expect(errorsOf("program p() { v = { if: 1 } }")).toEqual(["1:21 Expected record key, found \"if\""])
  })
})

describe("parser: precedence", () => {
  const table: ReadonlyArray<readonly [string, string]> = [
    ["a or b and c", "(or a (and b c))"],
    ["a and b or c", "(or (and a b) c)"],
    ["not a and b", "(and (not a) b)"],
    ["not a == b", "(not (== a b))"],
    ["not not a", "(not (not a))"],
    ["a == b < c", "(== a (< b c))"],
    ["a < b + c", "(< a (+ b c))"],
    ["a + b * c", "(+ a (* b c))"],
    ["a * b + c", "(+ (* a b) c)"],
    ["a - b - c", "(- (- a b) c)"],
    ["a / b / c % d", "(% (/ (/ a b) c) d)"],
    ["a == b == c", "(== (== a b) c)"],
    ["a < b < c", "(< (< a b) c)"],
    ["-a * b", "(* (- a) b)"],
    ["-a.b", "(- (. a b))"],
    ["- -a", "(- (- a))"],
    ["a - -b", "(- a (- b))"],
    ["a * (b + c)", "(* a (paren (+ b c)))"],
    ["-(5)", "(- (paren 5))"],
    ["a.b[0][1:2].c", "(. (slice (index (. a b) 0) 1 2) c)"],
    ["x[1:]", "(slice x 1 _)"],
    ["x[:2]", "(slice x _ 2)"],
    ["x[a:b]", "(slice x a b)"],
    ["x[:]", "(slice x _ _)"],
    ["x[\"k\"]", "(index x \"k\")"],
    ["len(x) + 1", "(+ (call len x) 1)"],
    ["f(a, b + c)[0]", "(index (call f a (+ b c)) 0)"],
    ["[1, [2], {}]", "[1 [2] {}]"],
    ["a >= 0.5 and not b != c or d <= e", "(or (and (>= a 0.5) (not (!= b c))) (<= d e))"],
    ["1 + 2 * 3 - -4 / (5 - 6) % 7", "(- (+ 1 (* 2 3)) (% (/ (- 4) (paren (- 5 6))) 7))"]
  ]
  for (const [source, tree] of table) {
    it(`${source}  ⇒  ${tree}`, () => expect(sexpr(parseExpr(source))).toBe(tree))
  }
})

describe("parser: errors", () => {
  it("has one message shape, with line:column and a caret excerpt", () => {
    const r = parse("program p() {\n  a = tool f(x: 1]\n}")
    expect(r.file).toBeUndefined()
    expect(r.errors).toEqual([
      {
        message: "Expected \")\", found \"]\"",
        span: { start: { line: 2, column: 18, offset: 31 }, end: { line: 2, column: 19, offset: 32 } },
        excerpt: "2 |   a = tool f(x: 1]\n  |                  ^"
      }
    ])
  })

  it("names what it found: identifiers, numbers, strings, end of input", () => {
    expect(errorsOf("program 1")).toEqual(["1:9 Expected program name, found number 1"])
    expect(errorsOf("program p() { a = tool \"x\" }")).toEqual(["1:24 Expected tool name, found string \"x\""])
    expect(errorsOf("program p(a string) {}")).toEqual(["1:13 Expected \":\", found identifier \"string\""])
    expect(errorsOf("program p() {")).toEqual(["1:14 Expected \"}\", found end of input"])
    expect(errorsOf("hello")).toEqual(["1:1 Expected \"program\" or \"signature\", found identifier \"hello\""])
    expect(errorsOf("program p(a: strin) {}")).toEqual(["1:14 Expected type, found identifier \"strin\""])
    expect(errorsOf("program p() { ) }")).toEqual(["1:15 Expected statement, found \")\""])
    expect(errorsOf("program p() { a = }")).toEqual(["1:19 Expected expression, found \"}\""])
    expect(errorsOf("program p() { a = x. }")).toEqual(["1:22 Expected field name, found \"}\""])
    expect(errorsOf("program p() { a = choose \"k\" {} }")).toEqual(["1:31 Expected option label, found \"}\""])
    expect(errorsOf("signature S { inputs a: string }")).toEqual([
      "1:15 Expected \"input\" or \"output\", found identifier \"inputs\""
    ])
  })

  it("requires exactly one return at the end of every nested block", () => {
    expect(errorsOf("program p() { a = map x in xs { y = x } }")).toEqual(["1:39 Expected \"return\", found \"}\""])
    expect(errorsOf("program p() { a = if c { return 1 } else { } }")).toEqual([
      "1:44 Expected \"return\", found \"}\""
    ])
    expect(errorsOf("program p() { a = choose \"k\" { o: { } } }")).toEqual(["1:37 Expected \"return\", found \"}\""])
    expect(errorsOf("program p() { a = map x in xs { return 1 b = 2 } }")).toEqual([
      "1:42 Unexpected statement after return"
    ])
    expect(errorsOf("program p() { return 1 return 2 }")).toEqual(["1:24 Unexpected statement after return"])
    expect(errorsOf("program p() { a = 1 }")).toEqual([])
  })

  it("recovers and reports several errors in one pass", () => {
    const source = [
      "program main() {",
      "  a = tool f(x: 1 +, y: 2)",
      "  b = llm S(q: )",
      "  c = 1 @ 2",
      "  d = { \"k\": }",
      "  e = tool ok()",
      "  return { a: a }",
      "}",
      "program other( {",
      "}",
      "signature S { input a string  output b: number }",
      "program last() { x = map i in [1] { y = i } }"
    ].join("\n")
    expect(errorsOf(source)).toEqual([
      "2:20 Expected expression, found \",\"",
      "3:16 Expected expression, found \")\"",
      "4:9 Unexpected character \"@\"",
      "5:14 Expected expression, found \"}\"",
      "9:16 Expected parameter name, found \"{\"",
      "11:23 Expected \":\", found identifier \"string\"",
      "12:43 Expected \"return\", found \"}\""
    ])
  })

  it("after a broken program header, resumes at the body", () => {
    expect(errorsOf("program main( {\n  a = tool f(x: )\n  b = = 3\n}")).toEqual([
      "1:15 Expected parameter name, found \"{\"",
      "2:17 Expected expression, found \")\"",
      "3:7 Expected expression, found \"=\""
    ])
    expect(errorsOf("program p(a: { x: ) { a = }\nprogram q() { b = }")).toEqual([
      "1:19 Expected type, found \")\"",
      "1:27 Expected expression, found \"}\"",
      "2:19 Expected expression, found \"}\""
    ])
  })

  it("sorts errors by position and caps them at 100", () => {
    const many = "program p() {\n" + "  a = )\n".repeat(150) + "}"
    const errors = parse(many).errors
    expect(errors).toHaveLength(100)
    expect(errors[0]?.message).toBe("Expected expression, found \")\"")
    expect(errors.map((e) => e.span.start.line)).toEqual(Array.from({ length: 100 }, (_, i) => i + 2))
  })

  it("refuses more tokens than maxTokens without parsing", () => {
    expect(parse("program p() { a = 1 }", { maxTokens: 5 }).errors).toEqual([
      {
        message: "Program too large: 9 tokens exceed the limit of 5",
        span: { start: { line: 1, column: 1, offset: 0 }, end: { line: 1, column: 1, offset: 0 } },
        excerpt: "1 | program p() { a = 1 }\n  | ^"
      }
    ])
    expect(parse("program p() { a = 1 }", { maxTokens: 9 }).errors).toEqual([])
  })

  it("stops at the nesting-depth guard with a located error, never a stack overflow", () => {
    const deep = (n: number) => `program p() { a = ${"(".repeat(n)}1${")".repeat(n)} }`
    expect(errorsOf(deep(150))).toEqual([])
    expect(errorsOf(deep(300))).toEqual(["1:218 Nesting too deep: more than 200 levels of blocks and expressions"])
    expect(errorsOf(deep(100_000))).toHaveLength(1)
    expect(errorsOf(`program p() { a = 1${" + 1".repeat(250)} }`)).toEqual([
      "1:819 Nesting too deep: more than 200 levels of blocks and expressions"
    ])
    const blocks = (n: number) => `program p() { ${"return map x in y { ".repeat(n)}return 1${" }".repeat(n)} }`
    expect(errorsOf(blocks(50))).toEqual([])
    expect(errorsOf(blocks(5_000))).toHaveLength(1)
    expect(errorsOf(`program p() { a = ${"[".repeat(20)}${"]".repeat(20)} }`, { maxDepth: 10 })).toEqual([
      "1:28 Nesting too deep: more than 10 levels of blocks and expressions"
    ])
    expect(errorsOf(`program p(a: ${"{ b: ".repeat(300)}string${" }".repeat(300)}) {}`)).toHaveLength(1)
    expect(errorsOf(`program p() { a = ${"-".repeat(300)}1 }`)).toHaveLength(1)
    expect(errorsOf(`program p() { a = ${"not ".repeat(300)}1 }`)).toHaveLength(1)
    expect(errorsOf(`program p() { a = 1 ${"if x { return 1 } else ".repeat(300)}{ return 2 } }`)).toHaveLength(1)
  })

  it("never throws, whatever the input", () => {
    for (
      const source of [
        "",
        "}}}",
        "program",
        "\u0000\uffff\ud800",
        "\"",
        "#",
        "program p() { a = [ }",
        "{".repeat(10_000)
      ]
    ) {
      const r = parse(source)
      expect(r.file !== undefined || r.errors.length > 0).toBe(true)
    }
    expect(parse("").file?.decls).toEqual([])
  })
})
