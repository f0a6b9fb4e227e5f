/**
 * Embedding a Trellis program in another Effect app: define a tool, check a
 * program, run it with in-memory services, watch its events, post feedback.
 * Run it with `node --import tsx examples/embed.ts`.
 */
import { Chunk, Effect, Schema, Stream } from "effect"
import { Program, Runtime, Tool } from "trellis"

// 1. A tool: typed by its Schemas, idempotent, with its own limits.
const Doc = Schema.Struct({ title: Schema.String, score: Schema.Number })
const search = Tool.make({
  name: "docs.search",
  description: "Searches the docs.",
  input: Schema.Struct({ query: Schema.String, k: Schema.Number }),
  output: Schema.Array(Doc),
  idempotent: true,
  limits: { concurrency: 4, timeout: "2s" },
  handler: ({ k, query }) =>
    Effect.succeed(Array.from({ length: k }, (_, i) => ({ title: `${query} #${i + 1}`, score: 1 / (i + 1) })))
})

// 2. A program, checked against the tools it will run with.
const source = `
program main(question: string, k: number = 3) {
  hits = tool docs.search(query: question, k: k)
  titles = map h in hits with { concurrency: 2 } {
    t = tool std.echo(value: upper(h.title))
    return t
  }
  style = choose "answer-style" {
    short: { return titles[0] }
    long: { return join(titles, "; ") }
  }
  return { answer: style, best: hits[0].score }
}
`

const tools = new Map([...Tool.builtinTools, search].map((t) => [t.name, t.spec] as const))
const checked = Program.check(source, { tools })
if (checked.normalized === undefined) {
  throw new Error(checked.diagnostics.map((d) => `${d.code}: ${d.message}`).join("\n"))
}
const program = checked.normalized

// 3. Run it inside an Effect program: typed result, typed errors, events as a Stream.
const main = Effect.gen(function*() {
  const result = yield* Runtime.run(program, { question: "effect layers" }, { seed: 42 })
  console.log("output:", JSON.stringify(result.output))

  const events = yield* Stream.runCollect(Runtime.events(result.runId))
  console.log("events:", Chunk.toReadonlyArray(events).map((e) => e.type).join(" "))

  // Teach the bandit behind `choose "answer-style"` that this answer was good.
  yield* Runtime.feedback(result.runId, "answer-style", 1)

  // A failing run is a typed RunError, not an exception.
  const failed = yield* Effect.flip(Runtime.run(program, {}))
  console.log("error:", failed.kind, "-", failed.message)
}).pipe(
  // All services in memory, with the built-in tools plus ours.
  Effect.provide(Runtime.layerMemoryWith([search]))
)

Effect.runPromise(main).catch((e) => {
  console.error(e)
  process.exitCode = 1
})
