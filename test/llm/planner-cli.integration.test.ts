/** `trellis plan` as a child process against a fake OpenAI-compatible upstream that answers a scripted program per round. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { runTrellis } from "../support/cli.js"
import { startFakeUpstream } from "../support/fakeUpstream.js"
import type { FakeUpstream } from "../support/fakeUpstream.js"
import { INVALID_PROGRAM, VALID_PROGRAM } from "../support/llmPlanner.js"

let upstream: FakeUpstream
let dir: string
let config: string
/** What the upstream answers: per conversation, by how many assistant turns it already holds. */
let answers: ReadonlyArray<string> = []

beforeAll(async () => {
  upstream = await startFakeUpstream("fake", (body) => {
    const turns = Array.isArray(body.messages)
      ? (body.messages as Array<{ role: string }>).filter((m) => m.role === "assistant").length
      : 0
    return { kind: "ok", text: answers[Math.min(turns, answers.length - 1)]! }
  })
  dir = mkdtempSync(join(tmpdir(), "trellis-plan-"))
  config = join(dir, "trellis.config.json")
  writeFileSync(
    config,
    JSON.stringify({
      providers: [{ name: "fake", kind: "openai-compatible", baseUrl: upstream.baseUrl, models: ["planner"] }]
    })
  )
})
afterAll(async () => {
  await upstream.close()
  rmSync(dir, { recursive: true, force: true })
})

describe("trellis plan", () => {
  it("prints the program once it passes check, after feeding the first answer's violations back", async () => {
    answers = [INVALID_PROGRAM, VALID_PROGRAM]
    const out = join(dir, "planned.json")
    const before = upstream.requests.length
    const r = await runTrellis([
      "plan",
      "Greet someone loudly.",
      "--model",
      "fake/planner",
      "--config",
      config,
      "--json",
      "-o",
      out
    ])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    const report = JSON.parse(r.stdout) as {
      status: string
      rounds: number
      source: string
      hash: string
      program: { ir: string }
    }
    expect(report).toMatchObject({ status: "planned", rounds: 2 })
    expect(report.source).toContain("tool std.echo")
    expect(report.program.ir).toBe("trellis/1")
    expect(JSON.parse(readFileSync(out, "utf8"))).toEqual(report.program)
    // Two requests, asking for structured output; the second carries the violations.
    const sent = upstream.requests.slice(before)
    expect(sent).toHaveLength(2)
    expect((sent[0]!.body.response_format as { type: string }).type).toBe("json_schema")
    expect(JSON.stringify(sent[1]!.body.messages)).toContain("unknown-tool")
    // The written program checks.
    const checked = await runTrellis(["check", out])
    expect(checked.code).toBe(0)
    expect(checked.stdout).toContain(report.hash)
  }, 60_000)

  it("exits 1 with the last violations when the model never fixes the program", async () => {
    answers = [INVALID_PROGRAM]
    const r = await runTrellis([
      "plan",
      "Greet someone loudly.",
      "--model",
      "fake/planner",
      "--config",
      config,
      "--rounds",
      "2"
    ])
    expect(r.code).toBe(1)
    expect(r.stdout).toBe("")
    expect(r.stderr).toContain("unknown-tool")
    expect(r.stderr).toContain("unbound-ref")
    expect(r.stderr).toContain("error: plan: no valid program after 2 rounds (2 violations left)")
  }, 60_000)

  it("an unknown model is one clear error", async () => {
    const r = await runTrellis(["plan", "anything", "--model", "nowhere/x", "--config", config])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^error: plan: .*nowhere\/x/m)
    expect(r.stderr).not.toContain("    at ")
  }, 60_000)
})
