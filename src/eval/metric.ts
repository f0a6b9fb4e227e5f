/**
 * Metrics made runnable: a parsed `MetricSpec` becomes a `Scorer` that
 * scores one observed example (its run's status, output, latency and cost).
 * Files named by a metric are read once, when it is loaded: a JSON Schema,
 * a judge's signature file, a metric program, a TypeScript module. The
 * judge and program metrics run a Trellis program in memory (events
 * discarded, no run record) with the caller's tools and LLM runner.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Effect, Layer } from "effect"
import { resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { check } from "../compile.js"
import type { Json, JsonRecord } from "../ir/eval.js"
import type { Program, Signature } from "../ir/schema.js"
import { IdempotencyStore } from "../runtime/policy/idempotency.js"
import * as Runtime from "../runtime/runtime.js"
import type { RunRequirements } from "../runtime/runtime.js"
import { EventSink } from "../trace/events.js"
import { formatType } from "../validate/types.js"
import type { Example } from "./dataset.js"
import { EvalError } from "./errors.js"
import { firstViolation } from "./jsonSchemaCheck.js"
import type { JsonSchemaDoc } from "./jsonSchemaCheck.js"
import type { MetricSpec, SingleSpec } from "./metricSpec.js"
import { contains, exact, normalizedExact, numericClose, tokenF1 } from "./textMetrics.js"

/** What happened to one example: what its run did. */
export interface Observation {
  readonly example: Example
  readonly status: "completed" | "failed" | "cancelled" | "waiting"
  readonly output?: Json
  readonly error?: { readonly kind: string; readonly message: string }
  readonly latencyMs: number | null
  readonly cost: number | null
}

/** A loaded metric. */
export interface Scorer {
  readonly spec: MetricSpec
  readonly score: (o: Observation) => Effect.Effect<number, EvalError, RunRequirements>
}

/** What a TypeScript metric function receives. */
export interface MetricInput {
  readonly inputs: JsonRecord
  readonly expected: Json | undefined
  readonly output: Json | undefined
  readonly example: Example
  readonly status: Observation["status"]
  readonly latencyMs: number | null
  readonly cost: number | null
}

/** A TypeScript metric: a score (a boolean counts as 0/1), or a promise of one. */
export type MetricFunction = (input: MetricInput) => number | boolean | Promise<number | boolean>

type Single = (o: Observation) => Effect.Effect<number, EvalError, RunRequirements>

const metricError = (spec: MetricSpec, o: Observation, message: string) =>
  new EvalError({ reason: "metric", message: `${spec.text}: ${message}`, location: `example ${o.example.id}` })

/** A score from a metric program's value: a number, a boolean, or a record with `score` or `pass`. */
export const scoreOf = (value: Json | undefined): number | undefined => {
  if (typeof value === "number" && Number.isFinite(value)) return value
  if (typeof value === "boolean") return value ? 1 : 0
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const r = value as JsonRecord
    if (r["score"] !== undefined) return scoreOf(r["score"])
    if (r["pass"] !== undefined) return scoreOf(r["pass"])
  }
  return undefined
}

/** Metric programs run in memory: their events are discarded and their idempotency records kept apart. */
const metricRunLayer = Layer.merge(EventSink.layerDiscard, IdempotencyStore.layerMemory)

/** The inputs of a metric program: `actual` (the output), `expected`, `inputs`, or the example's input of that name. */
const programInputs = (params: ReadonlyArray<string>, o: Observation): Record<string, Json> => {
  const inputs: Record<string, Json> = {}
  for (const p of params) {
    const v = p === "actual"
      ? o.output
      : p === "expected"
      ? o.example.expected
      : p === "inputs"
      ? o.example.inputs
      : o.example.inputs[p]
    if (v !== undefined) inputs[p] = v
  }
  return inputs
}

const runProgram = (spec: MetricSpec, program: Program): Single => {
  const entry = program.programs[program.entry]
  const params = (entry?.params ?? []).map((p) => p.name)
  return (o) =>
    Runtime.run(program, programInputs(params, o)).pipe(
      Effect.provide(metricRunLayer),
      Effect.mapError((e) => metricError(spec, o, `the metric program failed: ${e.kind}: ${e.message}`)),
      Effect.flatMap((r) => {
        const s = scoreOf(r.output)
        return s === undefined
          ? Effect.fail(metricError(spec, o, "the metric program must return a number, a boolean, or {score}"))
          : Effect.succeed(s)
      })
    )
}

const readText = (spec: MetricSpec, path: string) =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => fs.readFileString(path)).pipe(
    Effect.mapError(() =>
      new EvalError({ reason: "metric", message: `${spec.text}: cannot read ${path}`, location: "--metric" })
    )
  )

const compileMetricProgram = (spec: MetricSpec, path: string, source: string): Effect.Effect<Program, EvalError> => {
  const checked = check(source)
  if (checked.program === undefined || checked.diagnostics.length > 0) {
    const d = checked.diagnostics[0]
    const where = d?.span === undefined ? path : `${path}:${d.span.start.line}:${d.span.start.column}`
    return Effect.fail(
      new EvalError({
        reason: "metric",
        message: `${spec.text}: ${d?.code ?? ""} ${d?.message ?? "invalid"}`,
        location: where
      })
    )
  }
  return Effect.succeed(checked.normalized ?? checked.program)
}

/** The judge program for a signature: its inputs from the example, its output record the verdict. */
export const judgeSource = (source: string, name: string, signature: Signature, model: string | undefined): string => {
  const params = signature.inputs.map((f) => `${f.name}: ${formatType(f.type)}`).join(", ")
  const args = signature.inputs.map((f) => `${f.name}: ${f.name}`).join(", ")
  const policy = model === undefined ? "" : ` with { model: ${JSON.stringify(model)} }`
  return `${source}\n\nprogram main(${params}) {\n  verdict = llm ${name}(${args})${policy}\n  return verdict\n}\n`
}

const loadJudge = (spec: MetricSpec, s: Extract<SingleSpec, { kind: "judge" }>) =>
  Effect.gen(function*() {
    const source = yield* readText(spec, s.path)
    const signatures = yield* compileMetricProgram(spec, s.path, `${source}\n\nprogram main() { return 0 }\n`).pipe(
      Effect.map((p) => p.signatures)
    )
    const names = Object.keys(signatures)
    const name = s.signature ?? (names.length === 1 ? names[0] : undefined)
    const signature = name === undefined ? undefined : signatures[name]
    if (name === undefined || signature === undefined) {
      return yield* new EvalError({
        reason: "metric",
        message: `${spec.text}: name the judge's signature with #Name (the file declares ${
          names.join(", ") || "none"
        })`,
        location: s.path
      })
    }
    if (!signature.outputs.some((f) => f.name === "score" || f.name === "pass")) {
      return yield* new EvalError({
        reason: "metric",
        message: `${spec.text}: the judge signature ${name} needs an output "score: number" or "pass: boolean"`,
        location: s.path
      })
    }
    const program = yield* compileMetricProgram(spec, s.path, judgeSource(source, name, signature, s.model))
    return runProgram(spec, program)
  })

const loadTs = (spec: MetricSpec, s: Extract<SingleSpec, { kind: "ts" }>) =>
  Effect.gen(function*() {
    const namespace = yield* Effect.tryPromise({
      try: (): Promise<Record<string, unknown>> => import(pathToFileURL(resolve(s.path)).href),
      catch: (e) =>
        new EvalError({
          reason: "metric",
          message: `${spec.text}: cannot import (${e instanceof Error ? e.message : String(e)})`,
          location: s.path
        })
    })
    const f = namespace[s.export]
    if (typeof f !== "function") {
      return yield* new EvalError({
        reason: "metric",
        message: `${spec.text}: the module exports no function "${s.export}"`,
        location: s.path
      })
    }
    const fn = f as MetricFunction
    const single: Single = (o) =>
      Effect.tryPromise({
        try: async () =>
          fn({
            inputs: o.example.inputs,
            expected: o.example.expected,
            output: o.output,
            example: o.example,
            status: o.status,
            latencyMs: o.latencyMs,
            cost: o.cost
          }),
        catch: (e) => metricError(spec, o, `threw: ${e instanceof Error ? e.message : String(e)}`)
      }).pipe(
        Effect.flatMap((v) => {
          const score = scoreOf(v)
          return score === undefined
            ? Effect.fail(metricError(spec, o, "a TypeScript metric must return a number or a boolean"))
            : Effect.succeed(score)
        })
      )
    return single
  })

const needsExpected = (
  spec: MetricSpec,
  o: Observation,
  f: (expected: Json) => number
): Effect.Effect<number, EvalError> =>
  o.example.expected === undefined
    ? Effect.fail(metricError(spec, o, "the example has no expected value"))
    : Effect.succeed(f(o.example.expected))

const loadSingle = (
  spec: MetricSpec,
  s: SingleSpec
): Effect.Effect<Single, EvalError, FileSystem.FileSystem> => {
  switch (s.kind) {
    case "exact":
      return Effect.succeed((o) => needsExpected(spec, o, (e) => exact(o.output, e)))
    case "normalized":
      return Effect.succeed((o) => needsExpected(spec, o, (e) => normalizedExact(o.output, e)))
    case "f1":
      return Effect.succeed((o) => needsExpected(spec, o, (e) => tokenF1(o.output, e)))
    case "contains":
      return Effect.succeed((o) => needsExpected(spec, o, (e) => contains(o.output, e)))
    case "numeric":
      return Effect.succeed((o) => needsExpected(spec, o, (e) => numericClose(o.output, e, s.tolerance, s.relative)))
    case "latency":
      return Effect.succeed((o) => Effect.succeed(o.latencyMs ?? 0))
    case "cost":
      return Effect.succeed((o) => Effect.succeed(o.cost ?? 0))
    case "json-schema":
      return Effect.gen(function*() {
        const text = yield* readText(spec, s.path)
        let schema: JsonSchemaDoc
        try {
          schema = JSON.parse(text) as JsonSchemaDoc
        } catch {
          return yield* new EvalError({ reason: "metric", message: `${spec.text}: not JSON`, location: s.path })
        }
        return (o: Observation) =>
          Effect.succeed(o.output !== undefined && firstViolation(schema, o.output) === undefined ? 1 : 0)
      })
    case "program":
      return Effect.gen(function*() {
        const source = yield* readText(spec, s.path)
        return runProgram(spec, yield* compileMetricProgram(spec, s.path, source))
      })
    case "judge":
      return loadJudge(spec, s)
    case "ts":
      return loadTs(spec, s)
  }
}

/** Whether a single metric measures the run itself (latency, cost), so a failed run still has a value. */
const measuresRun = (s: SingleSpec): boolean => s.kind === "latency" || s.kind === "cost"

/**
 * Loads a metric. Its score is the weighted mean of its terms; a run that
 * did not complete scores 0 on every term but `latency` and `cost`.
 */
export const loadScorer = (spec: MetricSpec): Effect.Effect<Scorer, EvalError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const terms: Array<{ readonly weight: number; readonly single: Single; readonly runOnly: boolean }> = []
    for (const t of spec.terms) {
      terms.push({ weight: t.weight, single: yield* loadSingle(spec, t.spec), runOnly: measuresRun(t.spec) })
    }
    const total = terms.reduce((s, t) => s + t.weight, 0)
    return {
      spec,
      score: (o) =>
        Effect.gen(function*() {
          let sum = 0
          for (const t of terms) {
            const v = o.status !== "completed" && !t.runOnly ? 0 : yield* t.single(o)
            sum += t.weight * v
          }
          return sum / total
        })
    }
  })

/** The scorers of parsed specs, in order. */
export const loadScorers = (
  specs: ReadonlyArray<MetricSpec>
): Effect.Effect<ReadonlyArray<Scorer>, EvalError, FileSystem.FileSystem> => Effect.forEach(specs, loadScorer)
