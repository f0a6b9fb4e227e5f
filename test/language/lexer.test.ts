import { describe, expect, it } from "vitest"
import { lex } from "../../src/language/lexer.js"
import { TokenKind } from "../../src/language/lexToken.js"

const kinds = (source: string) => lex(source).tokens.map((t) => [t.kind, t.value])

describe("lexer", () => {
  it("splits punctuators, keywords, identifiers, numbers and strings", () => {
    expect(kinds("a = tool x.y(k: 1) == != <= >= < > + - * / % [ ] { } , \"s\"")).toEqual([
      [TokenKind.Ident, "a"],
      [TokenKind.Eq, "="],
      [TokenKind.Keyword, "tool"],
      [TokenKind.Ident, "x"],
      [TokenKind.Dot, "."],
      [TokenKind.Ident, "y"],
      [TokenKind.LParen, "("],
      [TokenKind.Ident, "k"],
      [TokenKind.Colon, ":"],
      [TokenKind.Number, "1"],
      [TokenKind.RParen, ")"],
      [TokenKind.EqEq, "=="],
      [TokenKind.NotEq, "!="],
      [TokenKind.LtEq, "<="],
      [TokenKind.GtEq, ">="],
      [TokenKind.Lt, "<"],
      [TokenKind.Gt, ">"],
      [TokenKind.Plus, "+"],
      [TokenKind.Minus, "-"],
      [TokenKind.Star, "*"],
      [TokenKind.Slash, "/"],
      [TokenKind.Percent, "%"],
      [TokenKind.LBracket, "["],
      [TokenKind.RBracket, "]"],
      [TokenKind.LBrace, "{"],
      [TokenKind.RBrace, "}"],
      [TokenKind.Comma, ","],
      [TokenKind.String, "s"],
      [TokenKind.EOF, ""]
    ])
  })

  it("knows every keyword of SPEC §1, and nothing else", () => {
    const words =
      "program signature input output tool llm run map in if else choose return with true false null and or not"
    expect(lex(words).tokens.slice(0, -1).every((t) => t.kind === TokenKind.Keyword)).toBe(true)
    expect(kinds("string number any len main _x A9")).toEqual([
      ...["string", "number", "any", "len", "main", "_x", "A9"].map((w) => [TokenKind.Ident, w]),
      [TokenKind.EOF, ""]
    ])
  })

  it("reads numbers with fraction and exponent; a dot without digits is a dot", () => {
    expect(kinds("0 12 3.25 1e3 2E-2 6.5e+21 5.x").map(([, v]) => v)).toEqual([
      "0",
      "12",
      "3.25",
      "1e3",
      "2E-2",
      "6.5e+21",
      "5",
      ".",
      "x",
      ""
    ])
  })

  it("decodes JSON string escapes", () => {
    const [t] = lex("\"q\\\"b\\\\s\\/n\\nt\\tr\\rb\\bf\\f\\u00e9\\ud83c\\udf89 raw é\"").tokens
    expect(t?.value).toBe("q\"b\\s/n\nt\tr\rb\bf\f\u00e9🎉 raw é")
  })

  it("keeps comments aside, with their spans", () => {
    const r = lex("a # one\n# two\nb")
    expect(r.tokens.map((t) => t.value)).toEqual(["a", "b", ""])
    expect(r.comments.map((c) => [c.value, c.span.start.line, c.span.start.column])).toEqual([
      [" one", 1, 3],
      [" two", 2, 1]
    ])
  })

  it("gives 1-based lines and columns and 0-based offsets, for \\n, \\r\\n and \\r", () => {
    const r = lex("a\n  bb\r\n c\rd")
    expect(r.tokens.map((t) => [t.value, t.span.start, t.span.end])).toEqual([
      ["a", { line: 1, column: 1, offset: 0 }, { line: 1, column: 2, offset: 1 }],
      ["bb", { line: 2, column: 3, offset: 4 }, { line: 2, column: 5, offset: 6 }],
      ["c", { line: 3, column: 2, offset: 9 }, { line: 3, column: 3, offset: 10 }],
      ["d", { line: 4, column: 1, offset: 11 }, { line: 4, column: 2, offset: 12 }],
      ["", { line: 4, column: 2, offset: 12 }, { line: 4, column: 2, offset: 12 }]
    ])
  })

  it("reports lexical errors as located diagnostics and keeps going", () => {
    const r = lex("a @ b ! \"x\\q\" \"\\u12x\" 1e+ 1e999 \"open\nz")
    expect(r.errors.map((e) => [e.message, e.span.start.column, e.span.end.column])).toEqual([
      ["Unexpected character \"@\"", 3, 4],
      ["Unexpected character \"!\"", 7, 8],
      ["Invalid escape sequence \"\\q\"", 11, 13],
      ["Invalid Unicode escape sequence \"\\u12\"", 16, 20],
      ["Invalid number \"1e+\"", 23, 26],
      ["Number out of range: 1e999", 27, 32],
      ["Unterminated string", 33, 38]
    ])
    expect(r.errors[0]?.excerpt).toBe("1 | a @ b ! \"x\\q\" \"\\u12x\" 1e+ 1e999 \"open\n  |   ^")
    expect(r.tokens.map((t) => t.value)).toEqual(["a", "b", "x", "x", "0", "0", "open", "z", ""])
  })

  it("names control characters by code point", () => {
    expect(lex("\u0001").errors[0]?.message).toBe("Unexpected character U+0001")
  })

  it("counts tokens past maxTokens without keeping them", () => {
    const r = lex("a b c d e # not counted", { maxTokens: 3 })
    expect(r.count).toBe(5)
    expect(r.tokens).toEqual([])
    expect(lex("a b c", { maxTokens: 3 }).tokens).toHaveLength(4)
  })
})
