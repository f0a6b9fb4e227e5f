import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import { pathToPointer, spanOf } from "../../src/ir/diagnostic.js"
import { Program as ProgramSchema } from "../../src/ir/schema.js"
import type { Body, Expr, Node, Program } from "../../src/ir/schema.js"
import { compileSource } from "../../src/language/index.js"
import { examples, kitchenSink } from "../support/language.js"

/** Lowers a source that must parse; returns the whole result. */
const compile = (source: string) => {
  const r = compileSource(source)
  if (r.program === undefined) throw new Error(r.syntaxErrors.map((e) => e.message + "\n" + e.excerpt).join("\n"))
  return { program: r.program, sourceMap: r.sourceMap, violations: r.violations }
}
const lowerOk = (source: string): Program => {
  const r = compile(source)
  expect(r.violations).toEqual([])
  return r.program
}
const mainOf = (source: string) => {
  const p = lowerOk(source)
  const def = p.programs[p.entry]
  if (def === undefined) throw new Error("no entry")
  return def
}
/** The expression of `v = <expr>`. */
const exprOf = (source: string): Expr => {
  const node = mainOf(`program p() { v = ${source} }`).nodes[0]
  if (node?.kind !== "expr") throw new Error("not an expr node")
  return node.expr
}
const ids = (body: Body): ReadonlyArray<string> => body.nodes.map((n) => n.id)
const lit = (value: string | number | boolean | null): Expr => ({ kind: "lit", value })
const ref = (name: string): Expr => ({ kind: "ref", name })

describe("lower: the kitchen sink and the examples", () => {
  it("lower without violations to Schema-valid IR", () => {
    for (const [name, source] of examples) {
      const r = compile(source)
      expect(r.violations, name).toEqual([])
      expect(Schema.is(ProgramSchema)(r.program), name).toBe(true)
    }
  })

  it("the kitchen sink has the expected shape", () => {
    const p = lowerOk(kitchenSink)
    expect(p.ir).toBe("trellis/1")
    expect(p.entry).toBe("main")
    expect(Object.keys(p.programs)).toEqual(["score", "main", "index"])
    expect(p.signatures["Summarize"]).toEqual({
      doc: "Summarize a text in one paragraph.",
      inputs: [
        { name: "text", type: { kind: "string" } },
        {
          name: "style",
          type: {
            kind: "record",
            fields: [{ name: "tone", type: { kind: "string" } }, { name: "words", type: { kind: "number" } }]
          },
          doc: "How to write it"
        }
      ],
      outputs: [
        { name: "summary", type: { kind: "string" }, doc: "The summary" },
        { name: "keywords", type: { kind: "list", of: { kind: "string" } } }
      ]
    })
    const main = p.programs["main"]!
    expect(main.params.map((x) => x.name)).toEqual(["query", "k", "tags", "opts", "matrix", "flag", "extra"])
    expect(main.params[4]).toEqual({
      name: "matrix",
      type: { kind: "list", of: { kind: "list", of: { kind: "number" } } },
      default: {
        kind: "list",
        items: [{ kind: "list", items: [lit(1), lit(2)] }, { kind: "list", items: [lit(3), lit(4)] }]
      }
    })
    expect(ids(main)).toEqual([
      "hits",
      "fresh",
      "top",
      "rest",
      "head",
      "tail",
      "first",
      "last",
      "cell",
      "row",
      "mode",
      "deep",
      "arith",
      "logic",
      "negated",
      "cmp",
      "strs",
      "paren",
      "neg",
      "label",
      "stats",
      "summaries",
      "verdict",
      "tier",
      "$2",
      "tone",
      "s",
      "$5",
      "$6",
      "$7",
      "$8"
    ])
    expect(main.nodes[0]).toEqual({
      id: "hits",
      kind: "tool",
      tool: "search.web",
      args: {
        query: ref("query"),
        limit: { kind: "binary", op: "*", left: ref("k"), right: lit(4) },
        filters: {
          kind: "record",
          entries: [{ key: "tags", value: ref("tags") }, { key: "min-score", value: lit(0.25) }]
        }
      },
      policy: {
        timeout: "2s",
        retry: {
          times: 3,
          backoff: "exponential",
          base: "100ms",
          factor: 2,
          max: "5s",
          jitter: "full",
          maxElapsed: "30s",
          on: ["Timeout", "RateLimited", "Transient"]
        },
        cache: { ttl: "1h" },
        idempotencyKey: { kind: "call", fn: "concat", args: [lit("search:"), ref("query")] },
        label: "web search",
        budget: { cost: 0.5, tokens: 1000 }
      }
    })
    const summaries = main.nodes[21] as Node
    expect(summaries).toMatchObject({
      id: "summaries",
      kind: "map",
      as: "hit",
      concurrency: 4,
      policy: { label: "summaries" }
    })
    expect(summaries.kind === "map" && summaries.body.nodes[1]).toMatchObject({
      id: "short",
      kind: "llm",
      model: "local/echo",
      policy: { timeout: "10s" }
    })
    expect(main.result).toEqual(ref("$8"))
    expect(p.programs["index"]).toMatchObject({
      nodes: [{ id: "$0", kind: "map", body: { nodes: [{ id: "$1", kind: "tool" }], result: ref("$1") } }],
      result: ref("$0")
    })
  })
})

describe("lower: conventions", () => {
  it("numbers unnamed steps $0, $1, … per program, in pre-order, return steps last", () => {
    const p = lowerOk(`
      program p() {
        tool a()
        x = map d in ds { tool b() return tool c() }
        y = if c { return tool d() } else if e { return 1 } else { return tool f() }
        return tool g()
      }
      program q() { tool h() }`)
    const def = p.programs["p"]!
    expect(ids(def)).toEqual(["$0", "x", "y", "$6"])
    expect(def.result).toEqual(ref("$6"))
    const x = def.nodes[1]!
    expect(x.kind === "map" && [ids(x.body), x.body.result]).toEqual([["$1", "$2"], ref("$2")])
    const y = def.nodes[2]!
    if (y.kind !== "branch" || y.else === null) throw new Error("branch expected")
    expect([ids(y.then), y.then.result]).toEqual([["$3"], ref("$3")])
    const elseIf = y.else.nodes[0]!
    expect([ids(y.else), y.else.result]).toEqual([["$4"], ref("$4")])
    expect(elseIf.kind === "branch" && [elseIf.then, elseIf.else]).toEqual([
      { nodes: [], result: lit(1) },
      { nodes: [{ id: "$5", kind: "tool", tool: "f", args: {} }], result: ref("$5") }
    ])
    expect(p.programs["q"]).toEqual({
      params: [],
      nodes: [{ id: "$0", kind: "tool", tool: "h", args: {} }],
      result: lit(null)
    })
  })

  it("`return <expr>` is the result itself; an else-less if has else null; `else <step>` is a one-step body", () => {
    const def = mainOf(`program main() { a = if c { return x + 1 } b = if c { return 1 } else tool t() return [a, b] }`)
    expect(def.nodes).toEqual([
      {
        id: "a",
        kind: "branch",
        cond: ref("c"),
        then: { nodes: [], result: { kind: "binary", op: "+", left: ref("x"), right: lit(1) } },
        else: null
      },
      {
        id: "b",
        kind: "branch",
        cond: ref("c"),
        then: { nodes: [], result: lit(1) },
        else: { nodes: [{ id: "$0", kind: "tool", tool: "t", args: {} }], result: ref("$0") }
      }
    ])
    expect(def.result).toEqual({ kind: "list", items: [ref("a"), ref("b")] })
  })

  it("folds -<number> into a negative literal and x[\"k\"] into a field access, unless parenthesized", () => {
    expect(exprOf("-5")).toEqual(lit(-5))
    expect(exprOf("- 2.5e3")).toEqual(lit(-2500))
    expect(exprOf("-0")).toEqual(lit(-0))
    expect(exprOf("-(5)")).toEqual({ kind: "unary", op: "-", arg: lit(5) })
    expect(exprOf("--5")).toEqual({ kind: "unary", op: "-", arg: lit(-5) })
    expect(exprOf("-x")).toEqual({ kind: "unary", op: "-", arg: ref("x") })
    expect(exprOf("x[\"a b\"]")).toEqual({ kind: "get", target: ref("x"), field: "a b" })
    expect(exprOf("x.if")).toEqual({ kind: "get", target: ref("x"), field: "if" })
    expect(exprOf("x[(\"k\")]")).toEqual({ kind: "index", target: ref("x"), index: lit("k") })
    expect(exprOf("x[0]")).toEqual({ kind: "index", target: ref("x"), index: lit(0) })
    expect(exprOf("x[1:]")).toEqual({ kind: "slice", target: ref("x"), start: lit(1), end: null })
    expect(exprOf("x[:-1]")).toEqual({ kind: "slice", target: ref("x"), start: null, end: lit(-1) })
    expect(exprOf("(a)")).toEqual(ref("a"))
    expect(exprOf("{ a: 1, \"b\": null, \"if\": true }")).toEqual({
      kind: "record",
      entries: [{ key: "a", value: lit(1) }, { key: "b", value: lit(null) }, { key: "if", value: lit(true) }]
    })
    expect(exprOf("range(3)")).toEqual({ kind: "call", fn: "range", args: [lit(3)] })
  })

  it("folds model into llm nodes, concurrency into map nodes, after into names", () => {
    const def = mainOf(`
      signature S { input q: string output a: string }
      program main() {
        a = llm S(q: "x") with { model: "local/echo" }
        b = map i in [1] with { concurrency: 3 } { return i }
        c = tool t() with { after: [a, "b"], cache: false }
        d = tool u() with {}
      }`)
    expect(def.nodes[0]).toEqual({ id: "a", kind: "llm", signature: "S", args: { q: lit("x") }, model: "local/echo" })
    expect(def.nodes[1]).toMatchObject({ id: "b", kind: "map", concurrency: 3 })
    expect(def.nodes[1]).not.toHaveProperty("policy")
    expect(def.nodes[2]).toEqual({
      id: "c",
      kind: "tool",
      tool: "t",
      args: {},
      policy: { cache: false, after: ["a", "b"] }
    })
    expect(def.nodes[3]).toEqual({ id: "d", kind: "tool", tool: "u", args: {}, policy: {} })
  })

  it("takes `main` as the entry, else the first program; keeps odd names as own properties", () => {
    expect(lowerOk("program a() {} program main() {}").entry).toBe("main")
    expect(lowerOk("program b() {} program a() {}").entry).toBe("b")
    const p = lowerOk("program __proto__() { tool t(__proto__: 1) }")
    expect(Object.keys(p.programs)).toEqual(["__proto__"])
    expect(Object.keys((p.programs["__proto__"]!.nodes[0] as Node & { args: object }).args)).toEqual(["__proto__"])
  })
})

describe("lower: source map", () => {
  const source = [
    "program main(k: number = 2) {",
    "  hits = tool search(query: \"q\", k: k * 4)",
    "    with { timeout: \"2s\" }",
    "  return hits[0]",
    "}"
  ].join("\n")
  const { sourceMap } = compile(source)
  const at = (pointer: string) => {
    const span = sourceMap.get(pointer)
    return span === undefined ? undefined : source.slice(span.start.offset, span.end.offset)
  }

  it("maps programs, params, nodes, args, exprs, policy entries and results to their text", () => {
    expect(at("/programs/main")?.startsWith("program main(")).toBe(true)
    expect(at("/programs/main/params/0")).toBe("k: number = 2")
    expect(at("/programs/main/params/0/type")).toBe("number")
    expect(at("/programs/main/params/0/default")).toBe("2")
    expect(at("/programs/main/nodes/0")).toBe(
      "hits = tool search(query: \"q\", k: k * 4)\n    with { timeout: \"2s\" }"
    )
    expect(at("/programs/main/nodes/0/id")).toBe("hits")
    expect(at("/programs/main/nodes/0/tool")).toBe("search")
    expect(at("/programs/main/nodes/0/args/k")).toBe("k * 4")
    expect(at("/programs/main/nodes/0/args/k/left")).toBe("k")
    expect(at("/programs/main/nodes/0/args/k/right")).toBe("4")
    expect(at("/programs/main/nodes/0/policy")).toBe("{ timeout: \"2s\" }")
    expect(at("/programs/main/nodes/0/policy/timeout")).toBe("timeout: \"2s\"")
    expect(at("/programs/main/result")).toBe("hits[0]")
    expect(at("/programs/main/result/index")).toBe("0")
  })

  it("has exact spans (line, column, offset)", () => {
    expect(sourceMap.get("/programs/main/nodes/0/args/k")).toEqual({
      start: { line: 2, column: 37, offset: 66 },
      end: { line: 2, column: 42, offset: 71 }
    })
    expect(spanOf(sourceMap, ["programs", "main", "nodes", 0, "args", "k", "left"])).toEqual({
      start: { line: 2, column: 37, offset: 66 },
      end: { line: 2, column: 38, offset: 67 }
    })
    // A path without its own span falls back to the nearest ancestor.
    expect(spanOf(sourceMap, ["programs", "main", "nodes", 0, "policy", "retry"])).toEqual(
      sourceMap.get(pathToPointer(["programs", "main", "nodes", 0, "policy"]))
    )
  })

  it("maps return steps, bodies and else-if branches", () => {
    const src = "program p() { a = if c { return 1 } else if d { return tool t() } }"
    const { sourceMap: sm } = compile(src)
    const text = (pointer: string) => {
      const span = sm.get(pointer)
      return span === undefined ? undefined : src.slice(span.start.offset, span.end.offset)
    }
    expect(text("/programs/p/nodes/0/then")).toBe("{ return 1 }")
    expect(text("/programs/p/nodes/0/else")).toBe("if d { return tool t() }")
    expect(text("/programs/p/nodes/0/else/nodes/0/then/nodes/0")).toBe("tool t()")
    expect(text("/programs/p/nodes/0/else/nodes/0/then/result")).toBe("return tool t()")
  })
})

describe("lower: violations", () => {
  const violations = (source: string) =>
    compile(source).violations.map((v) => ({
      code: v.code,
      message: v.message,
      pointer: pathToPointer(v.path),
      at: v.span && `${v.span.start.line}:${v.span.start.column}`
    }))

  it("reports duplicate programs, signatures and arguments", () => {
    expect(
      violations("program a() { tool t(x: 1, x: 2) }\nprogram a() {}\nsignature S { }\nsignature S { input q: string }")
    ).toEqual([
      {
        code: "duplicate-name",
        message: "Argument \"x\" is given more than once",
        pointer: "/programs/a/nodes/0/args/x",
        at: "1:28"
      },
      {
        code: "duplicate-name",
        message: "Program \"a\" is declared more than once",
        pointer: "/programs/a",
        at: "2:9"
      },
      {
        code: "duplicate-name",
        message: "Signature \"S\" is declared more than once",
        pointer: "/signatures/S",
        at: "4:11"
      }
    ])
    expect(compile("program a() { tool t(x: 1, x: 2) } program a() { b = 1 }").program.programs["a"]).toEqual({
      params: [],
      nodes: [{ id: "$0", kind: "tool", tool: "t", args: { x: lit(1) } }],
      result: lit(null)
    })
  })

  it("reports malformed policies as bad-policy and leaves them out", () => {
    const r = compile(`program p() {
  a = tool t() with { timeout: 5, retry: { times: "3", backoff: "linear", jitter: 1, on: ["Oops"], base: x, wat: 1, times: 2 } }
  b = tool t() with { cache: { ttl: 5 }, after: [1], label: x, budget: { cost: "a" }, model: "m", concurrency: 2, foo: 1 }
  c = llm S() with { model: 4, timeout: "1s", timeout: "2s" }
  d = map i in [] with { concurrency: "x" } { return i }
  return 1 with { label: "r" }
}`)
    expect(
      r.violations.map((
        v
      ) => [v.code, pathToPointer(v.path), `${v.span?.start.line}:${v.span?.start.column}`, v.message])
    ).toEqual([
      [
        "bad-policy",
        "/programs/p/nodes/0/policy/timeout",
        "2:23",
        "Policy \"timeout\" must be a literal duration string such as \"2s\""
      ],
      ["bad-policy", "/programs/p/nodes/0/policy/retry/times", "2:44", "Retry \"times\" must be a literal number"],
      [
        "bad-policy",
        "/programs/p/nodes/0/policy/retry/backoff",
        "2:56",
        "Retry \"backoff\" must be \"exponential\", \"fixed\" or \"none\""
      ],
      [
        "bad-policy",
        "/programs/p/nodes/0/policy/retry/jitter",
        "2:75",
        "Retry \"jitter\" must be \"full\", \"equal\" or \"none\""
      ],
      [
        "bad-policy",
        "/programs/p/nodes/0/policy/retry/on",
        "2:86",
        "Retry \"on\" must be a list of error kinds (Timeout, RateLimited, Transient, Permanent, Cancelled, BudgetExceeded, ResourceExhausted, CircuitOpen, Defect)"
      ],
      [
        "bad-policy",
        "/programs/p/nodes/0/policy/retry/base",
        "2:100",
        "Retry \"base\" must be a literal duration string such as \"100ms\""
      ],
      [
        "bad-policy",
        "/programs/p/nodes/0/policy/retry/wat",
        "2:109",
        "Unknown retry field \"wat\"; expected one of times, backoff, base, factor, max, jitter, maxElapsed, on"
      ],
      [
        "bad-policy",
        "/programs/p/nodes/0/policy/retry/times",
        "2:117",
        "Retry field \"times\" is given more than once"
      ],
      [
        "bad-policy",
        "/programs/p/nodes/1/policy/cache",
        "3:23",
        "Policy \"cache\" must be false or { ttl: \"<duration>\" }"
      ],
      ["bad-policy", "/programs/p/nodes/1/policy/after", "3:42", "Policy \"after\" must be a list of step names"],
      ["bad-policy", "/programs/p/nodes/1/policy/label", "3:54", "Policy \"label\" must be a literal string"],
      [
        "bad-policy",
        "/programs/p/nodes/1/policy/budget",
        "3:64",
        "Policy \"budget\" must be a record { cost?: number, tokens?: number } of literals"
      ],
      ["bad-policy", "/programs/p/nodes/1/model", "3:87", "\"model\" is only allowed on llm steps"],
      ["bad-policy", "/programs/p/nodes/1/concurrency", "3:99", "\"concurrency\" is only allowed on map steps"],
      [
        "bad-policy",
        "/programs/p/nodes/1/policy/foo",
        "3:115",
        "Unknown policy key \"foo\"; expected one of timeout, retry, cache, idempotencyKey, after, concurrency, take, fold, init, label, budget, hedge, model, hedgeModel"
      ],
      ["bad-policy", "/programs/p/nodes/2/model", "4:22", "Policy \"model\" must be a literal string"],
      ["bad-policy", "/programs/p/nodes/2/policy/timeout", "4:47", "Policy key \"timeout\" is given more than once"],
      ["bad-policy", "/programs/p/nodes/3/concurrency", "5:26", "Policy \"concurrency\" must be a literal number"],
      [
        "bad-policy",
        "/programs/p/result",
        "6:17",
        "A policy cannot apply to \"return <expression>\", which creates no step"
      ]
    ])
    const nodes = r.program.programs["p"]!.nodes
    expect(nodes.map((n) => n.policy)).toEqual([{ retry: {} }, {}, { timeout: "1s" }, undefined])
  })

  it("reports a call of an unknown function as unbound-ref", () => {
    expect(violations("program p() { v = lenn(1) }")).toEqual([
      {
        code: "unbound-ref",
        message:
          "Unknown function \"lenn\"; the builtins are len, keys, values, concat, join, split, lower, upper, min, max, sum, round, str, num, range, patched",
        pointer: "/programs/p/nodes/0/expr",
        at: "1:19"
      }
    ])
  })
})
