/**
 * `trellis eval policy` and `trellis eval calibrate` as a user runs them: a
 * store populated by runs of a `choose` program with feedback (through the
 * library, on the same PGlite directory the CLI opens), then the CLI's
 * estimates; forecasts in a JSONL file, a fitted calibrator and its SVG,
 * and the calibrator applied at run time by the `calibrate` tool in a run.
 */
import { Effect, Layer, Schema } from "effect"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { applyCalibrator, Calibrator } from "../../src/eval/calibration/artifact.js"
import { makeRng } from "../../src/eval/stats/random.js"
import { ResultCache } from "../../src/runtime/policy/cache.js"
import { ToolLimiter } from "../../src/runtime/policy/limiter.js"
import * as Runtime from "../../src/runtime/runtime.js"
import * as Store from "../../src/store/layer.js"
import { ToolRegistry } from "../../src/tools/registry.js"
import { runTrellis } from "../support/cli.js"
import { compileProgram } from "../support/runtime.js"

const home = mkdtempSync(join(tmpdir(), "trellis-eb-home-"))
const scratch = mkdtempSync(join(tmpdir(), "trellis-eb-"))
const env = { ...process.env, TRELLIS_HOME: home, TRELLIS_DATABASE_URL: "" }
const trellis = (args: ReadonlyArray<string>) => runTrellis(args, { env, cwd: scratch, timeoutMs: 120_000 })

const CHOOSE = `
program main() {
  pick = choose "eb-cli" {
    a: { return "a" }
    b: { return "b" }
  }
  return pick
}
`

/** 40 runs under epsilon-greedy(0.5) in the CLI's store, rewarded 1 for b and 0 for a. */
const populate = Effect.gen(function*() {
  const program = compileProgram(CHOOSE)
  for (let seed = 1; seed <= 40; seed++) {
    const r = yield* Runtime.run(program, {}, {
      seed,
      strategies: { "eb-cli": { kind: "epsilon-greedy", epsilon: 0.5 } }
    })
    yield* Runtime.feedback(r.runId, "eb-cli", r.output === "b" ? 1 : 0)
  }
}).pipe(
  Effect.provide(
    Layer.mergeAll(
      Store.layerPglite(join(home, "pglite")),
      ResultCache.layerMemory,
      ToolLimiter.layer,
      ToolRegistry.layerBuiltins
    )
  )
)

describe("trellis eval policy", () => {
  it("estimates fixed and epsilon-greedy targets from the store, as JSON and as text", async () => {
    await Effect.runPromise(populate)
    const fixed = await trellis(["eval", "policy", "eb-cli", "--target", "fixed:b", "--json", "--resamples", "200"])
    expect(fixed.stderr).toBe("")
    expect(fixed.code).toBe(0)
    const report = JSON.parse(fixed.stdout)
    expect(report).toMatchObject({ key: "eb-cli", target: "fixed:b", n: 40, loggingPolicies: ["epsilon-greedy(0.5)"] })
    expect(report.snips.estimate).toBeCloseTo(1, 10)
    expect(report.dr.estimate).toBeCloseTo(1, 10)
    expect(report.ips.ci[0]).toBeLessThanOrEqual(report.ips.ci[1])

    const text = await trellis(["eval", "policy", "eb-cli", "--target", "epsilon-greedy:0.1", "--since", "1h"])
    expect(text.code).toBe(0)
    expect(text.stdout).toContain(
      `choose "eb-cli": 40 rewarded decisions, logged by epsilon-greedy(0.5); target epsilon-greedy:0.1`
    )
    expect(text.stdout).toMatch(/^DR\s+0\.\d{4}\s+\[/m)
  }, 180_000)

  it("says what is wrong with a bad target, --since or key", async () => {
    const target = await trellis(["eval", "policy", "eb-cli", "--target", "best"])
    expect(target.code).toBe(2)
    expect(target.stderr).toContain(`--target "best" is not a target policy`)
    const since = await trellis(["eval", "policy", "eb-cli", "--target", "uniform", "--since", "yesterday"])
    expect(since.code).toBe(2)
    expect(since.stderr).toContain(`--since "yesterday" is neither an ISO date nor a duration`)
    const none = await trellis(["eval", "policy", "eb-none", "--target", "uniform"])
    expect(none.code).toBe(1)
    expect(none.stderr).toContain(`choose "eb-none": no rewarded decisions in workspace default`)
  }, 180_000)
})

describe("trellis eval calibrate", () => {
  // An over-confident forecaster: true probability t, forecast t².
  const u = makeRng(4)
  const lines = Array.from({ length: 1500 }, () => {
    const t = u()
    return JSON.stringify({ output: { confidence: Number((t * t).toFixed(4)) }, correct: u() < t })
  })
  writeFileSync(join(scratch, "preds.jsonl"), lines.join("\n") + "\n")

  it("fits an isotonic calibrator, writes it and the diagram, and the calibrate tool applies it in a run", async () => {
    const fitted = await trellis([
      "eval",
      "calibrate",
      "--data",
      "preds.jsonl",
      "--score-field",
      "output.confidence",
      "--label-field",
      "correct",
      "--fit",
      "isotonic",
      "-o",
      "cal.json",
      "--svg",
      "diag.svg",
      "--json"
    ])
    expect(fitted.stderr).toBe("")
    expect(fitted.code).toBe(0)
    const report = JSON.parse(fitted.stdout)
    expect(report.n).toBe(1500)
    expect(report.fit.test.eceAfter).toBeLessThan(report.fit.test.eceBefore)
    const artifact = Schema.decodeUnknownSync(Calibrator)(JSON.parse(readFileSync(join(scratch, "cal.json"), "utf8")))
    expect(artifact.id).toBe(report.calibrator.id)
    expect(readFileSync(join(scratch, "diag.svg"), "utf8")).toContain("<svg")

    // Applied at run time: a program takes the artifact as an input and calls the built-in tool.
    const program = compileProgram(`
program main(cal: any, score: number) {
  p = tool calibrate(calibrator: cal, score: score)
  return p
}
`)
    const result = await Effect.runPromise(
      Runtime.run(program, { cal: JSON.parse(readFileSync(join(scratch, "cal.json"), "utf8")), score: 0.25 }).pipe(
        Effect.provide(Runtime.layerMemory)
      )
    )
    expect(result.output).toBe(applyCalibrator(artifact, 0.25))
    expect(result.output).toBeGreaterThan(0.25)

    const applied = await trellis([
      "eval",
      "calibrate",
      "--data",
      "preds.jsonl",
      "--score-field",
      "output.confidence",
      "--label-field",
      "correct",
      "--apply",
      "cal.json"
    ])
    expect(applied.code).toBe(0)
    expect(applied.stdout).toMatch(/^calibrated: Brier 0\.\d{4} {2}ECE 0\.\d{4}$/m)
  }, 180_000)

  it("names the file and line of a bad forecast, and refuses an edited calibrator", async () => {
    writeFileSync(join(scratch, "bad.jsonl"), `{"p":0.4,"y":1}\n{"p":"high","y":0}\n`)
    const bad = await trellis(["eval", "calibrate", "--data", "bad.jsonl"])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain(`bad.jsonl:2: "p" must be a number in [0, 1], got "high"`)
    const cal = JSON.parse(readFileSync(join(scratch, "cal.json"), "utf8"))
    writeFileSync(
      join(scratch, "edited.json"),
      JSON.stringify({ ...cal, params: { ...cal.params, y: cal.params.y.map(() => 0.5) } })
    )
    const edited = await trellis([
      "eval",
      "calibrate",
      "--data",
      "preds.jsonl",
      "--score-field",
      "output.confidence",
      "--label-field",
      "correct",
      "--apply",
      "edited.json"
    ])
    expect(edited.code).toBe(1)
    expect(edited.stderr).toContain("it was edited")
  }, 180_000)
})
