/**
 * `trellis optimize <program> --train t.jsonl --dev d.jsonl [--test x.jsonl]
 * --metric … --model … --budget … --optimizer …` (docs/optimization.md):
 * searches instructions and demos under a hard budget, writes the optimized
 * program (`-o`), and prints the report (dev and test scores with CIs and the
 * paired comparison against the starting program).
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { Effect, Either, Layer, Option } from "effect"
import { parseDataset } from "../eval/dataset.js"
import type { EvalError } from "../eval/errors.js"
import { loadScorers } from "../eval/metric.js"
import { parseMetric } from "../eval/metricSpec.js"
import * as Router from "../llm/router.js"
import { LlmRouter } from "../llm/service.js"
import { parseBudget } from "../optimize/budget.js"
import type { OptimizeError } from "../optimize/errors.js"
import { optimize, type OptimizeReport, type SplitReport } from "../optimize/optimize.js"
import { OPTIMIZERS } from "../optimize/search.js"
import { loadConfig } from "../server/config.js"
import * as EvalStoreSql from "../store/evals.js"
import { EvalStore } from "../store/evals.js"
import { HttpAllowlist } from "../tools/index.js"
import { CliError, out, readInput, writeText } from "./io.js"
import { loadValid } from "./load.js"
import { notWhileServed } from "./remote.js"
import { loadRegistry, servicesLayer, storeLayer } from "./services.js"

/** Bad flags (a budget, a metric, a setting) exit 2, like the parser's own usage errors; the rest exit 1. */
const toCli = (e: EvalError | OptimizeError | CliError): CliError =>
  e._tag === "CliError"
    ? e
    : new CliError({
      message: e.display,
      ...((e._tag === "OptimizeError" && e.reason === "options") || (e._tag === "EvalError" && e.reason === "metric")
        ? { exitCode: 2 }
        : {})
    })

/** `--max-demos` (≥ 0), `--candidates`, `--trials`, `--minibatch` (≥ 1): a usage error naming the flag. */
const checkCounts = (counts: ReadonlyArray<readonly [string, Option.Option<number>, number]>) =>
  Effect.forEach(counts, ([flag, value, least]) =>
    Option.isSome(value) && value.value < least
      ? Effect.fail(new CliError({ message: `${flag} must be ≥ ${least}, got ${value.value}`, exitCode: 2 }))
      : Effect.void, { discard: true })

const fmt = (x: number): string => String(Math.round(x * 1e4) / 1e4)

const splitText = (name: string, s: SplitReport): Array<string> => {
  const c = s.comparison.candidates[0]!
  return [
    `${name}: baseline ${fmt(s.baseline.mean)} [${fmt(s.baseline.ci[0])}, ${fmt(s.baseline.ci[1])}]  optimized ${
      fmt(s.optimized.mean)
    } [${fmt(s.optimized.ci[0])}, ${fmt(s.optimized.ci[1])}]  (n=${s.optimized.n})`,
    `  paired delta ${fmt(c.delta)}  95% CI [${fmt(c.ci[0])}, ${fmt(c.ci[1])}]  p ${
      fmt(c.pValue)
    }  W/L/T ${c.wins}/${c.losses}/${c.ties}`
  ]
}

/** The text report of an optimization. */
export const optimizeReportText = (r: OptimizeReport): string =>
  [
    `optimization ${r.optimizationId} (${r.optimizer}, seed ${r.seed}): ${r.trials.length} trials, ${
      r.stopped === "budget" ? "stopped by the budget" : "done"
    }`,
    `  spent ${r.usage.calls} calls, ${r.usage.tokens} tokens, cost ${fmt(r.usage.cost)}`,
    `  program ${r.start.hash.slice(0, 19)} → ${r.optimized.hash.slice(0, 19)}`,
    ...splitText("dev", r.dev),
    ...(r.test === undefined ? [] : splitText("test", r.test))
  ].join("\n")

const readExamples = (path: string) => Effect.flatMap(readInput(path), (data) => parseDataset(data.name, data.text))

/** `trellis optimize`. */
export const optimizeCommand = Command.make(
  "optimize",
  {
    program: Args.text({ name: "program" }).pipe(Args.withDescription("A .tr (DSL) or .json (IR) file")),
    train: Options.text("train").pipe(Options.withDescription("The train split (JSONL): demos come from it")),
    dev: Options.text("dev").pipe(Options.withDescription("The dev split (JSONL): trials are scored on it")),
    test: Options.text("test").pipe(
      Options.optional,
      Options.withDescription("A held-out split (JSONL), scored only after the search")
    ),
    metric: Options.text("metric").pipe(
      Options.repeated,
      Options.withDescription("A metric (docs/evaluation.md); the first is optimized; default exact")
    ),
    model: Options.text("model").pipe(
      Options.optional,
      Options.withDescription("The model of llm steps that name none (provider/model)")
    ),
    budget: Options.text("budget").pipe(
      Options.withDescription("Hard limits: N (calls) or calls=N,tokens=N,cost=X")
    ),
    optimizer: Options.choice("optimizer", OPTIMIZERS).pipe(Options.withDefault("mipro" as const)),
    seed: Options.integer("seed").pipe(Options.withDefault(1)),
    teacherModel: Options.text("teacher-model").pipe(Options.optional, Options.withDescription("The teacher's model")),
    proposerModel: Options.text("proposer-model").pipe(
      Options.optional,
      Options.withDescription("The model that proposes instructions")
    ),
    maxDemos: Options.integer("max-demos").pipe(Options.optional),
    candidates: Options.integer("candidates").pipe(Options.optional),
    trials: Options.integer("trials").pipe(Options.optional),
    minibatch: Options.integer("minibatch").pipe(Options.optional),
    config: Options.text("config").pipe(
      Options.optional,
      Options.withDescription("Config file of the LLM providers (else TRELLIS_CONFIG)")
    ),
    tools: Options.text("tools").pipe(Options.optional, Options.withDescription("A module exporting `tools`")),
    output: Options.text("output").pipe(
      Options.withAlias("o"),
      Options.optional,
      Options.withDescription("Where to write the optimized program")
    ),
    memory: Options.boolean("memory").pipe(Options.withDescription("Record nothing in the store")),
    json: Options.boolean("json").pipe(Options.withDescription("Print the report as JSON"))
  },
  (o) =>
    Effect.gen(function*() {
      if (!o.memory) yield* notWhileServed(": stop it, or use PostgreSQL (TRELLIS_DATABASE_URL)")
      const budget = yield* Either.match(parseBudget(o.budget), { onLeft: Effect.fail, onRight: Effect.succeed })
      yield* checkCounts([
        ["--max-demos", o.maxDemos, 0],
        ["--candidates", o.candidates, 1],
        ["--trials", o.trials, 1],
        ["--minibatch", o.minibatch, 1]
      ])
      const specs = []
      for (const t of o.metric.length === 0 ? ["exact"] : o.metric) {
        specs.push(yield* Either.match(parseMetric(t), { onLeft: Effect.fail, onRight: Effect.succeed }))
      }
      const scorers = yield* loadScorers(specs)
      const train = yield* readExamples(o.train)
      const dev = yield* readExamples(o.dev)
      const test = Option.isSome(o.test) ? yield* readExamples(o.test.value) : undefined
      const { registry } = yield* loadRegistry(Option.getOrUndefined(o.tools))
      const loaded = yield* loadValid(o.program, { tools: registry.table })
      const program = loaded.checked.program!
      const cfg = yield* Effect.mapError(
        loadConfig(Option.getOrUndefined(o.config)),
        (e) => new CliError({ message: e.message })
      )
      const router = Router.layer(cfg.file).pipe(Layer.mapError((e) => new CliError({ message: e.message })))
      // A model the config does not serve is a usage error now, not a failure of every call the optimizer makes.
      const served = yield* Effect.map(LlmRouter, (r) => r.models()).pipe(Effect.provide(router))
      for (
        const [flag, model] of [["--model", o.model], ["--teacher-model", o.teacherModel], [
          "--proposer-model",
          o.proposerModel
        ]] as const
      ) {
        if (Option.isSome(model) && !served.includes(model.value)) {
          return yield* new CliError({
            message: `${flag} ${model.value}: no configured provider serves it (served: ${served.join(", ")})`,
            exitCode: 2
          })
        }
      }
      const evals = o.memory ? EvalStore.layerMemory : EvalStoreSql.layer.pipe(Layer.provide(storeLayer))
      const settings = {
        ...(Option.isSome(o.teacherModel) ? { teacherModel: o.teacherModel.value } : {}),
        ...(Option.isSome(o.proposerModel) ? { proposerModel: o.proposerModel.value } : {}),
        ...(Option.isSome(o.maxDemos) ? { maxDemos: o.maxDemos.value } : {}),
        ...(Option.isSome(o.candidates) ? { candidates: o.candidates.value } : {}),
        ...(Option.isSome(o.trials) ? { trials: o.trials.value } : {}),
        ...(Option.isSome(o.minibatch) ? { minibatch: o.minibatch.value } : {})
      }
      const result = yield* optimize({
        program,
        train,
        dev,
        ...(test === undefined ? {} : { test }),
        scorers,
        optimizer: o.optimizer,
        budget,
        seed: o.seed,
        settings,
        steps: { ...(cfg.file.steps ?? {}), ...(Option.isSome(o.model) ? { defaultModel: o.model.value } : {}) }
      }).pipe(
        Effect.provide(Layer.mergeAll(servicesLayer(registry, { memory: o.memory, config: false }), evals, router)),
        Effect.provide(HttpAllowlist.layerFromEnv)
      )
      if (Option.isSome(o.output)) yield* writeText(o.output.value, result.source)
      yield* out(o.json ? JSON.stringify(result.report) : optimizeReportText(result.report))
    }).pipe(Effect.mapError(toCli))
).pipe(Command.withDescription("Optimize a program's instructions and demos under a hard budget"))
