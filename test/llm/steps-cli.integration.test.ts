/** `trellis run` with llm steps: offline on local/echo by default; the config file's `steps` section is validated. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { runTrellis } from "../support/cli.js"

let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "trellis-steps-"))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe("trellis run with llm steps", () => {
  it("runs the example offline on local/echo; the output conforms to the signature", async () => {
    const env = { ...process.env, TRELLIS_CONFIG: "" }
    const r = await runTrellis(["run", "examples/llm-answer.tr", "--memory", "--json", "--input", "question=Why?"], {
      env
    })
    expect(r.code).toBe(0)
    const report = JSON.parse(r.stdout) as { status: string; output: { answer: unknown; confidence: unknown } }
    expect(report.status).toBe("completed")
    expect(typeof report.output.answer).toBe("string")
    expect(typeof report.output.confidence).toBe("number")
  }, 60_000)

  it("a bad steps section in the config file is one clear error naming the field", async () => {
    const config = join(dir, "bad.json")
    writeFileSync(config, JSON.stringify({ steps: { defaultModel: "no-slash", repairs: -1 } }))
    const r = await runTrellis(["run", "examples/llm-answer.tr", "--memory", "--config", config])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain("steps.defaultModel")
    expect(r.stderr).toContain("steps.repairs")
    expect(r.stderr).not.toContain("    at ")
  }, 60_000)
})
