/**
 * Golden traces (test/fixtures/traces/*.jsonl, written by `trellis run
 * --seed N --events`) replay exactly; tampered copies — a changed tool
 * argument, a reordered event — are reported as divergences, by the library
 * and by `trellis replay` (exit 0 on an exact replay, 1 on a divergence).
 * `UPDATE_GOLDEN=1` rewrites the traces from their programs.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { check } from "../../src/compile.js"
import type { Program } from "../../src/ir/schema.js"
import * as Durable from "../../src/runtime/durable.js"
import { RunStore } from "../../src/runtime/runStore.js"
import * as Runtime from "../../src/runtime/runtime.js"
import type { RunEvent } from "../../src/trace/events.js"
import { fromJsonl, toJsonl } from "../../src/trace/jsonl.js"
import { runTrellis } from "../support/cli.js"

const root = path.join(import.meta.dirname, "..", "..")
const dir = path.join(root, "test", "fixtures", "traces")

const GOLDEN: ReadonlyArray<{ readonly name: string; readonly program: string; readonly args: ReadonlyArray<string> }> =
  [
    { name: "pipeline", program: "test/fixtures/traces/pipeline.tr", args: ["--seed", "1"] },
    { name: "failing", program: "test/fixtures/traces/failing.tr", args: ["--seed", "2"] },
    { name: "echo", program: "examples/echo.tr", args: ["--seed", "3", "--input", "name=Ada"] }
  ]

const home = fs.mkdtempSync(path.join(os.tmpdir(), "trellis-traces-"))
const trellis = (args: ReadonlyArray<string>) =>
  runTrellis(args, { env: { ...process.env, TRELLIS_HOME: home, TRELLIS_DATABASE_URL: "" } })

if (process.env.UPDATE_GOLDEN === "1") {
  for (const g of GOLDEN) {
    await trellis(["run", g.program, "--memory", ...g.args, "--events", path.join(dir, `${g.name}.jsonl`)])
  }
}

const programOf = (file: string): Program => check(fs.readFileSync(path.join(root, file), "utf8")).normalized!
const traceOf = (name: string): ReadonlyArray<RunEvent> =>
  Either.getOrThrow(fromJsonl(fs.readFileSync(path.join(dir, `${name}.jsonl`), "utf8")))

const layer = Layer.merge(Runtime.layerMemory, RunStore.layerMemory)

/** The trace with the args hash of its first ToolCalled changed (as if the tool had been called with other args). */
const changedArgument = (events: ReadonlyArray<RunEvent>) => {
  const i = events.findIndex((e) => e.type === "ToolCalled")
  const e = events[i]!
  return {
    at: e,
    events: events.map((
      x,
      k
    ) => (k === i && x.type === "ToolCalled" ? { ...x, data: { ...x.data, argsHash: "ffffffffffffffff" } } : x))
  }
}

/** The trace with a node's NodeStarted moved before its NodeReady (seqs renumbered, so the file itself is well-formed). */
const reordered = (events: ReadonlyArray<RunEvent>) => {
  const j = events.findIndex((e) => e.type === "NodeStarted" && e.node !== undefined)
  const node = events[j]!.node
  const i = events.findIndex((e) => e.type === "NodeReady" && e.node === node)
  const swapped = [...events]
  const [ready] = swapped.splice(i, 1)
  swapped.splice(j, 0, ready!)
  return { node, events: swapped.map((e, k) => ({ ...e, seq: k })) }
}

describe("golden traces", () => {
  for (const g of GOLDEN) {
    it.live(`${g.name}: replays exactly`, () =>
      Effect.gen(function*() {
        const events = traceOf(g.name)
        const report = yield* Durable.replay({ _tag: "Trace", events, program: programOf(g.program) })
        expect(report.divergence).toBeUndefined()
        expect(report.exact).toBe(true)
        expect(report.replayedEvents).toBe(events.length)
      }).pipe(Effect.provide(layer)))

    it.live(`${g.name}: a changed tool argument and a reordered event diverge`, () =>
      Effect.gen(function*() {
        const events = traceOf(g.name)
        const program = programOf(g.program)
        const changed = changedArgument(events)
        const a = yield* Durable.replay({ _tag: "Trace", events: changed.events, program })
        expect(a.exact).toBe(false)
        expect(a.divergence?.node).toBe(changed.at.node)
        expect(a.divergence?.seq).toBe(changed.at.seq)
        expect(a.divergence?.expected).toContain("ffffffffffffffff")
        expect(a.divergence?.actual).toContain((changed.at as { data: { argsHash: string } }).data.argsHash)
        const moved = reordered(events)
        const b = yield* Durable.replay({ _tag: "Trace", events: moved.events, program })
        expect(b.exact).toBe(false)
        expect(b.divergence?.node).toBe(moved.node)
      }).pipe(Effect.provide(layer)))
  }

  it("trellis replay: exit 0 on the golden trace, 1 with the divergence on a tampered copy", async () => {
    const ok = await trellis([
      "replay",
      "test/fixtures/traces/pipeline.jsonl",
      "--program",
      "test/fixtures/traces/pipeline.tr"
    ])
    expect(ok.stderr).toBe("")
    expect(ok.code).toBe(0)
    expect(ok.stdout).toMatch(/^replay of run 6206f11f-6532-43dc-a0ae-7c8b8ddcdc40: exact \(49 events, completed\)/)

    const tampered = path.join(home, "tampered.jsonl")
    const changed = changedArgument(traceOf("pipeline"))
    fs.writeFileSync(tampered, toJsonl(changed.events))
    const bad = await trellis(["replay", tampered, "--program", "test/fixtures/traces/pipeline.tr"])
    expect(bad.code).toBe(1)
    expect(bad.stdout).toContain(`diverged at node ${changed.at.node} (recorded seq ${changed.at.seq})`)
    expect(bad.stdout).toContain("expected: ")
    expect(bad.stdout).toContain("ffffffffffffffff")
    expect(bad.stderr).toBe("error: the replay diverged from the record\n")

    const json = await trellis(["replay", tampered, "--program", "test/fixtures/traces/pipeline.tr", "--json"])
    expect(json.code).toBe(1)
    const report = JSON.parse(json.stdout) as { exact: boolean; divergence: { node: string } }
    expect(report.exact).toBe(false)
    expect(report.divergence.node).toBe(changed.at.node)

    const missing = await trellis(["replay", "test/fixtures/traces/pipeline.jsonl"])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain(
      "no program 58c45a3c4827e33860c010da2bd042f353e652c6f077844b9089f7fa5345a6c3 in the store; give the program file"
    )
  })
})
