/** The structural token stream (src/ir/tokenSerialization.ts). */
import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import type { Expr, Node, Program } from "../../src/ir/schema.js"
import { fromTokens, textToTokens, TokenDecodeError, tokensToText, toTokens } from "../../src/ir/tokenSerialization.js"

const doc = (nodes: ReadonlyArray<Node>, result: Expr, extra: Partial<Program> = {}): Program => ({
  ir: "trellis/1",
  entry: "main",
  programs: { main: { params: [{ name: "q", type: { kind: "string" } }], nodes, result } },
  signatures: {},
  ...extra
})

const small = doc(
  [
    {
      id: "hits",
      kind: "tool",
      tool: "search",
      args: { query: { kind: "ref", name: "q" } },
      policy: { timeout: "2s", cache: false }
    },
    {
      id: "b",
      kind: "branch",
      cond: {
        kind: "binary",
        op: ">=",
        left: { kind: "call", fn: "len", args: [{ kind: "ref", name: "hits" }] },
        right: { kind: "lit", value: 1 }
      },
      then: {
        nodes: [],
        result: { kind: "slice", target: { kind: "ref", name: "hits" }, start: null, end: { kind: "lit", value: -2 } }
      },
      else: null
    }
  ],
  {
    kind: "record",
    entries: [{ key: "best hit", value: { kind: "get", target: { kind: "ref", name: "b" }, field: "title" } }]
  }
)

/** The error of a failed decode (fails the test when decoding succeeded). */
const errorOf = (tokens: ReadonlyArray<string>): TokenDecodeError => {
  const r = fromTokens(tokens)
  if (Either.isRight(r)) throw new Error("expected a token decode error")
  expect(r.left).toBeInstanceOf(TokenDecodeError)
  return r.left
}

describe("toTokens", () => {
  it("writes one token per element, fields named, absent and null fields left out", () => {
    expect(toTokens(small)).toEqual([
      "<open:document>",
      "<field:ir>",
      "<str:\"trellis/1\">",
      "<field:entry>",
      "<str:\"main\">",
      "<field:programs>",
      "<open:dict>",
      "<key:main>",
      "<open:program>",
      "<field:params>",
      "<open:array>",
      "<open:param>",
      "<field:name>",
      "<str:\"q\">",
      "<field:type>",
      "<type:string>",
      "<close>",
      "<close>",
      "<field:nodes>",
      "<open:array>",
      "<open:tool>",
      "<field:id>",
      "<str:\"hits\">",
      "<field:tool>",
      "<str:\"search\">",
      "<field:args>",
      "<open:dict>",
      "<key:query>",
      "<ref:q>",
      "<close>",
      "<field:policy>",
      "<open:policy>",
      "<field:timeout>",
      "<str:\"2s\">",
      "<field:cache>",
      "<bool:false>",
      "<close>",
      "<close>",
      "<open:branch>",
      "<field:id>",
      "<str:\"b\">",
      "<field:cond>",
      "<open:binary>",
      "<field:op>",
      "<op:>=>",
      "<field:left>",
      "<open:call>",
      "<field:fn>",
      "<fn:len>",
      "<field:args>",
      "<open:array>",
      "<ref:hits>",
      "<close>",
      "<close>",
      "<field:right>",
      "<num:1>",
      "<close>",
      "<field:then>",
      "<open:body>",
      "<field:nodes>",
      "<open:array>",
      "<close>",
      "<field:result>",
      "<open:slice>",
      "<field:target>",
      "<ref:hits>",
      "<field:end>",
      "<num:-2>",
      "<close>",
      "<close>",
      "<close>",
      "<close>",
      "<field:result>",
      "<open:record>",
      "<field:entries>",
      "<open:dict>",
      "<key:\"best hit\">",
      "<open:get>",
      "<field:target>",
      "<ref:b>",
      "<field:field>",
      "<str:\"title\">",
      "<close>",
      "<close>",
      "<close>",
      "<close>",
      "<close>",
      "<field:signatures>",
      "<open:dict>",
      "<close>",
      "<close>"
    ])
  })

  it("spells odd names as JSON strings and keeps -0", () => {
    const p = doc(
      [{
        id: "$0",
        kind: "tool",
        tool: "t",
        args: { "a b": { kind: "ref", name: "x>y" } },
        policy: { retry: { times: 3, factor: -0 } }
      }],
      { kind: "lit", value: -0 }
    )
    const tokens = toTokens(p)
    expect(tokens).toContain("<key:\"a b\">")
    expect(tokens).toContain("<ref:\"x>y\">")
    expect(tokens).toContain("<num:-0>")
    const back = fromTokens(tokens)
    expect(back).toEqual(Either.right(p))
    expect(
      Either.isRight(back) &&
        Object.is(back.right.programs["main"]!.result.kind === "lit" && back.right.programs["main"]!.result.value, -0)
    ).toBe(true)
  })
})

describe("fromTokens", () => {
  it("inverts toTokens", () => {
    expect(fromTokens(toTokens(small))).toEqual(Either.right(small))
  })

  it("names the token index and what was expected", () => {
    const tokens = [...toTokens(small)]
    const i = tokens.indexOf("<field:tool>")
    tokens.splice(i, 2)
    const e = errorOf(tokens)
    expect({ index: e.index, expected: e.expected, found: e.found }).toEqual({
      index: i,
      expected: "<field:tool>",
      found: "<field:args>"
    })
    expect(e.message).toBe(`Token ${i}: expected <field:tool>, found <field:args>`)
  })

  it("rejects trailing tokens, truncation and malformed tokens", () => {
    const tokens = toTokens(small)
    expect(errorOf([...tokens, "<close>"])).toMatchObject({
      index: tokens.length,
      expected: "end of stream",
      found: "<close>"
    })
    expect(errorOf(tokens.slice(0, -1))).toMatchObject({
      index: tokens.length - 1,
      expected: "<close>",
      found: "end of stream"
    })
    expect(errorOf(["<open:document", ...tokens.slice(1)])).toMatchObject({ index: 0, expected: "<open:document>" })
    expect(errorOf([])).toMatchObject({ index: 0, found: "end of stream" })
  })

  it("checks operators and builtins against their closed sets", () => {
    const tokens = toTokens(small).map((t) => (t === "<op:>=>" ? "<op:not>" : t))
    expect(errorOf(tokens).expected).toBe("<op:…> (or and == != < <= > >= + - * / %)")
    const fn = toTokens(small).map((t) => (t === "<fn:len>" ? "<fn:length>" : t))
    expect(errorOf(fn).found).toBe("<fn:length>")
  })

  it("rejects duplicate keys of a record-like dict", () => {
    const tokens = [...toTokens(small)]
    const i = tokens.indexOf("<key:query>")
    tokens.splice(i + 2, 0, "<key:query>", "<num:1>")
    expect(errorOf(tokens)).toMatchObject({ index: i + 2, expected: "a key other than query" })
  })

  it("reports Schema-level problems at the token where the value starts", () => {
    const tokens = toTokens(small).map((t) => (t === "<str:\"trellis/1\">" ? "<str:\"trellis/2\">" : t))
    const e = errorOf(tokens)
    expect(e.index).toBe(2)
    expect(e.expected).toBe("Unsupported IR version \"trellis/2\": this build reads \"trellis/1\"")
    const lit = toTokens(small).map((t) => (t === "<num:1>" ? "<num:Infinity>" : t))
    expect(errorOf(lit)).toMatchObject({ expected: "a finite number", found: "<num:Infinity>" })
  })
})

describe("text form", () => {
  it("is one token per line and tolerates blank lines, CRLF and indentation", () => {
    const tokens = toTokens(small)
    const text = tokensToText(tokens)
    expect(text.split("\n")).toHaveLength(tokens.length + 1)
    expect(text.endsWith("<close>\n")).toBe(true)
    expect(textToTokens(text)).toEqual(tokens)
    expect(textToTokens("\n  " + tokens.join("\r\n  ") + "\r\n\n")).toEqual(tokens)
    expect(tokensToText([])).toBe("")
  })

  it("keeps strings with newlines and line separators on one line", () => {
    const p = doc([], { kind: "lit", value: "a\nb\u2028c\r" })
    expect(fromTokens(textToTokens(tokensToText(toTokens(p))))).toEqual(Either.right(p))
  })
})

describe("scale", () => {
  it("handles a flat program of 100k nodes and a 100k-deep expression without recursion", () => {
    const nodes: Array<Node> = Array.from(
      { length: 100_000 },
      (_, i) => ({ id: `n${i}`, kind: "tool", tool: "t", args: {} })
    )
    const flat = doc(nodes, { kind: "lit", value: null })
    const tokens = toTokens(flat)
    expect(tokens.length).toBeGreaterThan(100_000 * 8)
    let deep: Expr = { kind: "lit", value: 0 }
    for (let i = 0; i < 100_000; i++) deep = { kind: "unary", op: "-", arg: deep }
    const deepTokens = toTokens(doc([], deep))
    expect(deepTokens.filter((t) => t === "<open:unary>")).toHaveLength(100_000)
  })

  it("decodes a flat program of 20k nodes", () => {
    const nodes: Array<Node> = Array.from(
      { length: 20_000 },
      (_, i) => ({ id: `n${i}`, kind: "tool", tool: "t", args: {} })
    )
    const flat = doc(nodes, { kind: "lit", value: null })
    expect(fromTokens(toTokens(flat))).toEqual(Either.right(flat))
  })
})
