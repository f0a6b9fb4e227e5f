/** The TypeScript builder produces the IR that the DSL lowers to. */
import { describe, expect, it } from "@effect/vitest"
import {
  all,
  branch,
  builtin,
  call,
  choose,
  compute,
  document,
  get,
  list,
  llm,
  make,
  map,
  named,
  op,
  par,
  program,
  pure,
  record,
  ref,
  seq,
  signature,
  slice,
  tool,
  types
} from "../../src/ir/builder.js"
import type { Program } from "../../src/ir/schema.js"
import { compileSource } from "../../src/language/index.js"
import { validate } from "../../src/validate/index.js"

/** Lowers DSL text, failing the test on any syntax error or lowering violation. */
const lowerDsl = (source: string): Program => {
  const r = compileSource(source)
  expect(r.syntaxErrors).toEqual([])
  expect(r.violations).toEqual([])
  return r.program!
}

/** Codes of the structural violations (V1–V3, V8 and document-level ones). */
const structural = (p: Program) =>
  validate(p)
    .map((v) => v.code)
    .filter((c) =>
      ["unbound-ref", "cycle", "duplicate-name", "recursive-call", "unknown-program", "bad-entry"].includes(c)
    )

const RESEARCH_DSL = `
signature Answer {
  "Answer the question using only the given context."
  input  question: string
  input  context: string[]
  output text: string
  output confidence: number   "0..1, how sure the answer is"
}

program research(question: string, k: number = 5) {
  hits   = tool search(query: question, k: k * 4)
             with { timeout: "2s", retry: { times: 3, backoff: "exponential", base: "100ms", jitter: "full" } }
  ranked = tool rerank(query: question, docs: hits)
  notes  = map doc in ranked[0:k] with { concurrency: 4 } {
             return tool summarize(text: doc.text)
           }
  answer = llm Answer(question: question, context: notes)
  final  = if answer.confidence >= 0.5 { return answer.text }
           else { return tool escalate(question: question) }
  tone   = choose "tone" {
             formal: { return llm Formal(text: final) }
             casual: { return llm Casual(text: final) }
           }
  tool audit.log(event: "answered", question: question) with { after: [final] }
  return { answer: tone, sources: ranked[0:k] }
}
`

const researchBuilt = (): Program =>
  document(
    program("research", {
      params: { question: "string", k: { type: "number", default: 5 } },
      body: ({ question, k }) => {
        const hits = named(
          "hits",
          tool(
            "search",
            { query: question, k: op("*", k, 4) },
            { timeout: "2s", retry: { times: 3, backoff: "exponential", base: "100ms", jitter: "full" } }
          )
        )
        const ranked = named("ranked", tool("rerank", { query: question, docs: hits.result }))
        const notes = named(
          "notes",
          map(slice(ranked.result, 0, k), (doc) => tool("summarize", { text: get(doc, "text") }), {
            as: "doc",
            concurrency: 4
          })
        )
        const answer = named("answer", llm("Answer", { question, context: notes.result }))
        const final = named(
          "final",
          branch(
            op(">=", get(answer.result, "confidence"), 0.5),
            pure(get(answer.result, "text")),
            tool("escalate", { question })
          )
        )
        const tone = named(
          "tone",
          choose("tone", {
            formal: llm("Formal", { text: final.result }),
            casual: llm("Casual", { text: final.result })
          })
        )
        const audit = tool("audit.log", { event: "answered", question }, { after: [final] })
        return all(
          [hits, ranked, notes, answer, final, tone, audit],
          record({ answer: tone.result, sources: slice(ranked.result, 0, k) })
        )
      }
    }),
    signature("Answer", {
      doc: "Answer the question using only the given context.",
      inputs: { question: "string", context: types.list("string") },
      outputs: { text: "string", confidence: { type: "number", doc: "0..1, how sure the answer is" } }
    })
  )

describe("builder", () => {
  it("builds the SPEC's research program exactly as the DSL lowers it", () => {
    expect(researchBuilt()).toEqual(lowerDsl(RESEARCH_DSL))
    expect(structural(researchBuilt())).toEqual([])
  })

  it("numbers unnamed steps per program in pre-order and puts return steps last", () => {
    const dsl = `
program main(xs: number[]) {
  tool log.start()
  out = map x in xs {
    tool log.item(x: x)
    return if x > 0 { return tool pos(x: x) } else { return tool neg(x: x) }
  }
  return run helper(n: len(out))
}
program helper(n: number) {
  tool a()
  return tool b(n: n)
}
`
    const built = document(
      program("main", {
        params: { xs: types.list("number") },
        body: ({ xs }) => {
          const start = tool("log.start")
          const out = named(
            "out",
            map(
              xs,
              (x) => {
                const ret = branch(op(">", x, 0), tool("pos", { x }), tool("neg", { x }))
                // the return step is listed first here; the builder moves it last, like `return step`
                return all([ret, tool("log.item", { x })], ret.result)
              },
              { as: "x" }
            )
          )
          const helper = call("helper", { n: builtin("len", out.result) })
          return all([start, out, helper], helper.result)
        }
      }),
      program("helper", {
        params: { n: "number" },
        body: ({ n }) => {
          const b = tool("b", { n })
          return all([tool("a"), b], b.result)
        }
      })
    )
    expect(built).toEqual(lowerDsl(dsl))
    expect(structural(built)).toEqual([])
  })

  it("names default binders item, item1, … avoiding other names", () => {
    const p = make({
      params: { item: types.list("any") },
      body: ({ item }) => map(item, (outer) => map(outer, (inner) => pure(list(outer, inner))))
    })
    const main = p.programs["main"]!
    const outer = main.nodes[0]!
    expect(outer.kind === "map" && outer.as).toBe("item1")
    const inner = outer.kind === "map" ? outer.body.nodes[0] : undefined
    expect(inner?.kind === "map" && inner.as).toBe("item2")
    expect(inner?.kind === "map" && inner.body.result).toEqual(list(ref("item1"), ref("item2")))
    expect(structural(p)).toEqual([])
  })

  it("seq adds after edges from the second flow's nodes to the first's", () => {
    const p = make({
      body: seq(named("a", tool("t.a")), all([named("b", tool("t.b")), named("c", tool("t.c"))], ref("c")))
    })
    expect(p.programs["main"]!.nodes.map((n) => [n.id, n.policy?.after])).toEqual([
      ["a", undefined],
      ["b", ["a"]],
      ["c", ["a"]]
    ])
    expect(p).toEqual(
      lowerDsl(`program main() {
  a = tool t.a()
  b = tool t.b() with { after: [a] }
  c = tool t.c() with { after: [a] }
  return c
}`)
    )
  })

  it("seq passes the first result to a continuation; pure is an identity", () => {
    const a = named("a", tool("t.a"))
    const viaFn = seq(a, (r) => named("b", tool("t.b", { x: r })))
    expect(viaFn.nodes[1]).toMatchObject({ id: "b", args: { x: ref("a") }, policy: { after: ["a"] } })
    expect(seq(a, pure)).toEqual(a)
    expect(seq(pure(1), a)).toEqual(a)
  })

  it("par yields the list of results; named and compute make expr nodes", () => {
    const p = make({
      params: { x: "number" },
      body: ({ x }) => {
        const y = named("y", compute(op("+", x, 1)))
        const z = named("z", pure(op("*", x, 2)))
        return par(y, z)
      }
    })
    expect(p).toEqual(
      lowerDsl(`program main(x: number) {
  y = x + 1
  z = x * 2
  return [y, z]
}`)
    )
  })

  it("a program without result returns null; make defaults the name to main", () => {
    const p = make({ body: all([tool("ping")]) })
    expect(p).toEqual(lowerDsl("program main() {\n  tool ping()\n}"))
  })

  it("the README example builds a program that lowers the same from DSL", () => {
    const b = { document, program, named, tool, op, map, slice, get, all, record, signature }
    const built = b.document(
      b.program("research", {
        params: { question: "string", k: { type: "number", default: 5 } },
        body: ({ question, k }) => {
          const hits = b.named("hits", b.tool("search", { query: question, k: b.op("*", k, 4) }, { timeout: "2s" }))
          const notes = b.named(
            "notes",
            b.map(b.slice(hits.result, 0, k), (doc) => b.tool("summarize", { text: b.get(doc, "text") }), {
              as: "doc",
              concurrency: 4
            })
          )
          const audit = b.tool("audit.log", { event: "searched" }, { after: [notes] })
          return b.all([hits, notes, audit], b.record({ notes: notes.result }))
        }
      }),
      b.signature("Answer", { inputs: { question: "string" }, outputs: { text: "string" } })
    )
    expect(built).toEqual(
      lowerDsl(`
signature Answer {
  input question: string
  output text: string
}
program research(question: string, k: number = 5) {
  hits = tool search(query: question, k: k * 4) with { timeout: "2s" }
  notes = map doc in hits[0:k] with { concurrency: 4 } { return tool summarize(text: doc.text) }
  tool audit.log(event: "searched") with { after: [notes] }
  return { notes: notes }
}`)
    )
  })
})
