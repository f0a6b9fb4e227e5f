/**
 * `trellis eval calibrate --fit` stores the fitted calibrator as a content-addressed artifact (kind
 * `calibrator`): `trellis artifacts` lists it once however often it is fitted, `trellis artifacts show`
 * prints exactly the file `-o` wrote, and `--memory` stores nothing.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { makeRng } from "../../src/eval/stats/random.js"
import { runTrellis } from "../support/cli.js"

const dir = mkdtempSync(join(tmpdir(), "trellis-cal-art-"))
const env = { ...process.env, TRELLIS_HOME: join(dir, "home"), TRELLIS_DATABASE_URL: "" }
const trellis = (args: ReadonlyArray<string>) => runTrellis(args, { env, cwd: dir, timeoutMs: 120_000 })

afterAll(() => rmSync(dir, { recursive: true, force: true }))

interface Listed {
  readonly hash: string
  readonly kind: string
  readonly name: string
}
const calibrators = async (): Promise<ReadonlyArray<Listed>> => {
  const r = await trellis(["artifacts", "--kind", "calibrator", "--json"])
  expect(r.code).toBe(0)
  return r.stdout.trim() === "" ? [] : r.stdout.trim().split("\n").map((l) => JSON.parse(l) as Listed)
}

describe("calibrators as artifacts", () => {
  it("a fitted calibrator is stored once, listed and shown; --memory stores nothing", async () => {
    const u = makeRng(9)
    const lines = Array.from({ length: 200 }, () => {
      const t = u()
      return JSON.stringify({ p: Number((t * t).toFixed(4)), y: u() < t ? 1 : 0 })
    })
    writeFileSync(join(dir, "preds.jsonl"), lines.join("\n") + "\n")
    const fitTo = (
      kind: string,
      file: string
    ) => ["eval", "calibrate", "--data", "preds.jsonl", "--fit", kind, "-o", file]
    const fit = fitTo("platt", "cal.json")

    const first = await trellis([...fit, "--json"])
    expect(first.stderr).toBe("")
    expect(first.code).toBe(0)
    const report = JSON.parse(first.stdout) as { calibrator: { id: string }; artifact: Listed }
    expect(report.artifact).toMatchObject({ kind: "calibrator", name: "cal.json" })
    const file = readFileSync(join(dir, "cal.json"), "utf8")
    expect((JSON.parse(file) as { id: string }).id).toBe(report.calibrator.id)

    const listed = await calibrators()
    expect(listed).toHaveLength(1)
    expect(listed[0]).toMatchObject({ hash: report.artifact.hash, kind: "calibrator", name: "cal.json" })
    const shown = await trellis(["artifacts", "show", report.artifact.hash.slice(0, 20)])
    expect(shown.code).toBe(0)
    expect(shown.stdout).toBe(file)

    // The same fit again is the same content, so the same artifact. The text report names it.
    const again = await trellis(fit)
    expect(again.code).toBe(0)
    expect(again.stdout).toContain(`stored artifact ${report.artifact.hash.slice(0, 19)}`)

    // Another fit (another holdout) is another artifact; with --memory it is written but not stored.
    const memory = await trellis([...fitTo("platt", "mem.json"), "--holdout", "0.5", "--memory", "--json"])
    expect(memory.code).toBe(0)
    expect(JSON.parse(memory.stdout)).not.toHaveProperty("artifact")
    const other = await trellis(fitTo("isotonic", "isotonic.json"))
    expect(other.code).toBe(0)
    // Two rows: the platt fit stored once, nothing from --memory, the isotonic fit.
    const both = await calibrators()
    expect(both.map((a) => a.name).sort()).toEqual(["cal.json", "isotonic.json"])
  }, 120_000)
})
