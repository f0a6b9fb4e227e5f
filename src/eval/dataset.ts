/**
 * Datasets (issue 19 item 1): JSONL, one example per line —
 * `{"id": "q1", "inputs": {…}, "expected"?: any, "tags"?: ["…"], "baseline"?: {…}}` —
 * parsed with typed errors that name the line. `baseline` is what a
 * dataset made from recorded runs (`fromRuns.ts`) carries: the recorded
 * run's id, status, latency and cost, for the side-by-side regression report.
 */
import { Effect, Either, ParseResult, Schema } from "effect"
import type { Json, JsonRecord } from "../ir/eval.js"
import { EvalError } from "./errors.js"

/** What a recorded run did, kept with an example made from it. */
export interface Baseline {
  readonly runId: string
  readonly status: string
  readonly latencyMs: number | null
  readonly cost: number | null
}

/** One example of a dataset. */
export interface Example {
  readonly id: string
  readonly inputs: JsonRecord
  readonly expected?: Json
  readonly tags?: ReadonlyArray<string>
  readonly baseline?: Baseline
}

const JsonValue = Schema.Unknown as unknown as Schema.Schema<Json>

const BaselineSchema = Schema.Struct({
  runId: Schema.String,
  status: Schema.String,
  latencyMs: Schema.NullOr(Schema.Number),
  cost: Schema.NullOr(Schema.Number)
})

const ExampleSchema = Schema.Struct({
  id: Schema.Union(Schema.String.pipe(Schema.minLength(1)), Schema.Number),
  inputs: Schema.Record({ key: Schema.String, value: JsonValue }),
  expected: Schema.optionalWith(JsonValue, { exact: true }),
  tags: Schema.optionalWith(Schema.Array(Schema.String), { exact: true }),
  baseline: Schema.optionalWith(BaselineSchema, { exact: true })
})

const decodeExample = Schema.decodeUnknownEither(ExampleSchema, { onExcessProperty: "error" })

/** Parses JSONL text (`name` for messages); blank lines and `#` comment lines are skipped; ids must be unique. */
export const parseDataset = (name: string, text: string): Effect.Effect<ReadonlyArray<Example>, EvalError> =>
  Effect.gen(function*() {
    const examples: Array<Example> = []
    const seen = new Map<string, number>()
    const lines = text.split(/\r?\n/)
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim()
      if (line === "" || line.startsWith("#")) continue
      const location = `${name}:${i + 1}`
      let value: unknown
      try {
        value = JSON.parse(line)
      } catch (e) {
        return yield* new EvalError({
          reason: "dataset",
          message: `not JSON (${e instanceof Error ? e.message : String(e)})`,
          location
        })
      }
      const decoded = decodeExample(value)
      if (Either.isLeft(decoded)) {
        const issue = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)[0]
        const where = issue === undefined || issue.path.length === 0 ? "" : `${issue.path.join(".")}: `
        return yield* new EvalError({
          reason: "dataset",
          message: `not an example {id, inputs, expected?, tags?}: ${where}${issue?.message ?? "invalid"}`,
          location
        })
      }
      const e = decoded.right
      const id = String(e.id)
      const first = seen.get(id)
      if (first !== undefined) {
        return yield* new EvalError({
          reason: "dataset",
          message: `duplicate id "${id}" (first on line ${first})`,
          location
        })
      }
      seen.set(id, i + 1)
      examples.push(exampleOf(id, e))
    }
    return yield* nonEmpty(name, examples)
  })

/** A decoded example as the dataset's `Example` (its optional fields only when given). */
const exampleOf = (id: string, e: typeof ExampleSchema.Type): Example => ({
  id,
  inputs: e.inputs,
  ...(e.expected === undefined ? {} : { expected: e.expected }),
  ...(e.tags === undefined ? {} : { tags: e.tags }),
  ...(e.baseline === undefined ? {} : { baseline: e.baseline })
})

/** The examples, or a located error when there are none. */
const nonEmpty = (name: string, examples: ReadonlyArray<Example>): Effect.Effect<ReadonlyArray<Example>, EvalError> =>
  examples.length === 0
    ? Effect.fail(new EvalError({ reason: "dataset", message: "no examples", location: name }))
    : Effect.succeed(examples)

/**
 * Examples given as values (a JSON array, as `POST /v1/evals` takes them): the same checks as `parseDataset`,
 * each error located as `name[index]` plus the field path (`dataset[3].inputs`).
 */
export const parseExamples = (
  name: string,
  items: ReadonlyArray<unknown>
): Effect.Effect<ReadonlyArray<Example>, EvalError> =>
  Effect.gen(function*() {
    const examples: Array<Example> = []
    const seen = new Map<string, number>()
    for (let i = 0; i < items.length; i++) {
      const location = `${name}[${i}]`
      const decoded = decodeExample(items[i])
      if (Either.isLeft(decoded)) {
        const issue = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)[0]
        const path = issue === undefined
          ? ""
          : issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("")
        return yield* new EvalError({
          reason: "dataset",
          message: `not an example {id, inputs, expected?, tags?}: ${issue?.message ?? "invalid"}`,
          location: location + path
        })
      }
      const e = decoded.right
      const id = String(e.id)
      const first = seen.get(id)
      if (first !== undefined) {
        return yield* new EvalError({
          reason: "dataset",
          message: `duplicate id "${id}" (first at ${name}[${first}])`,
          location: `${location}.id`
        })
      }
      seen.set(id, i)
      examples.push(exampleOf(id, e))
    }
    return yield* nonEmpty(name, examples)
  })

/** Examples as JSONL text (one object per line, newline-terminated). */
export const toJsonl = (examples: ReadonlyArray<Example>): string =>
  examples.map((e) => JSON.stringify(e)).join("\n") + (examples.length === 0 ? "" : "\n")
