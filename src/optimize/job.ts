/**
 * Running a JobSpec (issue 20): reads the program and datasets it names (relative to the spec file), runs the
 * eval or the optimization through the library with the spec's seed, and stores the inputs (program, datasets)
 * and outputs (report, optimized program) as content-addressed artifacts. The eval and optimization ids derive
 * from the hash of the spec and its inputs' contents, so a rerun of the same job resumes without redoing
 * finished examples or trials.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { Effect, Either } from "effect"
import { check, type CompileOptions } from "../compile.js"
import { parseDataset } from "../eval/dataset.js"
import { loadScorers } from "../eval/metric.js"
import { parseMetric } from "../eval/metricSpec.js"
import type { EvalReport } from "../eval/report.js"
import { type EvalRequirements, evaluate } from "../eval/runner.js"
import { canonicalJson } from "../ir/canonical.js"
import { sha256Hex } from "../ir/hash.js"
import { LlmRouter } from "../llm/service.js"
import * as StepRunner from "../llm/stepRunner.js"
import type { StepRunnerConfig } from "../llm/stepRunner.js"
import { LlmRunner } from "../runtime/llm.js"
import { type Artifact, ArtifactStore } from "./artifacts.js"
import { JobError, type JobSpec, parseJobSpec } from "./jobSpec.js"
import { optimize, type OptimizeReport, type OptimizeRequirements } from "./optimize.js"

/** What a job produced. */
export interface JobResult {
  readonly jobId: string
  readonly kind: JobSpec["kind"]
  readonly report: EvalReport | OptimizeReport
  /** The optimized program's text (optimize jobs). */
  readonly optimized?: string
  /** The artifacts the job stored (inputs, then outputs). */
  readonly artifacts: ReadonlyArray<Artifact>
}

export type JobRequirements =
  | EvalRequirements
  | OptimizeRequirements
  | ArtifactStore
  | FileSystem.FileSystem
  | Path.Path

const toJob = (location: string) => (e: { readonly message: string; readonly display?: string }) =>
  new JobError({ message: e.display ?? e.message, location })

/** Reads and parses a JobSpec file. */
export const readJobSpec = (file: string): Effect.Effect<JobSpec, JobError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* Effect.mapError(
      fs.readFileString(file),
      (e) => new JobError({ message: e.message, location: file })
    )
    return yield* Either.match(parseJobSpec(file, text), { onLeft: Effect.fail, onRight: Effect.succeed })
  })

/**
 * Runs a job spec read from `file`. `defaults.steps`: the model routes of the config file, if any;
 * `defaults.tools`: the tool table the program is checked against.
 */
export const runJob = (
  file: string,
  defaults: { readonly steps?: StepRunnerConfig; readonly tools?: CompileOptions["tools"] } = {}
): Effect.Effect<JobResult, JobError, JobRequirements> =>
  Effect.gen(function*() {
    const spec = yield* readJobSpec(file)
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const artifacts = yield* ArtifactStore
    const dir = path.dirname(file)
    const read = (p: string) =>
      Effect.mapError(fs.readFileString(path.resolve(dir, p)), (e) => new JobError({ message: e.message, location: p }))
    const stored: Array<Artifact> = []
    const store = (kind: Artifact["kind"], name: string, content: string) =>
      Effect.tap(Effect.mapError(artifacts.put(kind, name, content), toJob(file)), (a) =>
        Effect.sync(() => stored.push(a)))

    const source = yield* read(spec.program)
    const checked = check(source, defaults.tools === undefined ? {} : { tools: defaults.tools })
    if (checked.program === undefined || checked.normalized === undefined || checked.hash === undefined) {
      const d = checked.diagnostics[0]
      return yield* new JobError({
        message: `${checked.diagnostics.length} problem(s) in the program${
          d === undefined ? "" : `: ${d.code} ${d.message}`
        }`,
        location: d?.span === undefined
          ? spec.program
          : `${spec.program}:${d.span.start.line}:${d.span.start.column}`
      })
    }
    yield* store("program", spec.program, source)
    const data: Partial<Record<"train" | "dev" | "test", { readonly name: string; readonly text: string }>> = {}
    for (const split of ["train", "dev", "test"] as const) {
      const p = spec.datasets[split]
      if (p === undefined) {
        continue
      }
      const text = yield* read(p)
      data[split] = { name: p, text }
      yield* store("dataset", p, text)
    }
    const examples = (split: "train" | "dev" | "test") =>
      Effect.mapError(parseDataset(data[split]!.name, data[split]!.text), toJob(data[split]!.name))
    const specs = []
    for (const t of spec.metrics) {
      specs.push(
        yield* Either.match(parseMetric(t), {
          onLeft: (e) =>
            Effect.fail(toJob(file)(e)),
          onRight: Effect.succeed
        })
      )
    }
    const scorers = yield* Effect.mapError(loadScorers(specs), toJob(file))
    const jobId = `job-${
      sha256Hex(canonicalJson({
        spec: { ...spec, program: checked.hash },
        data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, sha256Hex(v.text)]))
      })).slice(0, 16)
    }`
    const steps: StepRunnerConfig = {
      ...(defaults.steps ?? {}),
      ...(spec.model === undefined ? {} : { defaultModel: spec.model })
    }
    if (spec.kind === "eval") {
      const router = yield* LlmRouter
      const report = yield* evaluate({
        program: checked.normalized,
        programHash: checked.hash,
        examples: yield* examples("test"),
        dataset: data.test!.name,
        scorers,
        seed: spec.seed,
        evalId: jobId
      }).pipe(Effect.provideService(LlmRunner, StepRunner.make(router, steps)), Effect.mapError(toJob(file)))
      yield* store("report", `${spec.name ?? jobId} report`, canonicalJson(report))
      return { jobId, kind: spec.kind, report, artifacts: stored }
    }
    const result = yield* optimize({
      program: checked.program,
      train: yield* examples("train"),
      dev: yield* examples("dev"),
      ...(data.test === undefined ? {} : { test: yield* examples("test") }),
      scorers,
      optimizer: spec.optimizer,
      budget: spec.budget ?? {},
      seed: spec.seed,
      steps,
      settings: spec.settings ?? {},
      optimizationId: jobId
    }).pipe(Effect.mapError(toJob(file)))
    yield* store("report", `${spec.name ?? jobId} report`, canonicalJson(result.report))
    yield* store("program", `${spec.name ?? jobId} optimized`, result.source)
    return { jobId, kind: spec.kind, report: result.report, optimized: result.source, artifacts: stored }
  })
