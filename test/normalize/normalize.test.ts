import { describe, expect, it } from "vitest"
import { canonicalJson } from "../../src/ir/canonical.js"
import { sha256Hex } from "../../src/ir/hash.js"
import type { Node, Program } from "../../src/ir/schema.js"
import { canonicalForm, FOLD_LIMIT, hashProgram, normalize, RETRY_DEFAULTS } from "../../src/normalize/index.js"
import { bin, compile, exprNode, get, list, lit, mainOf, norm, program, ref, tool } from "../support/normalize.js"

/** The node of a normalized program whose label is `label` (searched in every scope). */
const byLabel = (p: Program, label: string): Node => {
  const id = Object.entries(p.labels ?? {}).find(([, l]) => l === label)?.[0]
  const find = (nodes: ReadonlyArray<Node>): Node | undefined => {
    for (const n of nodes) {
      if (n.id === id) return n
      const inner = n.kind === "map"
        ? find(n.body.nodes)
        : n.kind === "branch"
        ? (find(n.then.nodes) ?? (n.else ? find(n.else.nodes) : undefined))
        : n.kind === "choose"
        ? n.options.map((o) => find(o.body.nodes)).find((x) => x !== undefined)
        : undefined
      if (inner) return inner
    }
    return undefined
  }
  for (const def of Object.values(p.programs)) {
    const hit = find(def.nodes)
    if (hit) return hit
  }
  throw new Error(`no node labelled ${label}`)
}

describe("N1: defaults made explicit", () => {
  it("fills call arguments from the callee's closed param defaults", () => {
    const p = norm(`
      program helper(a: number, k: number = 5, s: string = "x" + "y") { return k }
      program main() { r = run helper(a: 1) return r }`)
    expect(mainOf(p).nodes).toEqual([
      { id: "n0", kind: "call", program: "helper", args: { a: lit(1), k: lit(5), s: lit("xy") } }
    ])
    // The callee's own default is folded too.
    expect(p.programs["helper"]!.params[2]).toEqual({ name: "s", type: { kind: "string" }, default: lit("xy") })
  })

  it("does not fill a default that mentions a name, nor a given argument", () => {
    const p = normalize({
      ...program([{ id: "r", kind: "call", program: "helper", args: { k: lit(9) } }], ref("r")),
      programs: {
        main: program([{ id: "r", kind: "call", program: "helper", args: { k: lit(9) } }], ref("r")).programs["main"]!,
        helper: {
          params: [
            { name: "a", type: { kind: "number" }, default: lit(1) },
            { name: "k", type: { kind: "number" }, default: lit(2) },
            { name: "z", type: { kind: "number" }, default: ref("a") }
          ],
          nodes: [],
          result: ref("a")
        }
      }
    })
    expect(mainOf(p).nodes[0]).toEqual({ id: "n0", kind: "call", program: "helper", args: { a: lit(1), k: lit(9) } })
  })

  it("makes every retry default explicit and keeps max / maxElapsed only when given", () => {
    const p = norm(`program main() { tool t() with { retry: { times: 5 } } }`)
    expect(mainOf(p).nodes[0]!.policy).toEqual({
      retry: {
        times: 5,
        backoff: "exponential",
        base: "100ms",
        factor: 2,
        jitter: "full",
        on: ["RateLimited", "Timeout", "Transient"]
      }
    })
    const q = norm(`program main() {
      tool t() with { retry: { backoff: "fixed", max: "1s", maxElapsed: "10s", on: ["Transient", "Timeout", "Transient"] } }
    }`)
    expect(mainOf(q).nodes[0]!.policy).toEqual({
      retry: {
        times: 3,
        backoff: "fixed",
        base: "100ms",
        factor: 2,
        max: "1s",
        jitter: "full",
        maxElapsed: "10s",
        on: ["Timeout", "Transient"]
      }
    })
    expect(RETRY_DEFAULTS.times).toBe(3)
  })

  it("gives an else-less branch the empty else body", () => {
    const p = norm(`program main(c: boolean) { x = if c { return tool t() } return x }`)
    const branch = mainOf(p).nodes[0]!
    expect(branch.kind === "branch" && branch.else).toEqual({ nodes: [], result: lit(null) })
  })

  it("drops an empty policy and an empty after list", () => {
    const p = normalize(program([tool("a", "t", {}, { policy: { after: [] } }), tool("b", "u", {}, { policy: {} })]))
    for (const n of mainOf(p).nodes) expect(n.policy).toBeUndefined()
  })
})

describe("N2: canonical names and labels", () => {
  it("renames nodes to n0, n1, … and binders to v0, … with a labels table", () => {
    const p = norm(`program main(xs: any) {
      hits = tool search(q: xs)
      out = map doc in hits { return tool summarize(text: doc.text) }
      return out
    }`)
    expect(mainOf(p)).toEqual({
      nodes: [
        { id: "n0", kind: "tool", tool: "search", args: { q: ref("xs") } },
        {
          id: "n1",
          kind: "map",
          over: ref("n0"),
          as: "v0",
          body: {
            nodes: [{ id: "n2", kind: "tool", tool: "summarize", args: { text: get(ref("v0"), "text") } }],
            result: ref("n2")
          }
        }
      ],
      result: ref("n1")
    })
    // The synthetic return step ($0) gets no label; params and program names are kept.
    expect(p.labels).toEqual({ n0: "hits", n1: "out", v0: "doc" })
  })

  it("numbers programs in sorted name order, globally", () => {
    const p = norm(`
      program zeta() { a = tool t() return a }
      program main() { b = tool u() return b }`)
    expect(mainOf(p).nodes[0]!.id).toBe("n0")
    expect(p.programs["zeta"]!.nodes[0]!.id).toBe("n1")
    expect(Object.keys(p.programs)).toEqual(["main", "zeta"])
    expect(p.labels).toEqual({ n0: "b", n1: "a" })
  })

  it("never gives a node the name of a param", () => {
    const p = normalize(
      program([tool("a", "t", { x: ref("n0") }), tool("b", "t", { x: ref("a") })], ref("b"), [{ name: "n0" }, {
        name: "n2"
      }])
    )
    expect(mainOf(p)).toEqual({
      nodes: [
        { id: "n1", kind: "tool", tool: "t", args: { x: ref("n0") } },
        { id: "n3", kind: "tool", tool: "t", args: { x: ref("n1") } }
      ],
      result: ref("n3")
    })
  })

  it("resolves shadowed names lexically before renaming", () => {
    // Inside the map, `x` is the inner node, and `doc` is the binder; outside, `x` is the outer node.
    const p = normalize(
      program(
        [
          tool("x", "outer"),
          {
            id: "m",
            kind: "map",
            over: ref("x"),
            as: "doc",
            body: { nodes: [tool("x", "inner", { d: ref("doc") })], result: ref("x") }
          },
          {
            id: "m2",
            kind: "map",
            over: ref("x"),
            as: "x",
            body: { nodes: [tool("y", "use", { v: ref("x") })], result: ref("y") }
          }
        ],
        list(ref("x"), ref("m"), ref("m2"))
      )
    )
    const outer = byLabel(p, "x")
    expect(outer.kind === "tool" && outer.tool).toBe("outer")
    const m = byLabel(p, "m")
    expect(m.kind === "map" && m.over).toEqual(ref(outer.id))
    if (m.kind !== "map") throw new Error("m is a map")
    const inner = m.body.nodes[0]!
    expect(inner.kind === "tool" && inner.tool).toBe("inner")
    expect(inner.kind === "tool" && inner.args["d"]).toEqual(ref(m.as))
    expect(m.body.result).toEqual(ref(inner.id))
    const m2 = byLabel(p, "m2")
    if (m2.kind !== "map") throw new Error("m2 is a map")
    // The binder named x shadows the outer node x.
    expect(m2.body.nodes[0]!.kind === "tool" && (m2.body.nodes[0] as { args: Record<string, unknown> }).args["v"])
      .toEqual(ref(m2.as))
    expect(p.labels![m2.as]).toBe("x")
  })

  it("maps labels through a second normalization", () => {
    const once = norm(`program main() { a = tool t() b = tool u(x: a) return b }`)
    expect(normalize(once)).toEqual(once)
    expect(once.labels).toEqual({ n0: "a", n1: "b" })
  })

  it("orders independent nodes by structure, not by name or position", () => {
    const a = normalize(program([tool("p", "alpha"), tool("q", "beta"), tool("r", "gamma")]))
    const b = normalize(program([tool("zz", "gamma"), tool("yy", "alpha"), tool("xx", "beta")]))
    expect(canonicalForm(a)).toBe(canonicalForm(b))
    expect(mainOf(a).nodes.map((n) => n.kind === "tool" && n.tool)).toEqual(
      mainOf(b).nodes.map((n) => n.kind === "tool" && n.tool)
    )
    // Dependencies always come first.
    const c = normalize(program([tool("late", "f", { x: ref("early") }), tool("early", "zzz")], ref("late")))
    expect(mainOf(c).nodes.map((n) => (n.kind === "tool" ? n.tool : ""))).toEqual(["zzz", "f"])
  })

  it("tells identical nodes apart by how they are used", () => {
    // Two identical calls, used differently: renaming and reordering must not change the form.
    const make = (first: string, second: string, swap: boolean) =>
      program(
        [
          tool(first, "now"),
          tool(second, "now"),
          ...(swap
            ? [tool("g", "gee", { x: ref(second) }), tool("f", "eff", { x: ref(first) })]
            : [tool("f", "eff", { x: ref(first) }), tool("g", "gee", { x: ref(second) })])
        ],
        list(ref("f"), ref("g"))
      )
    expect(canonicalForm(make("a", "b", false))).toBe(canonicalForm(make("b", "a", true)))
  })
})

describe("N3: stable ordering", () => {
  it("sorts and deduplicates after lists, sorts args, keeps record entries and options in order", () => {
    const p = normalize(
      program(
        [
          tool("a", "t1"),
          tool("b", "t2"),
          tool("c", "t3", {
            zeta: lit(1),
            alpha: { kind: "record", entries: [{ key: "z", value: lit(1) }, { key: "a", value: lit(2) }] }
          }, {
            policy: { after: ["b", "a", "b"] }
          }),
          {
            id: "ch",
            kind: "choose",
            key: "k",
            options: [
              { label: "zed", body: { nodes: [], result: lit(1) } },
              { label: "ay", body: { nodes: [], result: lit(2) } }
            ]
          }
        ],
        ref("ch")
      )
    )
    const c = byLabel(p, "c")
    const a = byLabel(p, "a").id
    const b = byLabel(p, "b").id
    expect(c.policy?.after).toEqual([a, b].sort())
    expect(c.kind === "tool" && Object.keys(c.args)).toEqual(["alpha", "zeta"])
    expect(c.kind === "tool" && c.args["alpha"]).toEqual({
      kind: "record",
      entries: [
        { key: "z", value: lit(1) },
        { key: "a", value: lit(2) }
      ]
    })
    const ch = byLabel(p, "ch")
    expect(ch.kind === "choose" && ch.options.map((o) => o.label)).toEqual(["zed", "ay"])
  })

  it("emits programs and signatures in sorted key order", () => {
    const p = norm(`
      signature Zed { input a: string output b: string }
      signature Abe { input a: string output b: string }
      program main() { return 1 }
      program aux() { return 2 }`)
    expect(Object.keys(p.programs)).toEqual(["aux", "main"])
    expect(Object.keys(p.signatures)).toEqual(["Abe", "Zed"])
  })
})

describe("N4: constant folding", () => {
  it("folds operators, builtins and lists over literals", () => {
    const p = norm(`program main(x: number) {
      r = tool t(a: 2 * 3 + 1, b: "a" + "b", c: len([1, 2, 3]), d: x + 2 * 3, e: keys({ b: 1, a: 2 }), f: [1, 1 + 1])
      return r
    }`)
    const r = mainOf(p).nodes[0]!
    expect(r.kind === "tool" && r.args).toEqual({
      a: lit(7),
      b: lit("ab"),
      c: lit(3),
      d: bin("+", ref("x"), lit(6)),
      e: list(lit("a"), lit("b")),
      f: list(lit(1), lit(2))
    })
  })

  it("rebuilds a folded record with sorted keys", () => {
    const p = norm(`program main() { r = tool t(a: { z: { y: 1, b: 2 } }.z) return r }`)
    const r = mainOf(p).nodes[0]!
    expect(r.kind === "tool" && r.args["a"]).toEqual({
      kind: "record",
      entries: [
        { key: "b", value: lit(2) },
        { key: "y", value: lit(1) }
      ]
    })
  })

  it("leaves a fold that fails unfolded", () => {
    const p = norm(`program main() { r = tool t(a: 1 / 0, b: 1 + "x", c: (1 / 0) + (2 + 3)) return r }`)
    const r = mainOf(p).nodes[0]!
    expect(r.kind === "tool" && r.args).toEqual({
      a: bin("/", lit(1), lit(0)),
      b: bin("+", lit(1), lit("x")),
      c: bin("+", bin("/", lit(1), lit(0)), lit(5))
    })
  })

  it("short-circuits false and X, true or X", () => {
    const p = norm(`program main(x: boolean) { r = tool t(a: false and x, b: true or x, c: true and x) return r }`)
    const r = mainOf(p).nodes[0]!
    expect(r.kind === "tool" && r.args).toEqual({ a: lit(false), b: lit(true), c: bin("and", lit(true), ref("x")) })
  })

  it("propagates constant expr nodes into their uses", () => {
    const p = norm(`program main() {
      k = 20
      n = k * 2
      r = tool t(a: n, b: [k])
      return r
    }`)
    expect(mainOf(p).nodes).toEqual([{ id: "n0", kind: "tool", tool: "t", args: { a: lit(40), b: list(lit(20)) } }])
    expect(p.labels).toEqual({ n0: "r" })
  })

  it("does not fold results heavier than FOLD_LIMIT, nor inline such constants", () => {
    const p = norm(`program main() { big = range(5000) r = tool t(a: big, b: range(3)) return r }`)
    const nodes = mainOf(p).nodes
    expect(nodes).toHaveLength(2)
    const big = byLabel(p, "big")
    expect(big.kind === "expr" && big.expr).toEqual({ kind: "call", fn: "range", args: [lit(5000)] })
    const r = byLabel(p, "r")
    expect(r.kind === "tool" && r.args).toEqual({ a: ref(big.id), b: list(lit(0), lit(1), lit(2)) })
    expect(FOLD_LIMIT).toBeLessThan(5000)
  })

  it("makes -0 literals 0", () => {
    const p = normalize(program([tool("a", "t", { x: lit(-0) })], ref("a")))
    const a = mainOf(p).nodes[0]!
    expect(a.kind === "tool" && Object.is((a.args["x"] as { value: number }).value, 0)).toBe(true)
  })
})

describe("N5: no-op removal", () => {
  it("inlines expr nodes that only rename a ref, also in after lists", () => {
    const p = norm(`program main(q: string) {
      a = tool fetch(q: q)
      b = a
      c = b
      d = q
      tool log(x: c, y: d) with { after: [c] }
      return b
    }`)
    expect(mainOf(p)).toEqual({
      nodes: [
        { id: "n0", kind: "tool", tool: "fetch", args: { q: ref("q") } },
        { id: "n1", kind: "tool", tool: "log", args: { x: ref("n0"), y: ref("q") }, policy: { after: ["n0"] } }
      ],
      result: ref("n0")
    })
  })

  it("drops after entries naming inlined constants or aliases of outer names", () => {
    const p = norm(`program main(q: string) {
      k = 3
      a = q
      tool log() with { after: [k, a] }
    }`)
    expect(mainOf(p).nodes).toEqual([{ id: "n0", kind: "tool", tool: "log", args: {} }])
  })

  it("drops unused pure nodes transitively, never effects", () => {
    const p = norm(`program main(q: number) {
      a = q + 1
      b = a * 2
      m = map i in [1, 2] { return i + b }
      br = if q > 1 { return b } else { return a }
      ch = choose "c" { x: { return 1 } }
      t = tool t()
      l = llm Sig(x: 1)
      return null
    }`)
    expect(mainOf(p).nodes.map((n) => n.kind).sort()).toEqual(["choose", "llm", "tool"])
  })

  it("keeps a map or branch whose body has an effect", () => {
    const p = norm(`program main(xs: any) {
      m = map i in xs { return tool t(i: i) }
      b = if true { x = tool u() return x }
    }`)
    expect(mainOf(p).nodes.map((n) => n.kind).sort()).toEqual(["branch", "map"])
  })

  it("drops unused pure nodes inside kept bodies", () => {
    const p = norm(`program main(xs: any) {
      m = map i in xs { junk = i * 2 r = tool t(i: i) return r }
      return m
    }`)
    const m = mainOf(p).nodes[0]!
    expect(m.kind === "map" && m.body.nodes.map((n) => n.kind)).toEqual(["tool"])
  })

  it("keeps a pure node that a kept node waits for, and an expr node with after", () => {
    const p = norm(`program main(q: number) {
      t = tool first()
      a = q * 2 with { after: [t] }
      tool second() with { after: [a] }
    }`)
    const a = byLabel(p, "a")
    expect(a.kind === "expr" && a.expr).toEqual(bin("*", ref("q"), lit(2)))
    expect(a.policy).toEqual({ after: [byLabel(p, "t").id] })
    expect(mainOf(p).nodes).toHaveLength(3)
  })

  it("inlines into nested scopes and results", () => {
    const p = norm(`program main(xs: any) {
      k = 2
      m = map i in xs { r = tool t(v: i * k) return [r, k] }
      return m
    }`)
    const m = mainOf(p).nodes[0]!
    if (m.kind !== "map") throw new Error("map")
    expect(m.body).toEqual({
      nodes: [{ id: "n1", kind: "tool", tool: "t", args: { v: bin("*", ref("v0"), lit(2)) } }],
      result: list(ref("n1"), lit(2))
    })
  })
})

describe("N6: identity", () => {
  const source = `program main(q: string) { a = tool search(query: q, k: 4 * 5) return a }`

  it("hashes the canonical JSON of the normal form without labels", () => {
    const p = compile(source)
    const { labels: _, ...rest } = normalize(p)
    expect(canonicalForm(p)).toBe(canonicalJson(rest))
    expect(hashProgram(p)).toBe(sha256Hex(canonicalJson(rest)))
    expect(hashProgram(p)).toMatch(/^[0-9a-f]{64}$/)
  })

  it("is the same for renamed, reordered and constant-varied programs", () => {
    const variant = `program main(q: string) {
      # same program: other names, a folded constant, an alias
      n = 20
      found = tool search(k: n, query: q)
      same = found
      return same
    }`
    expect(hashProgram(compile(variant))).toBe(hashProgram(compile(source)))
  })

  it("changes when a tool argument changes", () => {
    const changed = `program main(q: string) { a = tool search(query: q, k: 21) return a }`
    expect(hashProgram(compile(changed))).not.toBe(hashProgram(compile(source)))
  })

  it("ignores labels", () => {
    const p = normalize(compile(source))
    expect(hashProgram({ ...p, labels: { n0: "other" } })).toBe(hashProgram(compile(source)))
  })
})

describe("normalize", () => {
  it("is idempotent on the kitchen-sink program", () => {
    const p = norm(`
      signature Answer {
        "Answer the question."
        input question: string
        output text: string
        output confidence: number
      }
      program research(question: string, k: number = 5) {
        hits = tool search(query: question, k: k * 4) with { timeout: "2s", retry: { times: 3 } }
        ranked = tool rerank(query: question, docs: hits)
        notes = map doc in ranked[0:k] with { concurrency: 4 } { return tool summarize(text: doc.text) }
        answer = llm Answer(question: question, context: notes)
        final = if answer.confidence >= 0.5 { return answer.text } else { return tool escalate(question: question) }
        tone = choose "tone" {
          formal: { return llm Formal(text: final) }
          casual: { return llm Casual(text: final) }
        }
        tool audit.log(event: "answered", question: question) with { after: [final] }
        return { answer: tone, sources: ranked[0:k] }
      }
      program main(q: string) { r = run research(question: q) return r }`)
    expect(normalize(p)).toEqual(p)
  })

  it("does not throw on invalid programs (unbound refs, cycles)", () => {
    const p = program([
      exprNode("a", ref("b")),
      exprNode("b", ref("a")),
      tool("c", "t", { x: ref("missing") }),
      tool("d", "t", { x: ref("d") })
    ], ref("c"))
    expect(() => normalize(p)).not.toThrow()
  })

  it("handles 100k-node scopes (no recursion, no quadratic pass)", () => {
    // How fast is `npm run bench -- language`; a quadratic pass would take minutes and trip the test timeout.
    const nodes: Array<Node> = []
    for (let i = 0; i < 100_000; i++) nodes.push(tool(`a${i}`, "f", { x: i === 0 ? ref("p") : ref(`a${i - 1}`) }))
    const p = program(nodes, ref("a99999"), [{ name: "p" }])
    const out = normalize(p)
    expect(mainOf(out).nodes).toHaveLength(100_000)
    expect(mainOf(out).result).toEqual(ref("n99999"))
  })
})

describe("labels of edited normal forms", () => {
  it("keeps the name of a node added to a normalized program", () => {
    const once = norm(`program main() { a = tool t() return a }`)
    const def = once.programs["main"]!
    const edited: Program = {
      ...once,
      programs: { main: { ...def, nodes: [...def.nodes, tool("extra", "log", { x: ref("n0") })] } }
    }
    const again = normalize(edited)
    expect(Object.values(again.labels ?? {}).sort()).toEqual(["a", "extra"])
  })
})

describe("hashNormalized", () => {
  it("equals hashProgram on the normal form, and differs from hashing the raw text", async () => {
    const { compileSource } = await import("../../src/language/index.js")
    const { hashNormalized, hashProgram, normalize } = await import("../../src/normalize/index.js")
    const p = compileSource(
      "program main(q: string) {\n  b = tool t(x: a)\n  a = tool s(q: q, k: 2 * 3)\n  return b\n}\n"
    ).program!
    const n = normalize(p)
    expect(hashNormalized(n)).toBe(hashProgram(p))
    expect(hashNormalized(p)).not.toBe(hashProgram(p))
  })
})
