/**
 * `trellis eval policy --target linucb` as a user runs it: a store populated
 * by runs of a `choose` whose best option depends on an input (logged
 * uniformly, rewarded through feedback), then LinUCB fitted on the earlier
 * half of the log and evaluated off-policy on the later half; the gate
 * passes it and refuses a context-free fixed option; the saved strategy,
 * given to `Runtime.run`, makes `choose` pick the best option per input and
 * records its propensity.
 */
import { Effect, Layer } from "effect"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { makeRng } from "../../src/eval/stats/random.js"
import type { BanditStrategy } from "../../src/runtime/bandit/state.js"
import { ResultCache } from "../../src/runtime/policy/cache.js"
import { ToolLimiter } from "../../src/runtime/policy/limiter.js"
import * as Runtime from "../../src/runtime/runtime.js"
import * as Store from "../../src/store/layer.js"
import { ToolRegistry } from "../../src/tools/registry.js"
import { EventLog } from "../../src/trace/events.js"
import { runTrellis } from "../support/cli.js"
import { compileProgram } from "../support/runtime.js"

const home = mkdtempSync(join(tmpdir(), "trellis-lin-home-"))
const scratch = mkdtempSync(join(tmpdir(), "trellis-lin-"))
const env = { ...process.env, TRELLIS_HOME: home, TRELLIS_DATABASE_URL: "" }
const trellis = (args: ReadonlyArray<string>) => runTrellis(args, { env, cwd: scratch, timeoutMs: 120_000 })

const CHOOSE = `
program main(segment: string) {
  pick = choose "lin" {
    a: { return "a" }
    b: { return "b" }
    c: { return "c" }
  }
  return pick
}
`
const BEST: Record<string, string> = { s0: "a", s1: "b", s2: "c" }

const services = () =>
  Layer.mergeAll(
    Store.layerPglite(join(home, "pglite")),
    ResultCache.layerMemory,
    ToolLimiter.layer,
    ToolRegistry.layerBuiltins
  )

/** 90 runs logged uniformly (epsilon-greedy with ε = 1), rewarded 1 with probability 0.9 for the segment's best. */
const populate = Effect.gen(function*() {
  const program = compileProgram(CHOOSE)
  const rng = makeRng(4)
  for (let seed = 1; seed <= 90; seed++) {
    const segment = `s${seed % 3}`
    const r = yield* Runtime.run(program, { segment }, {
      seed,
      strategies: { lin: { kind: "epsilon-greedy", epsilon: 1 } }
    })
    const hit = r.output === BEST[segment]
    yield* Runtime.feedback(r.runId, "lin", (hit ? rng() < 0.9 : rng() < 0.1) ? 1 : 0)
  }
}).pipe(Effect.provide(services()))

describe("trellis eval policy --target linucb", () => {
  it("evaluates LinUCB off-policy, gates it, and the saved strategy chooses by context", async () => {
    await Effect.runPromise(populate)
    const saved = join(scratch, "strategy.json")
    const lin = await trellis([
      "eval",
      "policy",
      "lin",
      "--target",
      "linucb:0.5",
      "--categorical",
      "segment",
      "--gate",
      "--min-ess",
      "10",
      "--resamples",
      "300",
      "--save",
      saved,
      "--json"
    ])
    expect(lin.stderr).toBe("")
    expect(lin.code).toBe(0)
    const report = JSON.parse(lin.stdout) as Record<string, any>
    expect(report).toMatchObject({ key: "lin", target: "linucb:0.5", trained: 45, n: 45, gate: { pass: true } })
    expect(report["dr"].estimate).toBeGreaterThan(0.6)
    expect(report["logged"].estimate).toBeLessThan(0.5)

    const fixed = await trellis(["eval", "policy", "lin", "--target", "fixed:a", "--gate", "--min-ess", "10"])
    expect(fixed.code).toBe(1)
    expect(fixed.stdout).toContain("gate: refused")

    const strategies = JSON.parse(readFileSync(saved, "utf8")) as Record<string, BanditStrategy>
    expect(strategies["lin"]).toMatchObject({ kind: "linucb", alpha: 0.5, features: { categorical: ["segment"] } })
    const program = compileProgram(CHOOSE)
    const picks = await Effect.runPromise(
      Effect.gen(function*() {
        const out: Array<{ segment: string; output: unknown; policy: unknown; propensity: unknown }> = []
        for (let seed = 1; seed <= 15; seed++) {
          const segment = `s${seed % 3}`
          const r = yield* Runtime.run(program, { segment }, { seed: 1000 + seed, strategies })
          const events = yield* (yield* EventLog).events(r.runId)
          const made = events.find((e) => e.type === "ChoiceMade")!.data as { policy: string; propensity: number }
          out.push({ segment, output: r.output, policy: made.policy, propensity: made.propensity })
        }
        return out
      }).pipe(Effect.provide(services()))
    )
    const hits = picks.filter((p) => p.output === BEST[p.segment]).length
    expect(hits).toBeGreaterThanOrEqual(12)
    expect(picks.every((p) => p.policy === "linucb(0.5)")).toBe(true)
    expect(picks.every((p) => typeof p.propensity === "number" && p.propensity > 0 && p.propensity <= 1)).toBe(true)
  }, 180_000)
})
