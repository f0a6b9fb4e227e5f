/** `trellis job run` and `trellis artifacts` as child processes on a fake OpenAI-compatible model; a killed job resumes. */
import { spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { bin, root, runTrellis } from "../support/cli.js"
import { type FakeUpstream, startFakeUpstream } from "../support/fakeUpstream.js"
import { ROUTE_SOURCE, TEAMS, tickets } from "./fakeModel.js"

const dir = mkdtempSync(join(tmpdir(), "trellis-jobs-"))
const env = { ...process.env, TRELLIS_HOME: join(dir, "home"), TRELLIS_DATABASE_URL: "", TRELLIS_CONFIG: "" }
let upstream: FakeUpstream
let delayMs = 0

const jsonl = (xs: ReadonlyArray<unknown>) => xs.map((x) => JSON.stringify(x)).join("\n") + "\n"

beforeAll(async () => {
  upstream = await startFakeUpstream("fake", (body) => {
    const kind = /(billing|crash|login) ts/.exec(JSON.stringify(body.messages))?.[1] ?? ""
    return { kind: "ok", text: JSON.stringify({ label: TEAMS[kind] ?? "unknown" }), delayMs }
  })
  writeFileSync(
    join(dir, "providers.json"),
    JSON.stringify({
      providers: [{ name: "fake", kind: "openai-compatible", baseUrl: upstream.baseUrl, models: ["m"] }]
    })
  )
  writeFileSync(join(dir, "route.tr"), ROUTE_SOURCE)
  writeFileSync(join(dir, "test.jsonl"), jsonl(tickets("ts", 6)))
  writeFileSync(join(dir, "long.jsonl"), jsonl(tickets("ts", 40, 1).map((t, i) => ({ ...t, id: `long${i}` }))))
  const job = (data: string) =>
    `kind: eval\nname: route-${data}\nprogram: route.tr\ndatasets:\n  test: ${data}.jsonl\nmodel: fake/m\nconfig: providers.json\nseed: 5\n`
  writeFileSync(join(dir, "job.yaml"), job("test"))
  writeFileSync(join(dir, "long.yaml"), job("long"))
}, 60_000)
afterAll(async () => {
  await upstream?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe("trellis job run", () => {
  it("runs an eval job; a rerun makes no model call; artifacts are listed once and shown", async () => {
    const first = await runTrellis(["job", "run", join(dir, "job.yaml"), "--json"], { env })
    expect(first.stderr).toBe("")
    expect(first.code).toBe(0)
    const result = JSON.parse(first.stdout) as { jobId: string; report: { mean: number; n: number } }
    expect(result.report).toMatchObject({ mean: 1, n: 6 })
    const calls = upstream.requests.length
    expect(calls).toBe(6)

    const again = await runTrellis(["job", "run", join(dir, "job.yaml"), "--json"], { env })
    expect(again.code).toBe(0)
    expect(upstream.requests.length).toBe(calls)
    expect((JSON.parse(again.stdout) as { jobId: string }).jobId).toBe(result.jobId)

    const listed = await runTrellis(["artifacts", "--json"], { env })
    expect(listed.code).toBe(0)
    const rows = listed.stdout.trim().split("\n").map((l) => JSON.parse(l) as { hash: string; kind: string })
    expect(rows.map((r) => r.kind).sort()).toEqual(["dataset", "program", "report"])
    const programs = await runTrellis(["artifacts", "--kind", "program"], { env })
    expect(programs.stdout.trim().split("\n")).toHaveLength(1)

    const program = rows.find((r) => r.kind === "program")!
    const shown = await runTrellis(["artifacts", "show", program.hash.slice(0, 20)], { env })
    expect(shown.stdout).toBe(ROUTE_SOURCE)
    const out = join(dir, "shown.tr")
    expect((await runTrellis(["artifacts", "show", program.hash, "-o", out], { env })).code).toBe(0)
    expect(readFileSync(out, "utf8")).toBe(ROUTE_SOURCE)
    const missing = await runTrellis(["artifacts", "show", "sha256:ffff"], { env })
    expect(missing.code).not.toBe(0)
    expect(missing.stderr).toContain("no artifact")
  }, 120_000)

  it("a bad spec is one error line with file:line:column", async () => {
    writeFileSync(join(dir, "bad.yaml"), "kind: eval\nprogram: route.tr\ndatasets:\n  test: test.jsonl\nseed: soon\n")
    const r = await runTrellis(["job", "run", join(dir, "bad.yaml")], { env })
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain(`${join(dir, "bad.yaml")}:5:7`)
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/)
  }, 60_000)

  it("a job SIGKILLed midway resumes: the rerun asks only the examples not yet finished", async () => {
    delayMs = 100
    const before = upstream.requests.length
    const child = spawn(process.execPath, [bin, "job", "run", join(dir, "long.yaml")], {
      cwd: root,
      env,
      stdio: "ignore"
    })
    const end = Date.now() + 60_000
    while (upstream.requests.length - before < 8 && Date.now() < end) await new Promise((r) => setTimeout(r, 20))
    child.kill("SIGKILL")
    await new Promise((r) => child.on("close", r))
    const asked = upstream.requests.length - before
    expect(asked).toBeGreaterThanOrEqual(8)
    expect(asked).toBeLessThan(40)
    delayMs = 0
    const rerun = await runTrellis(["job", "run", join(dir, "long.yaml"), "--json"], { env })
    expect(rerun.code).toBe(0)
    expect(JSON.parse(rerun.stdout)).toMatchObject({ report: { mean: 1, n: 40 } })
    // At most the in-flight examples (concurrency 4) are asked again.
    expect(upstream.requests.length - before).toBeLessThanOrEqual(40 + 4)
  }, 120_000)
})
