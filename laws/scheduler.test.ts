/**
 * Scheduler determinism (SPEC §9): the same program, inputs and seed give
 * the same outputs and the same canonical trace under any completion order
 * of tools. Completion orders come from fast-check-chosen tool delays under
 * TestClock; programs are random DAGs of tool, expr, map, branch, choose
 * and call steps, plus the generator of the law suite. Every law runs with
 * every tool handler shape: an Effect that completes at once, `Effect.sleep`,
 * `Effect.async`, `Effect.promise`, a `run` function returning a Promise or
 * a plain value, and all of them mixed in one run (by tool name). The waits
 * of Promise and callback handlers run on the test's TestClock too.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Exit, Fiber, Layer, Runtime as EffectRuntime, Schema } from "effect"
import * as fc from "fast-check"
import { canonicalJson } from "../src/ir/canonical.js"
import type { Body, Expr, Node, Policy, Program } from "../src/ir/schema.js"
import * as Runtime from "../src/runtime/runtime.js"
import { make, ToolRegistry } from "../src/tools/index.js"
import type { AnyTool, ToolRegistryService } from "../src/tools/index.js"
import { hashText } from "../src/trace/contentHash.js"
import { canonicalTrace, EventLog } from "../src/trace/events.js"
import { advanceUntilDone } from "../test/support/runtime.js"
import { arbProgramWith } from "./arbitrary.js"
import { numRuns } from "./settings.js"

/** The handler shapes a law runs with (`mixed`: each tool name picks one of the others). */
const SHAPES = [
  "effect-sync",
  "effect-sleep",
  "effect-async",
  "effect-promise",
  "run-promise",
  "run-value",
  "mixed"
] as const
type Shape = (typeof SHAPES)[number]

/** A hash of a text as a number (picks delays and shapes deterministically). */
const pickOf = (text: string, n: number): number => parseInt(hashText(text).slice(0, 8), 16) % n

/**
 * A tool of any name in the given handler shape: waits a delay picked from
 * `delays` by its arguments (on the clock of `rt`, the test's TestClock),
 * then returns its name and arguments. `effect-sync` and `run-value`
 * return at once.
 */
const delayedTool = (
  name: string,
  delays: ReadonlyArray<number>,
  shape: Shape,
  rt: EffectRuntime.Runtime<never>
): AnyTool => {
  const chosen: Shape = shape === "mixed" ? SHAPES[pickOf(name, SHAPES.length - 1)]! : shape
  const base = {
    name,
    description: "waits, then returns its name and arguments",
    input: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
    output: Schema.Unknown,
    idempotent: true
  }
  const delay = (args: unknown) => Effect.sleep(`${delays[pickOf(canonicalJson([name, args]), delays.length)]!} millis`)
  const later = (args: unknown) => EffectRuntime.runPromise(rt)(Effect.as(delay(args), { tool: name, args } as unknown))
  if (chosen === "run-promise") return make({ ...base, run: later }) as unknown as AnyTool
  if (chosen === "run-value") {
    return make({
      ...base,
      run: (args) => ({ tool: name, args }) as unknown
    }) as unknown as AnyTool
  }
  return make({
    ...base,
    handler: (args) => {
      const out = { tool: name, args } as unknown
      switch (chosen) {
        case "effect-sync":
          return Effect.succeed(out)
        case "effect-sleep":
          return Effect.as(delay(args), out)
        case "effect-async":
          return Effect.async<unknown>((resume) => {
            const cancel = EffectRuntime.runCallback(rt)(delay(args), { onExit: () => resume(Effect.succeed(out)) })
            return Effect.sync(() => cancel())
          })
        default:
          return Effect.promise(() => later(args))
      }
    }
  }) as unknown as AnyTool
}

/** A registry serving every tool name with `delayedTool`. */
const anyToolRegistry = (
  delays: ReadonlyArray<number>,
  shape: Shape,
  rt: EffectRuntime.Runtime<never>
): ToolRegistryService => {
  const tools = new Map<string, AnyTool>()
  const get = (name: string): AnyTool => {
    let t = tools.get(name)
    if (t === undefined) {
      t = delayedTool(name, delays, shape, rt)
      tools.set(name, t)
    }
    return t
  }
  return { get, list: [], table: new Map() }
}

/** Runs a program under TestClock with the given delays; the exit and the canonical trace. */
const runWith = (program: Program, delays: ReadonlyArray<number>, seed: number, shape: Shape) =>
  Effect.gen(function*() {
    const rt = yield* Effect.runtime<never>()
    const layer = Layer.mergeAll(Runtime.layerServices, Layer.succeed(ToolRegistry, anyToolRegistry(delays, shape, rt)))
    const llm = Runtime.LlmRunner.layer({
      run: (req) =>
        Effect.as(Effect.sleep(`${delays[req.node.length % delays.length]!} millis`), {
          llm: req.signatureName,
          args: req.args
        })
    })
    return yield* Effect.gen(function*() {
      const fiber = yield* Effect.fork(Effect.exit(Runtime.run(program, {}, { runId: "law", seed })))
      yield* advanceUntilDone(fiber, 100_000, 5)
      const exit = yield* Fiber.join(fiber)
      const log = yield* EventLog
      return { exit, trace: canonicalTrace(yield* log.events("law")) }
    }).pipe(Effect.provide(Layer.merge(layer, llm)))
  })

// ---------------------------------------------------------------------------
// Random DAGs that always complete
// ---------------------------------------------------------------------------

const ref = (name: string): Expr => ({ kind: "ref", name })
const lit = (value: number | string): Expr => ({ kind: "lit", value })
const num = (
  name: string,
  isList: boolean
): Expr => (isList ? { kind: "call", fn: "sum", args: [ref(name)] } : ref(name))
const sumOf = (xs: ReadonlyArray<Expr>): Expr => ({
  kind: "call",
  fn: "sum",
  args: [{ kind: "list", items: [lit(0), ...xs] }]
})
/** A tool result `{ tool, args }` as a number: the sum of its `xs` argument. */
const toolNum = (name: string): Expr =>
  sumOf([{ kind: "get", target: { kind: "get", target: ref(name), field: "args" }, field: "x" }])
const call = (id: string, tag: string, x: Expr): Node => ({
  id,
  kind: "tool",
  tool: "t.delay",
  args: { tag: lit(tag), x }
})
const body = (nodes: ReadonlyArray<Node>, result: Expr): Body => ({ nodes, result })

const arbStep = fc.record({
  kind: fc.constantFrom("tool", "expr", "map", "branch", "choose", "call"),
  deps: fc.array(fc.nat(), { maxLength: 3 }),
  items: fc.integer({ min: 0, max: 4 }),
  after: fc.boolean()
})

/** A program of 1–12 steps wired by refs to earlier steps (and sometimes `after:`), each step yielding a number. */
const arbDag: fc.Arbitrary<Program> = fc.array(arbStep, { minLength: 1, maxLength: 12 }).map((steps) => {
  const nodes: Array<Node> = []
  const values: Array<Expr> = []
  steps.forEach((s, i) => {
    const id = `s${i}`
    const deps = i === 0 ? [] : [...new Set(s.deps.map((d) => d % i))]
    const x = sumOf(deps.map((d) => values[d]!))
    const policy: Policy | undefined = s.after && i > 1 ? { after: [`s${i - 2}`] } : undefined
    let node: Node = { id, kind: "expr", expr: x }
    switch (s.kind) {
      case "tool":
        node = call(id, id, x)
        values.push(toolNum(id))
        break
      case "expr":
        node = { id, kind: "expr", expr: { kind: "binary", op: "+", left: x, right: lit(i) } }
        values.push(ref(id))
        break
      case "map":
        node = {
          id,
          kind: "map",
          over: { kind: "call", fn: "range", args: [lit(s.items)] },
          as: "it",
          concurrency: 2,
          body: body([call("b", `${id}/b`, sumOf([ref("it"), x]))], toolNum("b"))
        }
        values.push(num(id, true))
        break
      case "branch":
        node = {
          id,
          kind: "branch",
          cond: { kind: "binary", op: "==", left: { kind: "binary", op: "%", left: x, right: lit(2) }, right: lit(0) },
          then: body([call("t", `${id}/t`, x)], toolNum("t")),
          else: body([], { kind: "binary", op: "+", left: x, right: lit(1) })
        }
        values.push(ref(id))
        break
      case "choose":
        node = {
          id,
          kind: "choose",
          key: `k${i % 3}`,
          options: [
            { label: "a", body: body([call("c", `${id}/a`, x)], toolNum("c")) },
            { label: "b", body: body([], x) }
          ]
        }
        values.push(ref(id))
        break
      case "call":
        node = { id, kind: "call", program: "helper", args: { x } }
        values.push(ref(id))
        break
    }
    nodes.push(policy === undefined ? node : { ...node, policy })
  })
  return {
    ir: "trellis/1",
    entry: "main",
    programs: {
      main: { params: [], nodes, result: { kind: "list", items: values } },
      helper: {
        params: [{ name: "x", type: { kind: "number" } }],
        nodes: [call("h", "helper", ref("x")), call("h2", "helper2", toolNum("h"))],
        result: { kind: "binary", op: "+", left: toolNum("h2"), right: lit(1) }
      }
    },
    signatures: {}
  }
})

const arbDelays = fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 8 })

const arbShape = fc.constantFrom(...SHAPES)

describe("scheduler determinism", () => {
  it.effect.prop(
    "random DAGs: same output and canonical trace under any tool delays and handler shapes",
    [arbDag, arbDelays, arbDelays, fc.integer({ min: 0, max: 1000 }), arbShape, arbShape],
    ([program, d1, d2, seed, s1, s2]) =>
      Effect.gen(function*() {
        const a = yield* runWith(program, d1, seed, s1)
        const b = yield* runWith(program, d2, seed, s2)
        expect(Exit.isSuccess(a.exit)).toBe(true)
        expect(b.exit).toEqual(a.exit)
        expect(b.trace).toEqual(a.trace)
      }),
    { fastCheck: { numRuns: numRuns(40) } }
  )

  for (const shape of SHAPES) {
    it.effect.prop(
      `random DAGs with ${shape} handlers: the same output and canonical trace as Effect handlers that complete at once`,
      [arbDag, arbDelays, fc.integer({ min: 0, max: 1000 })],
      ([program, delays, seed]) =>
        Effect.gen(function*() {
          const a = yield* runWith(program, delays, seed, shape)
          const b = yield* runWith(program, [0], seed, "effect-sync")
          expect(Exit.isSuccess(a.exit)).toBe(true)
          expect(a.exit).toEqual(b.exit)
          expect(a.trace).toEqual(b.trace)
        }),
      { fastCheck: { numRuns: 10 } }
    )
  }

  /** Drops policies whose effect depends on time or on sharing across nodes (timeouts, retries, caches, keys, budgets). */
  const stripTimePolicies = (program: Program): Program => {
    const strip = (nodes: ReadonlyArray<Node>): ReadonlyArray<Node> =>
      nodes.map((n) => {
        const policy = n.policy === undefined
          ? undefined
          : Object.fromEntries(Object.entries(n.policy).filter(([k]) => k === "after" || k === "label"))
        const base = policy === undefined ? { ...n } : { ...n, policy }
        switch (base.kind) {
          case "map":
            return { ...base, body: { ...base.body, nodes: strip(base.body.nodes) } }
          case "branch":
            return {
              ...base,
              then: { ...base.then, nodes: strip(base.then.nodes) },
              else: base.else === null ? null : { ...base.else, nodes: strip(base.else.nodes) }
            }
          case "choose":
            return {
              ...base,
              options: base.options.map((o) => ({ ...o, body: { ...o.body, nodes: strip(o.body.nodes) } }))
            }
          default:
            return base
        }
      })
    return {
      ...program,
      programs: Object.fromEntries(
        Object.entries(program.programs).map(([k, d]) => [k, { ...d, nodes: strip(d.nodes) }])
      )
    }
  }

  /** A run result without its waits' deadlines. */
  const untimed = (result: Runtime.RunResult) =>
    result.status === "completed" ? result : { ...result, waits: result.waits.map(({ deadline: _d, ...w }) => w) }
  /** A canonical trace line without a wait's or a timer's deadline. */
  const withoutDeadline = (line: string) => line.replace(/"deadline":(null|-?[0-9.e+]+),?/g, "")

  it.effect.prop(
    "generated programs: completion, outputs and canonical traces agree under any tool delays and handler shapes",
    [arbProgramWith({ maxNodesPerProgram: 20 }), arbDelays, arbDelays, arbShape, arbShape],
    ([generated, d1, d2, s1, s2]) =>
      Effect.gen(function*() {
        const program = stripTimePolicies(generated)
        const planned = Runtime.plan(program)
        if (Either.isLeft(planned)) return

        const a = yield* runWith(program, d1, 1, s1)
        const b = yield* runWith(program, d2, 1, s2)
        expect(Exit.isSuccess(b.exit)).toBe(Exit.isSuccess(a.exit))
        if (Exit.isSuccess(a.exit) && Exit.isSuccess(b.exit)) {
          // A wait's deadline is a clock time (when the wait was reached, plus its duration): like the events'
          // timestamps it depends on the tool delays and on when the virtual clock moved, so it is left out.
          expect(untimed(b.exit.value)).toEqual(untimed(a.exit.value))
          expect(b.trace.map(withoutDeadline)).toEqual(a.trace.map(withoutDeadline))
        } else if (Exit.isFailure(a.exit) && Exit.isFailure(b.exit)) {
          // Which of several failing nodes fails first may depend on timing; the kind of run end may not.
          expect(b.exit.cause._tag).toBe(a.exit.cause._tag)
        }
      }),
    { fastCheck: { numRuns: numRuns(40) } }
  )
})
