/**
 * `trellis eval calibrate --data preds.jsonl [--fit isotonic|platt -o cal.json]
 * [--apply cal.json] [--svg diag.svg]`: the Brier score, ECE and reliability
 * diagram of forecasts; with `--fit`, a calibrator fitted on one split and
 * scored on the held-out one, written as a versioned, content-addressed
 * artifact that the `calibrate` built-in tool applies at run time, and stored
 * in the store's content-addressed artifacts (kind `calibrator`, listed by
 * `trellis artifacts`) unless `--memory`; with `--apply`, an existing
 * calibrator scored on new forecasts.
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Path from "@effect/platform/Path"
import { Effect, Either, Option, Schema } from "effect"
import { applyCalibrator, Calibrator, calibratorProblem, fitCalibrator } from "../eval/calibration/artifact.js"
import type { CalibratorArtifact, SplitScores } from "../eval/calibration/artifact.js"
import { parseForecasts } from "../eval/calibration/data.js"
import { brier, ece, reliability } from "../eval/calibration/metrics.js"
import type { Forecast } from "../eval/calibration/metrics.js"
import { reliabilitySvg } from "../eval/calibration/svg.js"
import type { Artifact } from "../optimize/artifacts.js"
import { ArtifactStore } from "../optimize/artifacts.js"
import { CliError, out, readInput, writeText } from "./io.js"
import { artifactStoreLayer } from "./job.js"
import { notWhileServed } from "./remote.js"

const f4 = (x: number) => x.toFixed(4)
const usage = (message: string) => new CliError({ message, exitCode: 2 })

const scoresLine = (name: string, s: SplitScores) =>
  `${name.padEnd(6)} n=${s.n}  Brier ${f4(s.brierBefore)} → ${f4(s.brierAfter)}  ECE ${f4(s.eceBefore)} → ${
    f4(s.eceAfter)
  }`

/** Reads a calibrator file, or fails naming it and what is wrong. */
const readCalibrator = (path: string) =>
  Effect.gen(function*() {
    const input = yield* readInput(path)
    const parsed = Either.try(() => JSON.parse(input.text) as unknown)
    if (Either.isLeft(parsed)) return yield* new CliError({ message: `${path}: not JSON` })
    const decoded = Schema.decodeUnknownEither(Calibrator)(parsed.right)
    if (Either.isLeft(decoded)) {
      return yield* new CliError({ message: `${path}: not a calibrator: ${decoded.left.message}` })
    }
    const problem = calibratorProblem(decoded.right)
    if (problem !== undefined) return yield* new CliError({ message: `${path}: ${problem}` })
    return decoded.right
  })

/** `trellis eval calibrate`. */
export const evalCalibrateCommand = Command.make(
  "calibrate",
  {
    data: Options.text("data").pipe(
      Options.withDescription("Forecasts as JSONL: {\"p\": probability, \"y\": outcome}")
    ),
    fit: Options.choice("fit", ["isotonic", "platt"]).pipe(
      Options.optional,
      Options.withDescription("Fit a calibrator on the training split")
    ),
    output: Options.text("output").pipe(
      Options.withAlias("o"),
      Options.optional,
      Options.withDescription("Where to write the fitted calibrator (JSON)")
    ),
    apply: Options.text("apply").pipe(Options.optional, Options.withDescription("Score an existing calibrator")),
    svg: Options.text("svg").pipe(Options.optional, Options.withDescription("Write the reliability diagram (SVG)")),
    score: Options.text("score-field").pipe(
      Options.withDefault("p"),
      Options.withDescription("The probability's field")
    ),
    label: Options.text("label-field").pipe(Options.withDefault("y"), Options.withDescription("The outcome's field")),
    bins: Options.integer("bins").pipe(Options.withDefault(10), Options.withDescription("Equal-width ECE bins")),
    holdout: Options.float("holdout").pipe(
      Options.withDefault(0.3),
      Options.withDescription("Fraction held out to score the fitted calibrator")
    ),
    seed: Options.integer("seed").pipe(Options.withDefault(0), Options.withDescription("Seed of the split")),
    memory: Options.boolean("memory").pipe(
      Options.withDescription("--fit: do not store the calibrator in the store's artifacts")
    ),
    json: Options.boolean("json").pipe(Options.withDescription("Print the report as JSON"))
  },
  (o) =>
    Effect.gen(function*() {
      if (o.bins < 1 || o.bins > 1000) return yield* usage(`--bins must be from 1 to 1000, got ${o.bins}`)
      if (!(o.holdout >= 0 && o.holdout < 1)) return yield* usage(`--holdout must be in [0, 1), got ${o.holdout}`)
      if (Option.isSome(o.fit) && Option.isSome(o.apply)) return yield* usage("give --fit or --apply, not both")
      if (Option.isSome(o.output) && Option.isNone(o.fit)) return yield* usage("-o needs --fit")
      const input = yield* readInput(o.data)
      const parsed = parseForecasts(input.name, input.text, { score: o.score, label: o.label })
      if (Either.isLeft(parsed)) {
        const e = parsed.left
        return yield* new CliError({
          message: e.line > 0 ? `${e.file}:${e.line}: ${e.message}` : `${e.file}: ${e.message}`
        })
      }
      const forecasts = parsed.right
      const base = { n: forecasts.length, brier: brier(forecasts), ece: ece(forecasts, o.bins), bins: o.bins }
      let artifact: CalibratorArtifact | undefined
      let stored: Artifact | undefined
      let applied: { readonly id: string | undefined; readonly brier: number; readonly ece: number } | undefined
      let after: ReadonlyArray<Forecast> | undefined
      if (Option.isSome(o.fit)) {
        artifact = fitCalibrator(o.fit.value, forecasts, { holdout: o.holdout, seed: o.seed, bins: o.bins })
        after = forecasts.map((f) => ({ p: applyCalibrator(artifact!, f.p), y: f.y }))
        const content = JSON.stringify(artifact, null, 2) + "\n"
        if (Option.isSome(o.output)) yield* writeText(o.output.value, content)
        if (!o.memory) {
          yield* notWhileServed(": stop it, use PostgreSQL (TRELLIS_DATABASE_URL), or give --memory")
          const path = yield* Path.Path
          const name = Option.isSome(o.output) ? path.basename(o.output.value) : `${artifact.kind}-calibrator.json`
          stored = yield* Effect.flatMap(ArtifactStore, (store) => store.put("calibrator", name, content)).pipe(
            Effect.provide(artifactStoreLayer(false)),
            Effect.mapError((e) => new CliError({ message: `storing the calibrator failed: ${e.message}` }))
          )
        }
      }
      if (Option.isSome(o.apply)) {
        const c = yield* readCalibrator(o.apply.value)
        after = forecasts.map((f) => ({ p: applyCalibrator(c, f.p), y: f.y }))
        applied = { id: c.id, brier: brier(after), ece: ece(after, o.bins) }
      }
      if (Option.isSome(o.svg)) {
        const svg = reliabilitySvg(reliability(forecasts, o.bins), {
          title: `Reliability (${input.name})`,
          ...(after === undefined ? {} : { after: reliability(after, o.bins), labels: ["forecasts", "calibrated"] })
        })
        yield* writeText(o.svg.value, svg)
      }
      if (o.json) {
        yield* out(JSON.stringify({
          ...base,
          ...(artifact === undefined
            ? {}
            : { calibrator: { kind: artifact.kind, id: artifact.id }, fit: artifact.fit }),
          ...(stored === undefined ? {} : { artifact: stored }),
          ...(applied === undefined ? {} : { applied })
        }))
        return
      }
      yield* out(`${input.name}: ${base.n} forecasts  Brier ${f4(base.brier)}  ECE ${f4(base.ece)} (${o.bins} bins)`)
      if (artifact !== undefined) {
        yield* out(`${artifact.kind} calibrator ${artifact.id}`)
        yield* out(scoresLine("train", artifact.fit.train))
        if (artifact.fit.test !== undefined) yield* out(scoresLine("test", artifact.fit.test))
        if (Option.isSome(o.output)) yield* out(`wrote ${o.output.value}`)
        if (stored !== undefined) yield* out(`stored artifact ${stored.hash.slice(0, 19)} (trellis artifacts show)`)
      }
      if (applied !== undefined) yield* out(`calibrated: Brier ${f4(applied.brier)}  ECE ${f4(applied.ece)}`)
      if (Option.isSome(o.svg)) yield* out(`wrote ${o.svg.value}`)
    })
).pipe(
  Command.withDescription(
    "Calibration of forecasts: Brier, ECE, reliability diagram (SVG); fit an isotonic or Platt calibrator"
  )
)
