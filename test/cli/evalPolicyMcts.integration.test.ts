/**
 * `trellis eval policy --target mcts` as a user runs it: a store populated by runs of a program with nested and
 * sequential `choose` steps (logged uniformly, rewarded through feedback under the root key) whose best joint
 * path is not the per-key best; MCTS plans on the earlier half of the log and the ε-mixed plan is evaluated
 * off-policy on the later half; the gate passes it and refuses a fixed root option; the saved strategies, given
 * to `Runtime.run`, take the plan's path and record their propensities; bad uses exit 2.
 */
import { Effect, Layer } from "effect"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import type { BanditStrategy } from "../../src/runtime/bandit/state.js"
import { ResultCache } from "../../src/runtime/policy/cache.js"
import { ToolLimiter } from "../../src/runtime/policy/limiter.js"
import * as Runtime from "../../src/runtime/runtime.js"
import * as Store from "../../src/store/layer.js"
import { ToolRegistry } from "../../src/tools/registry.js"
import { EventLog } from "../../src/trace/events.js"
import { runTrellis } from "../support/cli.js"
import { compileProgram } from "../support/runtime.js"

const home = mkdtempSync(join(tmpdir(), "trellis-mcts-home-"))
const scratch = mkdtempSync(join(tmpdir(), "trellis-mcts-"))
const env = { ...process.env, TRELLIS_HOME: home, TRELLIS_DATABASE_URL: "" }
const trellis = (args: ReadonlyArray<string>) => runTrellis(args, { env, cwd: scratch, timeoutMs: 120_000 })

afterAll(() => {
  rmSync(home, { recursive: true, force: true })
  rmSync(scratch, { recursive: true, force: true })
})

const TREE = `
program main(n: number) {
  first = choose "plan" {
    a: {
      inner = choose "depth" {
        x: { return "ax" }
        y: { return "ay" }
      }
      return inner
    }
    b: { return "b" }
  }
  second = choose "tone" {
    p: { return "p" }
    q: { return "q" }
  }
  return { first: first, second: second }
}
`
/** The reward of a run's path: a→y→q is best; b→p next; every other path 0.2. Per key, b looks as good as a. */
const rewardOf = (o: { first: string; second: string }) =>
  o.first === "ay" && o.second === "q" ? 1 : o.first === "b" && o.second === "p" ? 0.6 : 0.2

const services = () =>
  Layer.mergeAll(
    Store.layerPglite(join(home, "pglite")),
    ResultCache.layerMemory,
    ToolLimiter.layer,
    ToolRegistry.layerBuiltins
  )

writeFileSync(join(scratch, "tree.tr"), TREE)

const uniform: BanditStrategy = { kind: "epsilon-greedy", epsilon: 1 }

/** 120 runs logged uniformly at every key, each rewarded under the root key. */
const populate = Effect.gen(function*() {
  const program = compileProgram(TREE)
  for (let seed = 1; seed <= 120; seed++) {
    const r = yield* Runtime.run(program, { n: seed }, {
      seed,
      strategies: { plan: uniform, depth: uniform, tone: uniform }
    })
    yield* Runtime.feedback(r.runId, "plan", rewardOf(r.output as { first: string; second: string }))
  }
}).pipe(Effect.provide(services()))

describe("trellis eval policy --target mcts", () => {
  it(
    "plans over nested and sequential chooses, evaluates the plan off-policy, gates it, and the plan runs",
    async () => {
      await Effect.runPromise(populate)
      const saved = join(scratch, "strategies.json")
      const mcts = await trellis([
        "eval",
        "policy",
        "plan",
        "--target",
        "mcts:400",
        "--program",
        "tree.tr",
        "--gate",
        "--min-ess",
        "5",
        "--resamples",
        "300",
        "--save",
        saved,
        "--json"
      ])
      expect(mcts.stderr).toBe("")
      expect(mcts.code).toBe(0)
      const report = JSON.parse(mcts.stdout) as Record<string, any>
      expect(report).toMatchObject({
        key: "plan",
        target: "mcts:400",
        trained: 60,
        n: 60,
        offTree: 0,
        plan: { plan: "a", depth: "y", tone: "q" },
        evaluatedPlan: { plan: "a", depth: "y", tone: "q" },
        gate: { pass: true }
      })
      // Logged uniformly the mean is about 0.4; the ε-mixed plan is worth about 0.95.
      expect(report["logged"].estimate).toBeLessThan(0.55)
      expect(report["dr"].estimate).toBeGreaterThan(0.85)
      expect(report["dr"].ci[0]).toBeGreaterThan(report["logged"].estimate)

      const text = await trellis(["eval", "policy", "plan", "--target", "mcts:400", "--program", "tree.tr"])
      expect(text.code).toBe(0)
      expect(text.stdout).toContain("plan (all runs)   plan=a > depth=y > tone=q")
      expect(text.stdout).toMatch(/^DR\s+0\.\d{4} {2}\[0\.\d{4}, [01]\.\d{4}\]$/m)

      const fixed = await trellis(["eval", "policy", "plan", "--target", "fixed:b", "--gate", "--min-ess", "5"])
      expect(fixed.code).toBe(1)
      expect(fixed.stdout).toContain("gate: refused")

      const strategies = JSON.parse(readFileSync(saved, "utf8")) as Record<string, BanditStrategy>
      expect(strategies).toEqual({
        plan: { kind: "fixed", option: "a", epsilon: 0.05 },
        depth: { kind: "fixed", option: "y", epsilon: 0.05 },
        tone: { kind: "fixed", option: "q", epsilon: 0.05 }
      })
      const program = compileProgram(TREE)
      const runs = await Effect.runPromise(
        Effect.gen(function*() {
          const out: Array<{ output: unknown; made: ReadonlyArray<{ policy: string; propensity: number }> }> = []
          for (let seed = 1; seed <= 12; seed++) {
            const r = yield* Runtime.run(program, { n: seed }, { seed: 1000 + seed, strategies })
            const events = yield* (yield* EventLog).events(r.runId)
            const made = events.flatMap((e) => e.type === "ChoiceMade" ? [e.data] : [])
            out.push({ output: r.output, made })
          }
          return out
        }).pipe(Effect.provide(services()))
      )
      const best = runs.filter((r) => JSON.stringify(r.output) === JSON.stringify({ first: "ay", second: "q" }))
      expect(best.length).toBeGreaterThanOrEqual(9)
      expect(runs.every((r) => r.made.every((m) => m.policy.startsWith("fixed(") && m.propensity > 0))).toBe(true)
      expect(best.every((r) => r.made.every((m) => Math.abs(m.propensity - 0.975) < 1e-9))).toBe(true)
    },
    180_000
  )

  it("bad uses exit 2 with what to do", async () => {
    const noProgram = await trellis(["eval", "policy", "plan", "--target", "mcts"])
    expect(noProgram.code).toBe(2)
    expect(noProgram.stderr).toContain("--target mcts needs --program p.tr")
    const notRoot = await trellis(["eval", "policy", "tone", "--target", "mcts", "--program", "tree.tr"])
    expect(notRoot.code).toBe(2)
    expect(notRoot.stderr).toContain(`the choose tree starts at "plan", not "tone" (its keys: plan, depth, tone)`)
    const badIterations = await trellis(["eval", "policy", "plan", "--target", "mcts:many", "--program", "tree.tr"])
    expect(badIterations.code).toBe(2)
    expect(badIterations.stderr).toContain("iterations must be an integer")
  }, 60_000)
})
