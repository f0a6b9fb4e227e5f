/** Jobs: a YAML spec runs an eval or an optimization; a rerun redoes nothing; inputs and outputs are artifacts. */
import { NodeContext } from "@effect/platform-node"
import { Effect, Either, Layer } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { artifactHash, ArtifactStore } from "../../src/optimize/artifacts.js"
import { runJob } from "../../src/optimize/job.js"
import { parseJobSpec } from "../../src/optimize/jobSpec.js"
import { RunStore } from "../../src/runtime/runStore.js"
import * as Runtime from "../../src/runtime/runtime.js"
import { EvalStore } from "../../src/store/evals.js"
import { makeFakeRouter, ROUTE_SOURCE, tickets } from "./fakeModel.js"

const jsonl = (xs: ReadonlyArray<unknown>) => xs.map((x) => JSON.stringify(x)).join("\n") + "\n"

const workdir = () => {
  const dir = mkdtempSync(join(tmpdir(), "trellis-job-"))
  writeFileSync(join(dir, "route.tr"), ROUTE_SOURCE)
  writeFileSync(join(dir, "train.jsonl"), jsonl(tickets("tr", 6)))
  writeFileSync(join(dir, "dev.jsonl"), jsonl(tickets("dv", 6, 1)))
  writeFileSync(join(dir, "test.jsonl"), jsonl(tickets("ts", 6, 2)))
  return dir
}

const EVAL_JOB = `kind: eval
program: route.tr
datasets:
  test: test.jsonl
model: fake/teacher
seed: 3
`

const OPTIMIZE_JOB = `kind: optimize
name: route
program: route.tr
datasets:
  train: train.jsonl
  dev: dev.jsonl
  test: test.jsonl
metrics: [exact]
model: fake/student
seed: 7
optimizer: bootstrap
budget:
  calls: 200
settings:
  teacherModel: fake/teacher
`

const layers = () =>
  Layer.mergeAll(
    Runtime.layerMemory,
    RunStore.layerMemory,
    EvalStore.layerMemory,
    ArtifactStore.layerMemory,
    NodeContext.layer
  )

describe("parseJobSpec", () => {
  const error = (text: string) => {
    const r = parseJobSpec("job.yaml", text)
    if (Either.isRight(r)) throw new Error("expected an error")
    return r.left
  }

  it("decodes a spec with defaults", () => {
    const r = Either.getOrThrow(parseJobSpec("job.yaml", EVAL_JOB))
    expect(r).toMatchObject({ kind: "eval", program: "route.tr", seed: 3, metrics: ["exact"], optimizer: "mipro" })
  })

  it("reports YAML syntax errors at file:line:column", () => {
    const e = error("kind: eval\nprogram: [a,\n")
    expect(e.location).toMatch(/^job\.yaml:\d+:\d+$/)
  })

  it("reports a wrong type at the value's line and column", () => {
    const e = error("kind: eval\nprogram: p.tr\ndatasets:\n  test: t.jsonl\nseed: many\n")
    expect(e.location).toBe("job.yaml:5:7")
    expect(e.message).toContain("seed")
  })

  it("reports an unknown kind, an unknown key and a missing dataset with locations", () => {
    expect(error("kind: train\nprogram: p.tr\ndatasets: {}\n").location).toBe("job.yaml:1:7")
    const unknown = error("kind: eval\nprogram: p.tr\ndatasets:\n  test: t.jsonl\n  tset: x.jsonl\n")
    expect(unknown.message).toContain("tset")
    expect(unknown.location).toBe("job.yaml:5:9")
    const missing = error("kind: optimize\nprogram: p.tr\ndatasets:\n  train: t.jsonl\nbudget: {calls: 3}\n")
    expect(missing.message).toContain("datasets.dev")
    expect(missing.location).toBe("job.yaml:4:3")
    expect(error("kind: optimize\nprogram: p.tr\ndatasets: {train: a, dev: b}\n").message).toContain("budget")
  })
})

describe("runJob", () => {
  it("eval: scores the program; a rerun makes no model call; inputs and report are artifacts, deduplicated", async () => {
    const dir = workdir()
    writeFileSync(join(dir, "job.yaml"), EVAL_JOB)
    const fake = makeFakeRouter()
    const [first, second, listed] = await Effect.runPromise(
      Effect.gen(function*() {
        const a = yield* runJob(join(dir, "job.yaml"))
        const calls = fake.state.calls
        const b = yield* runJob(join(dir, "job.yaml"))
        expect(fake.state.calls).toBe(calls)
        return [a, b, yield* (yield* ArtifactStore).list()] as const
      }).pipe(Effect.provide(Layer.merge(layers(), fake.layer)))
    )
    expect(first.kind).toBe("eval")
    expect(first.report).toMatchObject({ mean: 1 })
    expect(second.jobId).toBe(first.jobId)
    expect(second.report).toEqual(first.report)
    expect(fake.state.calls).toBe(6)
    // program, dataset, report: stored once though the job ran twice.
    expect(listed.map((a) => a.kind).sort()).toEqual(["dataset", "program", "report"])
    const program = listed.find((a) => a.kind === "program")!
    expect(program.hash).toBe(artifactHash(ROUTE_SOURCE))
  })

  it(
    "optimize: improves the program with the spec's seed; the same spec twice gives the same result, no new calls",
    async () => {
      const dir = workdir()
      writeFileSync(join(dir, "job.yaml"), OPTIMIZE_JOB)
      const fake = makeFakeRouter()
      const { first, second, calls, listed } = await Effect.runPromise(
        Effect.gen(function*() {
          const first = yield* runJob(join(dir, "job.yaml"))
          const calls = fake.state.calls
          const second = yield* runJob(join(dir, "job.yaml"))
          return { first, second, calls, listed: yield* (yield* ArtifactStore).list() }
        }).pipe(Effect.provide(Layer.merge(layers(), fake.layer)))
      )
      expect(calls).toBeGreaterThan(0)
      expect(fake.state.calls).toBe(calls)
      const report = first.report as { dev: { optimized: { mean: number } }; seed: number; optimizationId: string }
      expect(report.dev.optimized.mean).toBe(1)
      expect(report.seed).toBe(7)
      expect(report.optimizationId).toBe(first.jobId)
      expect(second.optimized).toBe(first.optimized)
      expect((second.report as { optimized: unknown }).optimized).toEqual(
        (first.report as { optimized: unknown }).optimized
      )
      const kinds = listed.map((a) => a.kind)
      expect(kinds.filter((k) => k === "dataset")).toHaveLength(3)
      expect(kinds.filter((k) => k === "program")).toHaveLength(2)
      expect(listed.find((a) => a.name === "route optimized")!.hash).toBe(artifactHash(first.optimized!))
    },
    60_000
  )

  it("a program with a problem is a JobError at its line and column", async () => {
    const dir = workdir()
    writeFileSync(join(dir, "route.tr"), "program main(text: string) {\n  return nope\n}\n")
    writeFileSync(join(dir, "job.yaml"), EVAL_JOB)
    const r = await Effect.runPromise(
      Effect.either(runJob(join(dir, "job.yaml"))).pipe(Effect.provide(Layer.merge(layers(), makeFakeRouter().layer)))
    )
    expect(Either.isLeft(r) && r.left.location).toMatch(/^route\.tr:2:\d+$/)
  })

  it("a bad dataset path is a JobError naming it", async () => {
    const dir = workdir()
    writeFileSync(join(dir, "job.yaml"), EVAL_JOB.replace("test.jsonl", "missing.jsonl"))
    const r = await Effect.runPromise(
      Effect.either(runJob(join(dir, "job.yaml"))).pipe(Effect.provide(Layer.merge(layers(), makeFakeRouter().layer)))
    )
    expect(Either.isLeft(r) && r.left.location).toBe("missing.jsonl")
  })
})
