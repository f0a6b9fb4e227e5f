/**
 * The `trellis eval` group (docs/evaluation.md): `eval run <program> --data
 * d.jsonl --metric …` (every example a durable run, resumable), `eval compare
 * <baseline> <candidate>… [--require "delta>0"] [--alpha 0.05]` (exit 0 when
 * every candidate passes the gate, 1 when not), `eval dataset from-runs`
 * (a regression dataset from recorded runs), and `eval retrieval`.
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { Effect, Either, Layer, Option } from "effect"
import { compareEvals, parseRequirement } from "../eval/compare.js"
import type { Comparison } from "../eval/compare.js"
import { parseDataset } from "../eval/dataset.js"
import { toJsonl } from "../eval/dataset.js"
import type { EvalError } from "../eval/errors.js"
import { datasetFromRuns } from "../eval/fromRuns.js"
import { loadScorers } from "../eval/metric.js"
import { parseMetric } from "../eval/metricSpec.js"
import type { MetricSpec } from "../eval/metricSpec.js"
import type { EvalReport } from "../eval/report.js"
import { evalIdOf, evaluate } from "../eval/runner.js"
import { makeRunId } from "../runtime/launch.js"
import * as EvalStoreSql from "../store/evals.js"
import { EvalStore } from "../store/evals.js"
import type { EvalResult } from "../store/evals.js"
import { HttpAllowlist } from "../tools/index.js"
import { evalDocumentsCommand } from "./documents.js"
import { evalCalibrateCommand } from "./evalCalibrate.js"
import { evalPolicyCommand } from "./evalPolicy.js"
import { CliError, err, out, readInput, writeText } from "./io.js"
import { loadValid } from "./load.js"
import { notWhileServed } from "./remote.js"
import { evalRetrievalCommand } from "./retrieval.js"
import { loadRegistry, servicesLayer, storeLayer } from "./services.js"

const NOT_WHILE_SERVED = ": stop it, or use POST /v1/evals, or PostgreSQL (TRELLIS_DATABASE_URL), which both can share"

const toCli = (e: EvalError | CliError): CliError => e._tag === "CliError" ? e : new CliError({ message: e.display })

/** The eval store next to the run store: SQL on the store's own client, or in memory. */
const evalStoreLayer = (memory: boolean) =>
  memory ? EvalStore.layerMemory : EvalStoreSql.layer.pipe(Layer.provide(storeLayer))

/** A progress bar on stderr, only when it is a terminal. */
const progress = (done: number, total: number): Effect.Effect<void> =>
  Effect.sync(() => {
    if (process.stderr.isTTY !== true) return
    const width = 30
    const filled = Math.round((done / Math.max(1, total)) * width)
    process.stderr.write(`\r[${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total} examples`)
    if (done === total) process.stderr.write("\n")
  })

const fmt = (x: number | null): string => (x === null || !Number.isFinite(x) ? "-" : String(Math.round(x * 1e4) / 1e4))

const exampleLine = (r: EvalResult): string => {
  const mark = r.status === "completed" ? "✓" : "✗"
  const scores = r.scores.map((s) => (s === null ? "error" : fmt(s))).join(" ")
  const why = r.error === null ? "" : `  ${r.error.kind}: ${r.error.message}`
  return `${mark} ${r.exampleId}  ${scores}  ${r.latencyMs === null ? "-" : `${r.latencyMs}ms`}${why}`
}

const exampleJson = (r: EvalResult) => ({
  example: r.exampleId,
  runId: r.runId,
  status: r.status,
  scores: r.scores,
  output: r.output,
  error: r.error,
  latencyMs: r.latencyMs,
  cost: r.cost
})

/** The text report of an eval. */
export const reportText = (r: EvalReport): string => {
  const lines = [
    `eval ${r.evalId}: ${r.program.name} (${r.program.hash.slice(0, 19)}) on ${r.dataset}`,
    `  n=${r.n}  errors=${r.errors}  metric errors=${r.metricErrors}`,
    ...r.metrics.map((m) =>
      `  ${m.metric}: mean ${fmt(m.mean)}  sd ${fmt(m.stddev)}  95% CI [${fmt(m.ci[0])}, ${fmt(m.ci[1])}]`
    ),
    `  latency mean ${fmt(r.latencyMs.mean)}ms max ${fmt(r.latencyMs.max)}ms  cost total ${fmt(r.cost.total)}`
  ]
  const g = r.regression
  if (g !== undefined) {
    lines.push(
      `  regression vs recorded runs (${g.compared}): ${g.changed} changed outputs, ${g.newFailures} new failures, ${g.fixed} fixed`,
      `    latency ms  baseline ${fmt(g.latencyMs.baseline)}  now ${fmt(g.latencyMs.current)}  delta ${
        fmt(g.latencyMs.delta)
      }`,
      `    cost        baseline ${fmt(g.cost.baseline)}  now ${fmt(g.cost.current)}  delta ${fmt(g.cost.delta)}`
    )
    if (g.changedIds.length > 0) lines.push(`    changed: ${g.changedIds.slice(0, 20).join(", ")}`)
    if (g.newFailureIds.length > 0) lines.push(`    new failures: ${g.newFailureIds.slice(0, 20).join(", ")}`)
  }
  return lines.join("\n")
}

const parseMetrics = (texts: ReadonlyArray<string>): Either.Either<ReadonlyArray<MetricSpec>, EvalError> => {
  const specs: Array<MetricSpec> = []
  for (const t of texts.length === 0 ? ["exact"] : texts) {
    const parsed = parseMetric(t)
    if (Either.isLeft(parsed)) return Either.left(parsed.left)
    specs.push(parsed.right)
  }
  return Either.right(specs)
}

/** `trellis eval run <program> --data d.jsonl --metric …`. */
const evalRunCommand = Command.make(
  "run",
  {
    program: Args.text({ name: "program" }).pipe(Args.withDescription("A .tr (DSL) or .json (IR) file")),
    data: Options.text("data").pipe(
      Options.withDescription("A JSONL dataset: {id, inputs, expected?, tags?} per line")
    ),
    metric: Options.text("metric").pipe(
      Options.repeated,
      Options.withDescription("A metric (docs/evaluation.md); repeatable, the first is primary; default exact")
    ),
    concurrency: Options.integer("concurrency").pipe(
      Options.withDefault(4),
      Options.withDescription("Examples at once")
    ),
    config: Options.text("config").pipe(
      Options.optional,
      Options.withDescription("Config file of the LLM providers (else TRELLIS_CONFIG)")
    ),
    tools: Options.text("tools").pipe(Options.optional, Options.withDescription("A module exporting `tools`")),
    seed: Options.integer("seed").pipe(Options.optional, Options.withDescription("Seed of every example's run")),
    fresh: Options.boolean("fresh").pipe(
      Options.withDescription("Start a new eval instead of continuing the one with the same program, data and metrics")
    ),
    memory: Options.boolean("memory").pipe(Options.withDescription("Record nothing in the store")),
    json: Options.boolean("json").pipe(
      Options.withDescription("One JSON line per example, then the report as the last line")
    )
  },
  (o) =>
    Effect.gen(function*() {
      if (!o.memory) yield* notWhileServed(NOT_WHILE_SERVED)
      const specs = yield* Either.match(parseMetrics(o.metric), { onLeft: Effect.fail, onRight: Effect.succeed })
      const data = yield* readInput(o.data)
      const examples = yield* parseDataset(data.name, data.text)
      const scorers = yield* loadScorers(specs)
      const { registry } = yield* loadRegistry(Option.getOrUndefined(o.tools))
      const loaded = yield* loadValid(o.program, { tools: registry.table })
      const program = loaded.checked.normalized ?? loaded.checked.program
      const programHash = loaded.checked.hash ?? ""
      const seed = Option.getOrUndefined(o.seed)
      const baseId = evalIdOf(programHash, examples, specs.map((s) => s.text), seed)
      const evalId = o.fresh ? `${baseId}-${(yield* makeRunId).slice(0, 8)}` : baseId
      const report = yield* evaluate({
        program,
        programHash,
        examples,
        dataset: data.name,
        scorers,
        concurrency: Math.max(1, o.concurrency),
        evalId,
        ...(seed === undefined ? {} : { seed }),
        onProgress: progress,
        onResult: (r) => (o.json
          ? out(JSON.stringify(exampleJson(r)))
          : process.stderr.isTTY === true
          ? Effect.void
          : out(exampleLine(r)))
      }).pipe(
        Effect.provide(
          Layer.merge(
            servicesLayer(registry, { memory: o.memory, config: Option.getOrUndefined(o.config) }),
            evalStoreLayer(o.memory)
          )
        ),
        Effect.provide(HttpAllowlist.layerFromEnv)
      )
      yield* out(o.json ? JSON.stringify(report) : reportText(report))
    }).pipe(Effect.mapError(toCli))
).pipe(Command.withDescription("Evaluate a program on a dataset: every example a durable run; mean, stddev, 95% CI"))

/** The text of a comparison. */
export const comparisonText = (c: Comparison): string =>
  [
    `baseline ${c.baseline}, metric ${c.metric}, gate ${c.require} at alpha ${c.alpha}${
      c.correction === "holm" ? " (Holm)" : ""
    }`,
    ...c.candidates.map((x) =>
      `  ${x.evalId}: delta ${fmt(x.delta)} (${fmt(x.meanA)} → ${fmt(x.meanB)})  ${
        Math.round((1 - c.alpha) * 100)
      }% CI [${fmt(x.ci[0])}, ${fmt(x.ci[1])}]  p ${fmt(x.pValue)}${
        c.correction === "holm" ? ` (adjusted ${fmt(x.adjustedPValue)})` : ""
      }  sign p ${fmt(x.signPValue)}  d_z ${fmt(x.effectSize)}  W/L/T ${x.wins}/${x.losses}/${x.ties}${
        x.unpaired > 0 ? `  unpaired ${x.unpaired}` : ""
      }  ${x.pass ? "PASS" : "FAIL"}`
    )
  ].join("\n")

/** `trellis eval compare <baseline> <candidate>…`. */
const evalCompareCommand = Command.make(
  "compare",
  {
    evals: Args.text({ name: "eval-id" }).pipe(Args.atLeast(2), Args.withDescription("Baseline, then candidates")),
    require: Options.text("require").pipe(Options.withDefault("delta>0"), Options.withDescription("The gate")),
    alpha: Options.float("alpha").pipe(Options.withDefault(0.05), Options.withDescription("Significance level")),
    metric: Options.text("metric").pipe(Options.optional, Options.withDescription("Which metric (default: the first)")),
    json: Options.boolean("json").pipe(Options.withDescription("Print the comparison as JSON"))
  },
  (o) =>
    Effect.gen(function*() {
      yield* notWhileServed(NOT_WHILE_SERVED)
      const require = yield* Either.match(parseRequirement(o.require), { onLeft: Effect.fail, onRight: Effect.succeed })
      const metric = Option.getOrUndefined(o.metric)
      const c = yield* compareEvals(o.evals, { alpha: o.alpha, require, ...(metric === undefined ? {} : { metric }) })
        .pipe(Effect.provide(evalStoreLayer(false)))
      yield* out(o.json ? JSON.stringify(c) : comparisonText(c))
      if (!c.pass) {
        return yield* new CliError({ message: `the gate ${c.require} at alpha ${c.alpha} did not pass` })
      }
    }).pipe(Effect.mapError(toCli))
).pipe(Command.withDescription("Compare evals paired by example; exit 0 when every candidate passes the gate"))

/** A time: an ISO date, or milliseconds since the epoch. */
const parseTime = (name: string, text: string): Effect.Effect<number, CliError> => {
  const n = /^\d+$/.test(text) ? Number(text) : Date.parse(text)
  return Number.isFinite(n)
    ? Effect.succeed(n)
    : Effect.fail(new CliError({ message: `--${name}: not a date or epoch milliseconds: "${text}"` }))
}

/** `trellis eval dataset from-runs`. */
const fromRunsCommand = Command.make(
  "from-runs",
  {
    programHash: Options.text("program-hash").pipe(Options.optional, Options.withDescription("Runs of this program")),
    since: Options.text("since").pipe(
      Options.optional,
      Options.withDescription("Runs created at or after (ISO or ms)")
    ),
    until: Options.text("until").pipe(Options.optional, Options.withDescription("Runs created before (ISO or ms)")),
    tag: Options.text("tag").pipe(
      Options.optional,
      Options.withDescription("Runs of this eval (a run's tag is its eval id)")
    ),
    feedback: Options.choice("feedback", ["positive"]).pipe(
      Options.optional,
      Options.withDescription("Only runs whose mean posted reward is above 0")
    ),
    minReward: Options.float("min-reward").pipe(
      Options.optional,
      Options.withDescription("Only runs whose mean posted reward is at least this")
    ),
    feedbackKey: Options.text("feedback-key").pipe(
      Options.optional,
      Options.withDescription("Count only rewards posted under this choose key")
    ),
    limit: Options.integer("limit").pipe(Options.withDefault(1000)),
    output: Options.text("output").pipe(Options.withAlias("o"), Options.withDescription("The JSONL file to write"))
  },
  (o) =>
    Effect.gen(function*() {
      yield* notWhileServed(NOT_WHILE_SERVED)
      if (Option.isSome(o.feedback) && Option.isSome(o.minReward)) {
        return yield* new CliError({ message: "give --feedback positive or --min-reward x, not both" })
      }
      if (Option.isSome(o.minReward) && !Number.isFinite(o.minReward.value)) {
        return yield* new CliError({ message: `--min-reward must be a finite number, got ${o.minReward.value}` })
      }
      if (Option.isSome(o.feedbackKey) && Option.isNone(o.feedback) && Option.isNone(o.minReward)) {
        return yield* new CliError({ message: "--feedback-key needs --feedback positive or --min-reward x" })
      }
      const feedback = Option.isSome(o.feedback)
        ? { min: 0, strict: true }
        : Option.isSome(o.minReward)
        ? { min: o.minReward.value, strict: false }
        : undefined
      const since = Option.isSome(o.since) ? yield* parseTime("since", o.since.value) : undefined
      const until = Option.isSome(o.until) ? yield* parseTime("until", o.until.value) : undefined
      const examples = yield* datasetFromRuns({
        limit: o.limit,
        ...(Option.isSome(o.programHash) ? { programHash: o.programHash.value } : {}),
        ...(Option.isSome(o.tag) ? { tag: o.tag.value } : {}),
        ...(since === undefined ? {} : { since }),
        ...(until === undefined ? {} : { until }),
        ...(feedback === undefined ? {} : {
          feedback: { ...feedback, ...(Option.isSome(o.feedbackKey) ? { key: o.feedbackKey.value } : {}) }
        })
      }).pipe(Effect.provide(Layer.merge(storeLayer, evalStoreLayer(false))))
      yield* writeText(o.output, toJsonl(examples))
      yield* err(`${o.output}: ${examples.length} examples from recorded runs`)
    }).pipe(Effect.mapError(toCli))
).pipe(Command.withDescription("Write a dataset whose expected outputs are recorded runs' outputs"))

const datasetCommand = Command.make("dataset").pipe(
  Command.withDescription("Datasets: from-runs"),
  Command.withSubcommands([fromRunsCommand])
)

/** `trellis eval …`. */
export const evalCommand = Command.make("eval").pipe(
  Command.withDescription("Evaluate programs (run, compare, dataset from-runs, policy, calibrate) and retrieval"),
  Command.withSubcommands([
    evalRunCommand,
    evalCompareCommand,
    datasetCommand,
    evalPolicyCommand,
    evalCalibrateCommand,
    evalRetrievalCommand,
    evalDocumentsCommand
  ])
)
