/**
 * Every program in examples/ runs the way docs/examples.md says, through the real CLI (`node bin/trellis.mjs`)
 * or `node --import tsx`, and prints what it should. Each command below must appear verbatim in
 * docs/examples.md, and every file of examples/ must have one.
 */
import { execFile } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"

const root = join(import.meta.dirname, "..", "..")
const doc = readFileSync(join(root, "docs", "examples.md"), "utf8")
const home = mkdtempSync(join(tmpdir(), "trellis-examples-"))
afterAll(() => rmSync(home, { recursive: true, force: true }))

interface Result {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs a documented command from the repository root, `npx trellis` being this checkout's CLI. */
const run = (command: string): Promise<Result> => {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", TRELLIS_HOME: join(home, String(Math.random())) }
  delete env["TRELLIS_DATABASE_URL"]
  delete env["TRELLIS_CONFIG"]
  const line = command.replace(/^npx trellis /, `node ${join(root, "bin", "trellis.mjs")} `)
  return new Promise((resolve) => {
    execFile(
      "bash",
      ["-c", line],
      { cwd: root, env, timeout: 240_000, maxBuffer: 16 << 20 },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr })
    )
  })
}

interface Example {
  readonly file: string
  readonly command: string
  readonly check: (stdout: string) => void
}

const json = (s: string): unknown => JSON.parse(s)

const examples: ReadonlyArray<Example> = [
  {
    file: "echo.tr",
    command: "npx trellis run examples/echo.tr --input name=Ada",
    check: (out) =>
      expect(json(out)).toEqual({
        greeting: "hello, Ada",
        parts: ["HELLO,", "ADA"],
        count: 2,
        digest: "c8fa8a5a9d797554d117a7e67a375658bf9ede917109d7441c247f3006beee5a"
      })
  },
  {
    file: "call.tr",
    command: "npx trellis run examples/call.tr",
    check: (out) =>
      expect(json(out)).toEqual({ cleaned: ["hello world", "trellis"], summary: { count: 2, longest: 11, total: 18 } })
  },
  {
    file: "llm-answer.tr",
    command: `npx trellis run examples/llm-answer.tr --input question="Why is the sky blue?"`,
    check: (out) => {
      const o = json(out) as { answer: string; confidence: number }
      expect(o.answer).toContain("Why is the sky blue?")
      expect(o.confidence).toBe(0)
    }
  },
  {
    file: "research.tr",
    command: "npx trellis run examples/research.tr --tools examples/tools.ts " +
      `--input question="How does replay work?" --input k=2`,
    check: (out) => {
      const o = json(out) as { answer: { text: string }; sources: ReadonlyArray<{ id: string }> }
      // local/echo's confidence is 0, so the answer went through `escalate`, then through Formal or Casual.
      expect(o.answer.text).toContain("Escalated to a human: How does replay work?")
      expect(o.sources.map((s) => s.id)).toEqual(["replay", "choose"])
    }
  },
  {
    file: "fanout.tr",
    command: "npx trellis run examples/fanout.tr --tools examples/tools.ts --input topic=replay --input limit=3",
    check: (out) => expect(json(out)).toEqual({ topic: "replay", count: 3, best: 0, relevant: [null, null, null] })
  },
  {
    file: "choose.tr",
    command: "npx trellis run examples/choose.tr --tools examples/tools.ts " +
      `--input question="What is a fan-out?" --seed 1 --memory`,
    check: (out) => expect(json(out)).toBe("I don't know yet.")
  },
  {
    file: "choose.tr",
    command: "npx trellis run examples/choose.tr --tools examples/tools.ts " +
      `--input question="What is a fan-out?" --seed 2 --memory`,
    check: (out) => expect(json(out)).toBe("text: question (string): Briefly: What is a fan-out? facts (any): null")
  },
  {
    file: "kitchen-sink.tr",
    command: "npx trellis check examples/kitchen-sink.tr",
    check: (out) => expect(out).toMatch(/^examples\/kitchen-sink\.tr: ok \(\d+ nodes, hash [0-9a-f]{64}\)\n$/)
  },
  {
    file: "kitchen-sink.tr",
    command: "npx trellis run examples/kitchen-sink.tr --tools examples/tools.ts " +
      `--input query=replay --input 'extra={"input":{"map":"m"}}'`,
    check: (out) => {
      const o = json(out) as { summaries: ReadonlyArray<string>; tier: string }
      expect(o.summaries).toHaveLength(5)
      expect(o.summaries[0]).toContain("Replay re-executes a recorded run")
      expect(o.tier).toBe("medium")
    }
  },
  {
    file: "builder.ts",
    command: "node --import tsx examples/builder.ts",
    check: (out) => {
      expect(out).toContain("program main(topic: string, k: number = 3) {")
      expect(out).toMatch(/valid, hash [0-9a-f]{64}/)
    }
  },
  {
    file: "embed.ts",
    command: "node --import tsx examples/embed.ts",
    check: (out) => {
      expect(out).toContain(`output: {"answer":"EFFECT LAYERS #1","best":1}`)
      expect(out).toMatch(/^events: RunStarted .* ChoiceMade NodeCompleted RunCompleted$/m)
      expect(out).toContain(`error: InvalidInput - missing input "question" of program "main"`)
    }
  }
]

describe("examples/", () => {
  it("every example has a documented command, and every command is in docs/examples.md", () => {
    const files = readdirSync(join(root, "examples")).filter((f) => f !== "tools.ts").sort()
    expect([...new Set(examples.map((e) => e.file))].sort()).toEqual(files)
    for (const e of examples) expect(doc, e.command).toContain(`$ ${e.command}\n`)
  })

  it.each(examples.map((e) => [e.command, e] as const))("%s", { timeout: 300_000 }, async (_, e) => {
    const r = await run(e.command)
    expect(r.code, r.stderr).toBe(0)
    e.check(r.stdout)
  })
})
