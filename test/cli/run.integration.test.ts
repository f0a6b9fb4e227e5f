/** `trellis run` as a user runs it: a real child process, real files. */
import { Either } from "effect"
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { parseInputPairs } from "../../src/cli/run.js"
import { runNode, runTrellis } from "../support/cli.js"

// Runs are recorded in a store of this file's own (TRELLIS_HOME), never in the repository.
const home = mkdtempSync(join(tmpdir(), "trellis-home-"))
const trellis = (args: ReadonlyArray<string>) =>
  runTrellis(["run", ...args], { env: { ...process.env, TRELLIS_HOME: home, TRELLIS_DATABASE_URL: "" } })

const scratch = mkdtempSync(join(tmpdir(), "trellis-run-"))
const write = (name: string, text: string) => {
  const path = join(scratch, name)
  writeFileSync(path, text)
  return path
}

const failing = write(
  "fail.tr",
  `program main(x: number) {
  a = tool std.echo(value: x)
  boom = tool std.fail(kind: "Transient", message: "upstream down")
  return [a, boom]
}
`
)

describe("trellis run", () => {
  it("runs examples/echo.tr with built-in tools and prints the output", async () => {
    const r = await trellis(["examples/echo.tr", "--input", "name=Ada"])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    const output = JSON.parse(r.stdout)
    expect(output.greeting).toBe("hello, Ada")
    expect(output.parts).toEqual(["HELLO,", "ADA"])
    expect(output.count).toBe(2)
    expect(output.digest).toMatch(/^[0-9a-f]{64}$/)
  }, 60_000)

  it("--json prints exactly one object; --seed makes the run id reproducible; --events writes JSONL", async () => {
    const events = join(scratch, "events.jsonl")
    const a = await trellis(["examples/echo.tr", "--json", "--seed", "7", "--events", events])
    const b = await trellis(["examples/echo.tr", "--json", "--seed", "7"])
    expect(a.code).toBe(0)
    const lines = a.stdout.trim().split("\n")
    expect(lines.length).toBe(1)
    const report = JSON.parse(lines[0]!)
    expect(Object.keys(report).sort()).toEqual(["output", "runId", "status"])
    expect(report.status).toBe("completed")
    expect(report.output.greeting).toBe("hello, world")
    expect(JSON.parse(b.stdout).runId).toBe(report.runId)
    const recorded = readFileSync(events, "utf8").trim().split("\n").map((l) => JSON.parse(l))
    expect(recorded.map((e) => e.seq)).toEqual(recorded.map((_, i) => i))
    expect(recorded[0].type).toBe("RunStarted")
    expect(recorded[0].data.seed).toBe(7)
    expect(recorded[recorded.length - 1].type).toBe("RunCompleted")
    expect(recorded.every((e) => e.runId === report.runId)).toBe(true)
  }, 60_000)

  it("applies the config file's bandit.strategies to choose keys; a bad config file is InvalidConfig", async () => {
    const config = write(
      "bandit.json",
      JSON.stringify({ bandit: { strategies: { "reply-style": { kind: "fixed", option: "canned", epsilon: 0 } } } })
    )
    const program = write(
      "choose.tr",
      `program main() {
  v = choose "reply-style" {
    brief: { return "brief" }
    canned: { return "I don't know yet." }
    long: { return "long" }
  }
  return v
}
`
    )
    const events = join(scratch, "choose-events.jsonl")
    const r = await trellis([program, "--memory", "--json", "--config", config, "--events", events])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout).output).toBe("I don't know yet.")
    const made = readFileSync(events, "utf8").trim().split("\n").map((l) => JSON.parse(l)).find((e) =>
      e.type === "ChoiceMade"
    )
    expect(made.data).toMatchObject({ key: "reply-style", option: "canned" })
    expect(String(made.data.policy)).toContain("fixed")
    const bad = await trellis(["examples/echo.tr", "--json", "--config", write("bad.json", "{ nope")])
    expect(bad.code).toBe(1)
    expect(JSON.parse(bad.stdout).error.kind).toBe("InvalidConfig")
  }, 60_000)

  it("a failing run prints a typed error and exits 1 (and --json reports it)", async () => {
    const plain = await trellis([failing, "--input", "x=1"])
    expect(plain.code).toBe(1)
    expect(plain.stdout).toBe("")
    expect(plain.stderr).toMatch(/^error: run [0-9a-f-]{36} failed: Transient at node boom \(n\d+\): upstream down\n$/)
    const json = await trellis([failing, "--input", "x=1", "--json"])
    expect(json.code).toBe(1)
    const report = JSON.parse(json.stdout)
    expect(report.status).toBe("failed")
    expect(report.error.kind).toBe("Transient")
    expect(report.error.message).toBe("upstream down")
    expect(report.error.node).toMatch(/^n\d+$/)
  }, 60_000)

  it("inputs come from --input-file and --input (the latter wins); bad inputs are InvalidInput", async () => {
    const file = write("inputs.json", JSON.stringify({ name: "file", words: 1 }))
    const r = await trellis(["examples/echo.tr", "--input-file", file, "--input", "name=flag", "--json"])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout).output.greeting).toBe("hello, flag")
    expect(JSON.parse(r.stdout).output.parts).toEqual(["HELLO,"])
    const bad = await trellis([failing, "--json"])
    expect(bad.code).toBe(1)
    expect(JSON.parse(bad.stdout)).toEqual({
      runId: null,
      status: "failed",
      error: { kind: "InvalidInput", message: `missing input "x" of program "main"` }
    })
    // Refused before the store opens: a home that has no store yet gets none.
    const untouched = mkdtempSync(join(tmpdir(), "trellis-home-"))
    const typed = await runTrellis(["run", failing, "--input", "x=\"one\""], {
      env: { ...process.env, TRELLIS_HOME: untouched, TRELLIS_DATABASE_URL: "" }
    })
    expect(typed.code).toBe(1)
    expect(typed.stderr).toBe(
      `error: run failed: InvalidInput: input "x" of program "main" must be a number, got string\n`
    )
    expect(existsSync(join(untouched, "pglite"))).toBe(false)
  }, 60_000)

  it("--tools loads user tools from a TypeScript module; unknown tools are reported before running", async () => {
    const prog = write("user.tr", `program main(t: string = "abc") { u = tool fixture.upper(text: t) return u }\n`)
    const r = await trellis([prog, "--tools", "test/fixtures/tools/good.ts", "--json"])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout).output).toBe("ABC")
    const without = await trellis([prog, "--json"])
    expect(without.code).toBe(1)
    expect(JSON.parse(without.stdout).error.kind).toBe("InvalidProgram")
    expect(without.stderr).toContain("unknown-tool")
  }, 60_000)
})

describe("examples/embed.ts", () => {
  it("embeds a program in an Effect app: output, events, feedback, a typed error", async () => {
    const r = await runNode(["--import", "tsx", "examples/embed.ts"])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    const lines = r.stdout.trim().split("\n")
    expect(lines[0]).toMatch(
      /^output: \{"answer":"EFFECT LAYERS #1(; EFFECT LAYERS #2; EFFECT LAYERS #3)?","best":1\}$/
    )
    expect(lines[1]).toMatch(/^events: RunStarted .* ChoiceMade .*RunCompleted$/)
    expect(lines[2]).toBe(`error: InvalidInput - missing input "question" of program "main"`)
  }, 60_000)
})

describe("--input parsing", () => {
  it("reads JSON when it parses, else the string", async () => {
    expect(parseInputPairs(["a=1", "b=x", "c=[1,2]", "d=\"q\"", "e=a=b", "f="])).toEqual(
      Either.right({ a: 1, b: "x", c: [1, 2], d: "q", e: "a=b", f: "" })
    )
    expect(parseInputPairs(["nokey"])._tag).toBe("Left")
  })
})
