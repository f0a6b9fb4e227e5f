/**
 * `trellis deploy` and `trellis deployments` as a user runs them (real
 * processes, a real PGlite store under TRELLIS_HOME): create a deployment,
 * start a rollout with a sticky key and a canary, list it, roll it back,
 * read the history with its decisions, set and list a flag; bad input exits
 * 2 naming what is wrong.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { runTrellis } from "../support/cli.js"

const home = fs.mkdtempSync(path.join(os.tmpdir(), "trellis-cli-deploy-"))
const env = { ...process.env, TRELLIS_HOME: home, TRELLIS_DATABASE_URL: "" }
const A = path.join(home, "a.tr")
const B = path.join(home, "b.tr")
fs.writeFileSync(A, "program main(n: number) { return n * 2 }\n")
fs.writeFileSync(B, "program main(n: number) { return n * 3 }\n")
afterAll(() => fs.rmSync(home, { recursive: true, force: true }))

const trellis = (args: ReadonlyArray<string>) => runTrellis(args, { env })

describe("trellis deploy", () => {
  it("creates, rolls out, rolls back, and keeps the history", async () => {
    const created = await trellis(["deploy", "set", "shop", "--program", A])
    expect(created.stderr).toBe("")
    expect(created.code).toBe(0)
    expect(created.stdout).toMatch(/^shop {2}current main [0-9a-z:]+ {2}v1$/m)
    const rollout = await trellis([
      "deploy",
      "set",
      "shop",
      "--candidate",
      B,
      "--percent",
      "25",
      "--sticky-input",
      "n",
      "--canary",
      "{\"minRuns\":30}",
      "--json"
    ])
    expect(rollout.code).toBe(0)
    const d = JSON.parse(rollout.stdout) as Record<string, unknown>
    expect(d).toMatchObject({ percent: 25, sticky: { from: "input", field: "n" }, canary: { minRuns: 30 }, version: 2 })
    const rolled = await trellis(["deploy", "rollback", "shop", "--reason", "not today"])
    expect(rolled.code).toBe(0)
    const history = await trellis(["deployments", "shop", "--history", "--json"])
    const events = (JSON.parse(history.stdout) as { events: Array<Record<string, unknown>> }).events
    expect(events.map((e) => e["kind"])).toEqual(["rolled-back", "rollout-started", "created"])
    expect(events[0]).toMatchObject({ actor: "api", reason: "not today" })
  }, 60_000)

  it("sets flags and refuses bad input with exit 2", async () => {
    const flag = await trellis(["deploy", "flag", "beta", "30%"])
    expect(flag.code).toBe(0)
    expect(flag.stdout).toContain("beta = 30%")
    const canary = await trellis(["deploy", "set", "shop", "--canary", "{\"alpha\":2}"])
    expect(canary.code).toBe(2)
    expect(canary.stderr).toContain("--canary")
  }, 60_000)
})
