/** The JSON codec of the IR (src/ir/json.ts). */
import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import {
  decodeProgram,
  encodeProgram,
  IrDecodeError,
  jsonSyntaxError,
  MAX_ISSUES,
  parseProgramJson
} from "../../src/ir/json.js"
import type { Node, Program } from "../../src/ir/schema.js"

const minimal: Program = {
  ir: "trellis/1",
  entry: "main",
  programs: {
    main: { params: [], nodes: [{ id: "a", kind: "tool", tool: "t", args: {} }], result: { kind: "ref", name: "a" } }
  },
  signatures: {}
}

/** The issues of a failed decode (fails the test when decoding succeeded). */
const issuesOf = (r: Either.Either<Program, IrDecodeError>) => {
  if (Either.isRight(r)) throw new Error("expected a decode error")
  expect(r.left).toBeInstanceOf(IrDecodeError)
  expect(r.left._tag).toBe("IrDecodeError")
  return r.left.issues
}

describe("encodeProgram", () => {
  it("writes compact JSON by default and two-space indented JSON when pretty", () => {
    expect(encodeProgram(minimal)).toBe(JSON.stringify(minimal))
    const pretty = encodeProgram(minimal, { pretty: true })
    expect(pretty.split("\n")[1]).toBe("  \"ir\": \"trellis/1\",")
    expect(JSON.parse(pretty)).toEqual(minimal)
  })
})

describe("decodeProgram", () => {
  it("accepts a valid program", () => {
    expect(decodeProgram(JSON.parse(encodeProgram(minimal)))).toEqual(Either.right(minimal))
  })

  it("rejects unknown fields with their path", () => {
    const node = { ...minimal.programs["main"]!.nodes[0]!, retries: 3 }
    const doc = { ...minimal, programs: { main: { ...minimal.programs["main"]!, nodes: [node] } } }
    expect(issuesOf(decodeProgram(doc))).toEqual([
      {
        path: ["programs", "main", "nodes", 0, "retries"],
        message: "Unknown field \"retries\"; expected one of \"id\" | \"kind\" | \"tool\" | \"args\" | \"policy\""
      }
    ])
  })

  it("reports every issue at once", () => {
    const doc = {
      ir: "trellis/1",
      entry: 3,
      programs: { main: { params: [], nodes: [{ id: "b", kind: "bogus" }], result: { kind: "lit", value: 1 } } }
    }
    expect(issuesOf(decodeProgram(doc))).toEqual([
      { path: ["entry"], message: "Expected string, actual 3" },
      {
        path: ["programs", "main", "nodes", 0, "kind"],
        message:
          "Expected \"tool\" | \"llm\" | \"call\" | \"map\" | \"branch\" | \"choose\" | \"race\" | \"expr\" | \"wait\", actual \"bogus\""
      },
      { path: ["signatures"], message: "is missing" }
    ])
  })

  it("merges the failed alternatives of a union into one issue", () => {
    const doc = { ...minimal, programs: { main: { params: [], nodes: [], result: { kind: "lit", value: [1] } } } }
    expect(issuesOf(decodeProgram(doc))).toEqual([
      {
        path: ["programs", "main", "result", "value"],
        message: "Expected string | number | boolean | null, actual [1]"
      }
    ])
  })

  it("caps the issues at MAX_ISSUES and says how many were left out", () => {
    const nodes = Array.from({ length: 150 }, (_, i) => ({ id: `n${i}`, kind: "tool", tool: 1, args: {} }))
    const issues = issuesOf(
      decodeProgram({ ...minimal, programs: { main: { params: [], nodes, result: { kind: "lit", value: 1 } } } })
    )
    expect(issues).toHaveLength(MAX_ISSUES + 1)
    expect(issues[0]).toEqual({ path: ["programs", "main", "nodes", 0, "tool"], message: "Expected string, actual 1" })
    expect(issues[MAX_ISSUES]).toEqual({ path: [], message: "… and 50 more issues" })
  })

  it("rejects another IR version with one clear message", () => {
    expect(issuesOf(decodeProgram({ ...minimal, ir: "trellis/2" }))).toEqual([
      { path: ["ir"], message: "Unsupported IR version \"trellis/2\": this build reads \"trellis/1\"" }
    ])
    expect(issuesOf(decodeProgram({ ...minimal, ir: 1 }))[0]!.message).toBe(
      "Unsupported IR version a number: this build reads \"trellis/1\""
    )
    expect(issuesOf(decodeProgram({ entry: "main" }))[0]).toEqual({ path: ["ir"], message: "is missing" })
  })

  it("rejects __proto__ keys instead of dropping them", () => {
    const r = parseProgramJson(
      "{\"ir\":\"trellis/1\",\"entry\":\"main\",\"programs\":{\"__proto__\":{\"params\":[],\"nodes\":[],\"result\":{\"kind\":\"lit\",\"value\":1}}},\"signatures\":{}}"
    )
    expect(issuesOf(r)).toEqual([{ path: ["programs", "__proto__"], message: "The key \"__proto__\" is not allowed" }])
  })

  it("formats its message with JSON Pointers", () => {
    const r = decodeProgram({ ...minimal, entry: 3, signatures: [] })
    expect(Either.isLeft(r) && r.left.message).toBe(
      "/entry: Expected string, actual 3\n/signatures: Expected { readonly [x: string]: Signature }, actual []"
    )
  })
})

describe("parseProgramJson", () => {
  it("reports the line and column of a JSON syntax error", () => {
    const issues = issuesOf(parseProgramJson("{\n  \"ir\": \"trellis/1\",\n  \"entry\": tru\n}"))
    expect(issues).toEqual([
      {
        path: [],
        message: "Invalid JSON: expected a JSON value, found \"t\"",
        span: { start: { line: 3, column: 12, offset: 34 }, end: { line: 3, column: 13, offset: 35 } }
      }
    ])
    const r = parseProgramJson("{\n")
    expect(Either.isLeft(r) && r.left.message).toBe("2:1: Invalid JSON: expected a string key, found end of input")
  })

  it("decodes after parsing", () => {
    expect(parseProgramJson(encodeProgram(minimal, { pretty: true }))).toEqual(Either.right(minimal))
    expect(issuesOf(parseProgramJson("[]"))).toEqual([{ path: [], message: "Expected Program, actual []" }])
  })

  it("handles a flat program of 20k nodes", () => {
    const nodes: Array<Node> = Array.from(
      { length: 20_000 },
      (_, i) => ({ id: `n${i}`, kind: "tool", tool: "t", args: {} })
    )
    const big: Program = { ...minimal, programs: { main: { params: [], nodes, result: { kind: "lit", value: null } } } }
    expect(parseProgramJson(encodeProgram(big))).toEqual(Either.right(big))
  })
})

describe("jsonSyntaxError", () => {
  it("agrees with JSON.parse on what is valid", () => {
    const texts = [
      "{}",
      "[]",
      " { \"a\" : [1, -2.5e+3, true, false, null, \"x\\n\\u00e9\"] } ",
      "{\"a\":}",
      "[1,2,]",
      "",
      "{\"a\":1}x",
      "\"abc",
      "{\"a\" 1}",
      "[[[[",
      "-01",
      "1.",
      "\"\\x\"",
      "[1 2]",
      "\"tab\there\"",
      "01",
      "-",
      "{,}",
      "{\"a\":1,}",
      "nul",
      "[".repeat(10_000) + "]".repeat(10_000)
    ]
    for (const t of texts) {
      let valid = true
      try {
        JSON.parse(t)
      } catch {
        valid = false
      }
      expect(jsonSyntaxError(t) === undefined, t.slice(0, 20)).toBe(valid)
    }
  })

  it("points at the offending character", () => {
    expect(jsonSyntaxError("{\"a\":}")).toEqual({
      offset: 5,
      message: "Invalid JSON: expected a JSON value, found \"}\""
    })
    expect(jsonSyntaxError("[1 2]")).toEqual({ offset: 3, message: "Invalid JSON: expected ',' or ']', found \"2\"" })
    expect(jsonSyntaxError("{\"a\":1}x")).toEqual({
      offset: 7,
      message: "Invalid JSON: expected end of input, found \"x\""
    })
    expect(jsonSyntaxError("\"abc")).toEqual({
      offset: 4,
      message: "Invalid JSON: expected '\"' to close the string, found end of input"
    })
  })
})
