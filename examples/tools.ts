/**
 * The tools the example programs call, deterministic and offline: a search over a small built-in corpus, a
 * reranker, a summarizer, a page fetcher and a few sinks. Load them with `--tools`:
 *
 *   npx trellis run examples/research.tr --tools examples/tools.ts --input question="How does replay work?"
 *
 * Every answer depends on the arguments only, so runs repeat exactly and replay matches the record.
 */
import { Effect, Schema } from "effect"
import { Tool } from "trellis"

/** One document of the example corpus, as `search` and `rerank` return it. */
const Doc = Schema.Struct({
  id: Schema.String,
  title: Schema.String,
  url: Schema.String,
  text: Schema.String,
  score: Schema.Number
})
type Doc = typeof Doc.Type

const corpus: ReadonlyArray<Omit<Doc, "score">> = [
  [
    "replay",
    "Replay",
    "Replay re-executes a recorded run and answers every tool call from the record. " +
    "It reports the first divergence by node path."
  ],
  [
    "resume",
    "Crash resume",
    "A run left running by a dead process is resumed from its events. " +
    "Calls that were in flight run again with the same idempotency key."
  ],
  [
    "trace",
    "Traces",
    "Every run records events with contiguous sequence numbers. " +
    "A fold of the events rebuilds the state of the run and of every node."
  ],
  [
    "policies",
    "Policies",
    "Retry, timeout, cache and budget policies wrap each step. " +
    "Retries follow an exponential schedule with jitter."
  ],
  [
    "fanout",
    "Fan-out",
    "A map step runs its body once per item with a concurrency cap. " +
    "Outputs are keyed by item, never by arrival order."
  ],
  [
    "choose",
    "Learned choices",
    "A choose step asks a bandit policy for one option per run. " +
    "Feedback posted later teaches the policy which option works."
  ],
  [
    "llm",
    "LLM steps",
    "An llm step sends a signature and its inputs to a model and decodes a structured reply. " +
    "Without a configured provider the deterministic local/echo model answers."
  ],
  [
    "store",
    "The store",
    "Runs, events and programs are stored in an embedded PostgreSQL database. " +
    "Set a database URL to use a PostgreSQL server instead."
  ]
].map(([id, title, text]) => ({ id: id!, title: title!, url: `https://example.org/trellis/${id}`, text: text! }))

const words = (text: string): ReadonlyArray<string> => text.toLowerCase().match(/[a-z0-9]+/g) ?? []

/** How many distinct words of the query the text holds, over the query's distinct words. */
const overlap = (query: string, text: string): number => {
  const q = new Set(words(query))
  if (q.size === 0) return 0
  const t = new Set(words(text))
  let hits = 0
  for (const w of q) if (t.has(w)) hits++
  return Math.round((hits / q.size) * 1000) / 1000
}

/** `search(query, k)`: the k documents of the corpus that share the most words with the query. */
const search = Tool.make({
  name: "search",
  description: "Searches the example corpus (word overlap); deterministic.",
  input: Schema.Struct({ query: Schema.String, k: Schema.Number }),
  output: Schema.Array(Doc),
  idempotent: true,
  handler: ({ k, query }) =>
    Effect.succeed(
      corpus
        .map((d) => ({ ...d, score: overlap(query, `${d.title} ${d.text}`) }))
        .sort((a, b) => b.score - a.score || a.id.localeCompare(b.id))
        .slice(0, Math.max(0, Math.floor(k)))
    )
})

/** `rerank(query, docs)`: the same documents, ordered by how many query words their text repeats. */
const rerank = Tool.make({
  name: "rerank",
  description: "Reorders documents by query-term frequency in their text; deterministic.",
  input: Schema.Struct({ query: Schema.String, docs: Schema.Array(Doc) }),
  output: Schema.Array(Doc),
  idempotent: true,
  handler: ({ docs, query }) => {
    const q = new Set(words(query))
    const tf = (d: Doc) => words(d.text).filter((w) => q.has(w)).length
    return Effect.succeed(
      docs
        .map((d, i) => ({ d, i, s: tf(d) }))
        .sort((a, b) => b.s - a.s || a.i - b.i)
        .map(({ d, s }) => ({ ...d, score: s }))
    )
  }
})

/** `summarize(text)`: the first sentence of the text. */
const summarize = Tool.make({
  name: "summarize",
  description: "Summarizes a text as its first sentence.",
  input: Schema.Struct({ text: Schema.String }),
  output: Schema.String,
  idempotent: true,
  handler: ({ text }) => Effect.succeed((text.split(/(?<=\.)\s/)[0] ?? text).trim())
})

/** `fetch.page(url)`: the page of a corpus document (a fixed notice for any other URL). */
const fetchPage = Tool.make({
  name: "fetch.page",
  description: "Fetches a page of the example corpus by URL (offline).",
  input: Schema.Struct({ url: Schema.String }),
  output: Schema.Struct({ url: Schema.String, body: Schema.String }),
  idempotent: true,
  handler: ({ url }) =>
    Effect.succeed({ url, body: corpus.find((d) => d.url === url)?.text ?? `No page at ${url} in the example corpus.` })
})

/** `escalate(question)`: hands a question to a human; here, says so. */
const escalate = Tool.make({
  name: "escalate",
  description: "Escalates a question the model was not sure about.",
  input: Schema.Struct({ question: Schema.String }),
  output: Schema.String,
  handler: ({ question }) => Effect.succeed(`Escalated to a human: ${question}`)
})

/** A sink that records nothing and answers `{ ok: true }` (audit logs, alerts, index writes). */
const sink = <I, IE>(name: string, description: string, input: Schema.Schema<I, IE>) =>
  Tool.make({
    name,
    description,
    input,
    output: Schema.Struct({ ok: Schema.Boolean }),
    idempotent: true,
    handler: () => Effect.succeed({ ok: true })
  })

/** A search returning `{ title, text }` hits, for the kitchen-sink example. */
const textSearch = (name: string, fields: Schema.Struct.Fields) =>
  Tool.make({
    name,
    description: "Searches the example corpus; hits carry a title and a text.",
    input: Schema.Struct({ query: Schema.String, ...fields }),
    output: Schema.Array(Schema.Struct({ title: Schema.String, text: Schema.String })),
    idempotent: true,
    handler: (args: { readonly query: string }) =>
      Effect.succeed(
        corpus
          .map((d) => ({ title: d.title, text: d.text, score: overlap(args.query, d.text) }))
          .sort((a, b) => b.score - a.score || a.title.localeCompare(b.title))
          .slice(0, 5)
          .map(({ text, title }) => ({ title, text }))
      )
  })

/** Every tool the programs of `examples/` call beyond the built-in ones. */
export const tools = [
  search,
  rerank,
  summarize,
  fetchPage,
  escalate,
  sink(
    "audit.log",
    "Writes an audit record.",
    Schema.Struct({
      event: Schema.String,
      question: Schema.optional(Schema.String),
      query: Schema.optional(Schema.String)
    })
  ),
  sink("publish", "Publishes a list of items.", Schema.Struct({ items: Schema.Array(Schema.Unknown) })),
  sink("alert.send", "Sends an alert.", Schema.Struct({ message: Schema.String, k: Schema.Number })),
  sink("index.put", "Writes a document into an index.", Schema.Struct({ id: Schema.String, body: Schema.String })),
  textSearch("search.web", { limit: Schema.Number, filters: Schema.Unknown }),
  textSearch("search.news", {}),
  Tool.make({
    name: "rewrite.casual",
    description: "Rewrites a text in a casual register.",
    input: Schema.Struct({ text: Schema.String }),
    output: Schema.String,
    idempotent: true,
    handler: ({ text }) => Effect.succeed(`hey, ${text.toLowerCase()}`)
  }),
  Tool.make({
    name: "report.build",
    description: "Builds a report from its parts (returns the summaries, the tier and the tone).",
    input: Schema.Struct({
      summaries: Schema.Array(Schema.String),
      verdict: Schema.Unknown,
      tier: Schema.String,
      tone: Schema.Unknown,
      score: Schema.Number,
      stats: Schema.Unknown,
      parts: Schema.Array(Schema.Unknown),
      flags: Schema.Array(Schema.Unknown)
    }),
    output: Schema.Struct({ summaries: Schema.Array(Schema.String), tier: Schema.String, tone: Schema.Unknown }),
    idempotent: true,
    handler: ({ summaries, tier, tone }) => Effect.succeed({ summaries, tier, tone })
  })
]
