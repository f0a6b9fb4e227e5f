/**
 * A golden trace with an llm step (test/llm/fixtures/llm-answer.jsonl, written by
 * `trellis run examples/llm-answer.tr --memory --seed 4 --input question="Why is the sky blue?" --events …`
 * on local/echo) replays exactly with the step runner, and `trellis replay` agrees; a copy whose recorded
 * prompt hash was tampered with diverges at the llm node. A change of prompt compilation shows up here first.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { check } from "../../src/compile.js"
import * as Router from "../../src/llm/router.js"
import * as StepRunner from "../../src/llm/stepRunner.js"
import { replay } from "../../src/runtime/durable.js"
import * as Runtime from "../../src/runtime/runtime.js"
import { makeEvent } from "../../src/trace/events.js"
import { fromJsonl, toJsonl } from "../../src/trace/jsonl.js"
import { runTrellis } from "../support/cli.js"
import { testLayer } from "../support/runtime.js"

const root = path.join(import.meta.dirname, "..", "..")
const tracePath = path.join(import.meta.dirname, "fixtures", "llm-answer.jsonl")
const events = Either.getOrThrow(fromJsonl(fs.readFileSync(tracePath, "utf8")))
const program = check(fs.readFileSync(path.join(root, "examples", "llm-answer.tr"), "utf8")).normalized!
const services = Layer.mergeAll(
  testLayer(),
  Runtime.RunStore.layerMemory,
  StepRunner.layer().pipe(Layer.provide(Router.layerLocal))
)

describe("the golden llm trace", () => {
  it.effect("records the model, prompt hash and route, and replays exactly", () =>
    Effect.gen(function*() {
      const called = events.find((e) => e.type === "ToolCalled")
      expect(called?.type === "ToolCalled" && called.data).toMatchObject({ tool: "llm:Answer", model: "local/echo" })
      const returned = events.find((e) => e.type === "ToolReturned")
      expect(returned?.type === "ToolReturned" && returned.data.route).toBe("local/echo")
      const report = yield* replay({ _tag: "Trace", events, program }).pipe(Effect.provide(services))
      expect(report.divergence).toBeUndefined()
      expect(report.exact).toBe(true)
    }))

  it.effect("a tampered prompt hash diverges at the llm node", () =>
    Effect.gen(function*() {
      const i = events.findIndex((e) => e.type === "ToolCalled")
      const e = events[i]!
      if (e.type !== "ToolCalled") throw new Error("no ToolCalled")
      const tampered = [...events]
      tampered[i] = makeEvent("ToolCalled", { ...e, data: { ...e.data, promptHash: `sha256:${"0".repeat(64)}` } })
      const report = yield* replay({ _tag: "Trace", events: tampered, program }).pipe(Effect.provide(services))
      expect(report.exact).toBe(false)
      expect(report.divergence).toMatchObject({ node: e.node, seq: e.seq })
    }))

  it("trellis replay agrees: exit 0 on the golden trace, 1 on the tampered copy", async () => {
    const env = { ...process.env, TRELLIS_CONFIG: "" }
    const ok = await runTrellis(["replay", tracePath, "--program", "examples/llm-answer.tr"], { env })
    expect(ok.stdout).toContain("exact")
    expect(ok.code).toBe(0)
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trellis-llm-golden-"))
    try {
      const copy = path.join(dir, "tampered.jsonl")
      fs.writeFileSync(
        copy,
        toJsonl(
          events.map((e) =>
            e.type === "ToolCalled" ? makeEvent("ToolCalled", { ...e, data: { ...e.data, promptHash: "sha256:x" } }) : e
          )
        )
      )
      const bad = await runTrellis(["replay", copy, "--program", "examples/llm-answer.tr"], { env })
      expect(bad.code).toBe(1)
      expect(bad.stdout + bad.stderr).toContain("sha256:x")
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)
})
