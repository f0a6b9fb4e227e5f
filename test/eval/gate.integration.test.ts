/**
 * End to end (issue 19 items 2–4, 8): a scripted fake model over real HTTP
 * whose accuracy depends on the program version (its instructions), two
 * `trellis eval run`s in a real store, and `trellis eval compare` as the
 * gate — exit 0 for the better version over the worse, 1 the other way;
 * an eval killed with SIGKILL resumes without redoing finished examples;
 * a regression dataset from the better version's runs reports the worse
 * version's changed outputs side by side.
 */
import { spawn } from "node:child_process"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { bin, root, runTrellis } from "../support/cli.js"
import { startFakeUpstream } from "../support/fakeUpstream.js"
import type { FakeUpstream } from "../support/fakeUpstream.js"

const scratch = mkdtempSync(join(tmpdir(), "ea-eval-"))
const home = join(scratch, "home")
const env = { ...process.env, TRELLIS_HOME: home, TRELLIS_DATABASE_URL: "" }
const write = (name: string, text: string) => {
  const path = join(scratch, name)
  writeFileSync(path, text)
  return path
}

/** Version B answers 90% of the questions right, version A 50% (by question number). */
const correct = (version: string, q: number): boolean => (version === "B" ? q % 10 !== 0 : q % 2 === 0)

let upstream: FakeUpstream
const N = 40

const program = (version: string) =>
  write(
    `v${version}.tr`,
    `signature Answer {
  "Answer the question. VERSION-${version}"
  input  question: string
  output text: string
}

program main(question: string) {
  a = llm Answer(question: question) with { model: "fake/m" }
  return a.text
}
`
  )

const config = () =>
  write(
    "trellis.config.json",
    JSON.stringify({
      providers: [{ name: "fake", kind: "openai-compatible", baseUrl: upstream.baseUrl, models: ["m"] }]
    })
  )

const lastJson = (stdout: string): Record<string, unknown> => {
  const lines = stdout.trim().split("\n")
  return JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>
}

let data: string
let cfg: string
let vA: string
let vB: string

beforeAll(async () => {
  upstream = await startFakeUpstream("fake", (body) => {
    const text = JSON.stringify(body.messages)
    const version = text.includes("VERSION-B") ? "B" : "A"
    const q = Number(/q(\d+)/.exec(text)?.[1] ?? "-1")
    const answer = correct(version, q) ? `answer ${q}` : `wrong ${q}`
    return { kind: "ok", text: JSON.stringify({ text: answer }), delayMs: 20 }
  })
  cfg = config()
  vA = program("A")
  vB = program("B")
  data = write(
    "d.jsonl",
    Array.from(
      { length: N },
      (_, q) => JSON.stringify({ id: `e${q}`, inputs: { question: `q${q}` }, expected: `answer ${q}` })
    )
      .join("\n") + "\n"
  )
}, 30_000)
afterAll(async () => {
  await upstream.close()
})

const evalRun = (prog: string, extra: ReadonlyArray<string> = [], dataset = data) =>
  runTrellis(["eval", "run", prog, "--data", dataset, "--metric", "exact", "--config", cfg, "--json", ...extra], {
    env
  })

describe("eval run, compare and from-runs end to end", () => {
  let evalA = ""
  let evalB = ""

  it("eval run reports mean, CI and errors as the last JSON line", async () => {
    const a = await evalRun(vA)
    expect(a.stderr).toBe("")
    expect(a.code).toBe(0)
    const ra = lastJson(a.stdout)
    expect(ra).toMatchObject({ n: N, mean: 0.5, errors: 0, status: "completed" })
    const ci = ra.ci as [number, number]
    expect(ci[0]).toBeLessThan(0.5)
    expect(ci[1]).toBeGreaterThan(0.5)
    evalA = String(ra.evalId)
    const b = await evalRun(vB, ["--concurrency", "8"])
    expect(b.code).toBe(0)
    const rb = lastJson(b.stdout)
    expect(rb).toMatchObject({ n: N, mean: 0.9 })
    evalB = String(rb.evalId)
    // One JSON line per example before the report.
    expect(b.stdout.trim().split("\n").length).toBe(N + 1)
  }, 180_000)

  it("the gate passes the better version over the worse (exit 0) and fails the reverse (exit 1)", async () => {
    const pass = await runTrellis([
      "eval",
      "compare",
      evalA,
      evalB,
      "--require",
      "delta>0",
      "--alpha",
      "0.05",
      "--json"
    ], {
      env
    })
    expect(pass.code).toBe(0)
    const c = JSON.parse(pass.stdout.trim()) as { pass: boolean; candidates: Array<Record<string, number>> }
    expect(c.pass).toBe(true)
    expect(c.candidates[0]!.delta).toBeCloseTo(0.4, 10)
    expect(c.candidates[0]!.wins).toBeGreaterThan(c.candidates[0]!.losses ?? 0)
    const fail = await runTrellis(["eval", "compare", evalB, evalA, "--require", "delta>0"], { env })
    expect(fail.code).toBe(1)
    expect(fail.stdout).toContain("FAIL")
    expect(fail.stderr).toContain("did not pass")
  }, 120_000)

  it("a regression dataset from B's runs: A's eval on it reports changed outputs side by side", async () => {
    const file = join(scratch, "regression.jsonl")
    const made = await runTrellis(["eval", "dataset", "from-runs", "--tag", evalB, "-o", file], { env })
    expect(made.code).toBe(0)
    const rows = readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(rows.length).toBe(N)
    expect(rows[1]).toMatchObject({ id: "e1", inputs: { question: "q1" }, expected: "answer 1" })
    const r = await evalRun(vA, [], file)
    expect(r.code).toBe(0)
    const report = lastJson(r.stdout) as { regression: Record<string, unknown> }
    // B was right on 36 of 40 (its outputs are the expected ones); A differs wherever exactly one of them is right.
    const differ = Array.from({ length: N }, (_, q) => correct("A", q) !== correct("B", q)).filter(Boolean).length
    expect(report.regression).toMatchObject({ compared: N, changed: differ, newFailures: 0 })
    expect(report.regression.latencyMs).toHaveProperty("baseline")
  }, 120_000)

  it("an eval killed with SIGKILL resumes without redoing finished examples", async () => {
    const slowData = write(
      "slow.jsonl",
      Array.from(
        { length: 12 },
        (_, q) => JSON.stringify({ id: `s${q}`, inputs: { question: `q${q + 100}` }, expected: `answer ${q + 100}` })
      )
        .join("\n") + "\n"
    )
    upstream.setBehaviour((body) => {
      const text = JSON.stringify(body.messages)
      const q = Number(/q(\d+)/.exec(text)?.[1] ?? "-1")
      return { kind: "ok", text: JSON.stringify({ text: `answer ${q}` }), delayMs: 150 }
    })
    const before = upstream.requests.length
    const args = [
      bin,
      "eval",
      "run",
      vB,
      "--data",
      slowData,
      "--metric",
      "exact",
      "--config",
      cfg,
      "--json",
      "--concurrency",
      "1"
    ]
    const killedAfter = await new Promise<number>((resolve, reject) => {
      const p = spawn(process.execPath, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] })
      let lines = 0
      p.stdout.setEncoding("utf8").on("data", (d: string) => {
        lines += d.split("\n").filter((l) => l.startsWith("{\"example\"")).length
        if (lines >= 4) p.kill("SIGKILL")
      })
      p.on("error", reject)
      p.on("close", () => resolve(lines))
    })
    expect(killedAfter).toBeGreaterThanOrEqual(4)
    expect(killedAfter).toBeLessThan(12)
    const firstRequests = upstream.requests.length - before
    const again = await runTrellis(args.slice(1), { env })
    expect(again.code).toBe(0)
    const report = lastJson(again.stdout)
    expect(report).toMatchObject({ n: 12, mean: 1, errors: 0 })
    // Finished examples were not asked again: at most one call (the one in flight at the kill) is repeated.
    expect(upstream.requests.length - before).toBeLessThanOrEqual(12 + 1)
    expect(upstream.requests.length - before).toBeGreaterThanOrEqual(12)
    expect(firstRequests).toBeGreaterThanOrEqual(killedAfter)
  }, 180_000)
})
