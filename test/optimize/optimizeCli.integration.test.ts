/**
 * `trellis optimize` as a user runs it: a child process over real HTTP to a local fake OpenAI-compatible model
 * whose answers depend on the instructions and demos it is given (the teacher always answers right; the student
 * only with a demo of the same kind of ticket). The optimized program is written, checks, and hashes differently;
 * the report carries dev and test scores with CIs; the budget holds; bad flags exit 2 with a clear message.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { check } from "../../src/compile.js"
import { runTrellis } from "../support/cli.js"
import { type FakeUpstream, startFakeUpstream } from "../support/fakeUpstream.js"
import { ROUTE_SOURCE, TEAMS, tickets } from "./fakeModel.js"

const dir = mkdtempSync(join(tmpdir(), "trellis-optimize-"))
const env = { ...process.env, TRELLIS_HOME: join(dir, "home"), TRELLIS_DATABASE_URL: "", TRELLIS_CONFIG: "" }
let upstream: FakeUpstream

const jsonl = (xs: ReadonlyArray<unknown>) => xs.map((x) => JSON.stringify(x)).join("\n") + "\n"

const textOf = (content: unknown): string =>
  typeof content === "string"
    ? content
    : Array.isArray(content)
    ? content.map((p: { text?: unknown }) => (typeof p?.text === "string" ? p.text : "")).join("")
    : ""

const kindOf = (text: string): string | undefined => /^text \(string\): (\w+) /.exec(text)?.[1]

/** The fake's answer over HTTP: right for the teacher, or with a demo of the ticket's kind in the prompt. */
const answer = (body: Record<string, unknown>): string => {
  const messages = (Array.isArray(body.messages) ? body.messages : []) as Array<{ role: string; content: unknown }>
  const users = messages.filter((m) => m.role === "user").map((m) => textOf(m.content))
  const kind = kindOf(users[users.length - 1] ?? "")
  const demoKinds = new Set(users.slice(0, -1).map(kindOf))
  const knows = body.model === "teacher" || demoKinds.has(kind)
  return JSON.stringify({ label: knows && kind !== undefined ? TEAMS[kind] ?? "unknown" : "unknown" })
}

const base = () => [
  "optimize",
  join(dir, "route.tr"),
  "--train",
  join(dir, "train.jsonl"),
  "--dev",
  join(dir, "dev.jsonl"),
  "--metric",
  "exact",
  "--model",
  "fake/student",
  "--config",
  join(dir, "providers.json")
]

beforeAll(async () => {
  upstream = await startFakeUpstream("fake", (body) => ({ kind: "ok", text: answer(body) }))
  writeFileSync(
    join(dir, "providers.json"),
    JSON.stringify({
      providers: [{
        name: "fake",
        kind: "openai-compatible",
        baseUrl: upstream.baseUrl,
        models: ["student", "teacher"]
      }]
    })
  )
  writeFileSync(join(dir, "route.tr"), ROUTE_SOURCE)
  writeFileSync(join(dir, "train.jsonl"), jsonl(tickets("tr", 6)))
  writeFileSync(join(dir, "dev.jsonl"), jsonl(tickets("dv", 6, 1)))
  writeFileSync(join(dir, "test.jsonl"), jsonl(tickets("ts", 6, 2)))
}, 60_000)
afterAll(async () => {
  await upstream?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe("trellis optimize", () => {
  it("writes an optimized program that checks and hashes differently; the report has dev and test CIs", async () => {
    const output = join(dir, "optimized.tr")
    const budget = 60
    const r = await runTrellis([
      ...base(),
      "--test",
      join(dir, "test.jsonl"),
      "--optimizer",
      "bootstrap",
      "--teacher-model",
      "fake/teacher",
      "--budget",
      `calls=${budget}`,
      "--max-demos",
      "3",
      "-o",
      output,
      "--json"
    ], { env })
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    const report = JSON.parse(r.stdout) as {
      optimizer: string
      usage: { calls: number }
      start: { hash: string }
      optimized: { hash: string }
      dev: { baseline: { mean: number; ci: [number, number] }; optimized: { mean: number; ci: [number, number] } }
      test?: { baseline: { mean: number; ci: [number, number] }; optimized: { mean: number; ci: [number, number] } }
    }
    expect(report.optimizer).toBe("bootstrap")
    // The budget is hard: the meter's count and the requests the model saw both stay within it.
    expect(report.usage.calls).toBeLessThanOrEqual(budget)
    expect(upstream.requests.length).toBeLessThanOrEqual(budget)
    expect(upstream.requests.length).toBe(report.usage.calls)

    const before = check(ROUTE_SOURCE)
    const after = check(readFileSync(output, "utf8"))
    expect(after.diagnostics).toEqual([])
    expect(after.hash).toBeDefined()
    expect(after.hash).not.toBe(before.hash)
    expect(after.hash).toBe(report.optimized.hash)
    expect(before.hash).toBe(report.start.hash)
    expect(readFileSync(output, "utf8")).toContain("demo input")

    for (const split of [report.dev, report.test!]) {
      expect(split.baseline.mean).toBe(0)
      expect(split.optimized.mean).toBe(1)
      for (const s of [split.baseline, split.optimized]) {
        expect(s.ci[0]).toBeLessThanOrEqual(s.mean)
        expect(s.ci[1]).toBeGreaterThanOrEqual(s.mean)
      }
    }

    const text = await runTrellis([
      ...base(),
      "--optimizer",
      "bootstrap",
      "--teacher-model",
      "fake/teacher",
      "--budget",
      `calls=${budget}`,
      "--memory"
    ], { env })
    expect(text.code).toBe(0)
    expect(text.stdout).toMatch(/^optimization .+ \(bootstrap, seed 1\)/)
    expect(text.stdout).toMatch(/\ndev: baseline 0 \[0, 0\]\s+optimized 1 \[1, 1\]\s+\(n=6\)/)
    expect(text.stdout).toContain("paired delta 1")
  }, 120_000)

  it("a budget too small for the search stops it within the budget", async () => {
    const before = upstream.requests.length
    const r = await runTrellis([
      ...base(),
      "--optimizer",
      "bootstrap",
      "--teacher-model",
      "fake/teacher",
      "--budget",
      "calls=10",
      "--memory",
      "--json"
    ], { env })
    expect(r.code).toBe(0)
    const report = JSON.parse(r.stdout) as { stopped: string; usage: { calls: number } }
    expect(report.stopped).toBe("budget")
    expect(report.usage.calls).toBeLessThanOrEqual(10)
    expect(upstream.requests.length - before).toBeLessThanOrEqual(10)
  }, 60_000)

  it("bad flags exit 2 with a clear message and ask the model nothing", async () => {
    const before = upstream.requests.length
    const badBudget = await runTrellis([...base(), "--budget", "calls=lots"], { env })
    expect(badBudget.code).toBe(2)
    expect(badBudget.stderr).toContain("cannot read budget \"calls=lots\"")
    expect(badBudget.stderr).not.toMatch(/at .*\.js:\d+/)

    const badOptimizer = await runTrellis([...base(), "--budget", "20", "--optimizer", "genetic"], { env })
    expect(badOptimizer.code).toBe(2)
    expect(badOptimizer.stderr).toMatch(/bootstrap.*random.*copro.*mipro|genetic/s)

    const noBudget = await runTrellis(base(), { env })
    expect(noBudget.code).toBe(2)
    expect(noBudget.stderr).toContain("--budget")

    const badMetric = await runTrellis([...base().slice(0, -4), "--metric", "nope", "--budget", "20"], { env })
    expect(badMetric.code).toBe(2)
    expect(badMetric.stderr).toContain("unknown metric \"nope\"")

    const badSetting = await runTrellis([...base(), "--budget", "20", "--minibatch", "0"], { env })
    expect(badSetting.code).toBe(2)
    expect(badSetting.stderr).toContain("--minibatch must be ≥ 1, got 0")

    const badModel = await runTrellis([...base(), "--budget", "20", "--teacher-model", "fake/nope"], { env })
    expect(badModel.code).toBe(2)
    expect(badModel.stderr).toContain("--teacher-model fake/nope: no configured provider serves it")
    expect(badModel.stderr).toContain("fake/student, fake/teacher")
    expect(upstream.requests.length).toBe(before)
  }, 60_000)
})
