/**
 * A recorded step wrapped in `if patched("id") { new } else { old }` (issue 21, item 3): a run executes its
 * program specialized to its patches (specialize.ts), so a run recorded by v1 (no marker) resumes and
 * replays exactly under v2, a fresh v2 run takes the new branch and records the patch, v3 (the new code
 * only) goes on with v2's runs, and refuses v1's with a message saying why.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { hashProgram } from "../../src/normalize/index.js"
import * as Durable from "../../src/runtime/durable.js"
import { RunStore } from "../../src/runtime/runStore.js"
import { SignalInbox } from "../../src/runtime/signals.js"
import { specialize } from "../../src/runtime/specialize.js"
import { make } from "../../src/tools/index.js"
import type { RunEvent } from "../../src/trace/events.js"
import { compileProgram, eventsOf, idOf, testLayer } from "../support/runtime.js"

const calls: Array<string> = []
const priced = (name: string, factor: number) =>
  make({
    name,
    description: "a price",
    input: Schema.Struct({ item: Schema.String }),
    output: Schema.Number,
    idempotent: true,
    run: ({ item }) => {
      calls.push(name)
      return item.length * factor
    }
  })
const tools = [priced("t.price", 10), priced("t.price2", 100)]

// Each version prices, then waits for a signal (so a run can be left waiting and resumed under a later one).
const WAIT = `ok = wait "go": { extra: number } {}`
const v1 = compileProgram(
  `program main() {
    p = tool t.price(item: "apple")
    ${WAIT}
    return p + ok.extra
  }`,
  tools
)
const v2 = compileProgram(
  `program main() {
    p = if patched("price2") { return tool t.price2(item: "apple") } else { return tool t.price(item: "apple") }
    ${WAIT}
    return p + ok.extra
  }`,
  tools
)
const v3 = compileProgram(
  `program main() {
    p = tool t.price2(item: "apple")
    ${WAIT}
    return p + ok.extra
  }`,
  tools
)

const layer = () => Layer.mergeAll(testLayer(tools), RunStore.layerMemory, SignalInbox.layerMemory)

const started = (events: ReadonlyArray<RunEvent>) => {
  const first = events[0]!
  return first.type === "RunStarted" ? first.data : undefined
}
const toolsCalled = (events: ReadonlyArray<RunEvent>) =>
  events.flatMap((e) => (e.type === "ToolCalled" ? [`${e.node}:${e.data.tool}`] : []))

/** A run of `program` left waiting for its signal, then signalled. */
const waitingRun = (program: typeof v1, runId: string) =>
  Effect.gen(function*() {
    const first = yield* Durable.start(program, {}, { runId, seed: 7 })
    expect(first.status).toBe("waiting")
    yield* Durable.signal(runId, "go", { extra: 1 })
  })

describe("patched around a recorded step", () => {
  it("specialized to a run's patches, v2 is v1 (none) or v3 (all): same hash, same node ids", () => {
    expect(hashProgram(specialize(v2, new Set()))).toBe(hashProgram(v1))
    expect(hashProgram(specialize(v2, new Set(["price2"])))).toBe(hashProgram(v3))
    expect(specialize(v2, new Set()).programs.main).toEqual(v1.programs.main)
    expect(specialize(v2, new Set()).labels).toEqual(v1.labels)
    // Inside a map body, under `not patched`, with a new step whose result is computed.
    const m1 = compileProgram(
      `program main() { r = map i in range(2) { a = tool t.price(item: str(i)) return a } return r }`,
      tools
    )
    const m2 = compileProgram(
      `program main() {
        r = map i in range(2) {
          a = if not patched("q") { return tool t.price(item: str(i)) } else { b = tool t.price2(item: str(i)) return b * 2 }
          return a
        }
        return r
      }`,
      tools
    )
    const m3 = compileProgram(
      `program main() { r = map i in range(2) { b = tool t.price2(item: str(i)) a = b * 2 return a } return r }`,
      tools
    )
    expect(hashProgram(specialize(m2, new Set()))).toBe(hashProgram(m1))
    expect(hashProgram(specialize(m2, new Set(["q"])))).toBe(hashProgram(m3))
    // A guarded change of pure computation does not specialize to the old program (`p * 1` is not `p`).
    const before = compileProgram(`program main() { p = tool t.price(item: "apple") return p }`, tools)
    const guarded = compileProgram(
      `program main() { p = tool t.price(item: "apple") return p * (1 + num(patched("v2"))) }`,
      tools
    )
    expect(hashProgram(specialize(guarded, new Set()))).not.toBe(hashProgram(before))
    // A program without markers specializes to itself.
    expect(specialize(v1, new Set(["price2"]))).toEqual(v1)
  })

  it.effect("a v1 run resumes and replays exactly under v2; a v2 run takes the new branch; v3 goes on with it", () =>
    Effect.gen(function*() {
      calls.length = 0
      yield* waitingRun(v1, "old")
      expect(calls).toEqual(["t.price"])
      const resumed = yield* Durable.resume("old", { program: v2 })
      expect(resumed).toMatchObject({ status: "completed", output: 51 })
      expect(calls).toEqual(["t.price"])
      const old = yield* eventsOf("old")
      expect(started(old)?.patches).toBeUndefined()
      expect(toolsCalled(old)).toEqual([`${idOf(v1, "p")}:t.price`])

      for (const program of [v1, v2]) {
        const stored = yield* Durable.replay({ _tag: "Stored", runId: "old" }, { program })
        expect(stored).toMatchObject({ exact: true, status: "completed", output: 51 })
        const trace = yield* Durable.replay({ _tag: "Trace", events: old, program })
        expect(trace).toMatchObject({ exact: true, output: 51 })
      }

      // A trace of it replays under v2 even where the store does not have v1 (v2 specializes to v1's hash).
      const elsewhere = yield* Durable.replay({ _tag: "Trace", events: old, program: v2 }).pipe(
        Effect.provide(Layer.mergeAll(testLayer(tools), RunStore.layerMemory))
      )
      expect(elsewhere).toMatchObject({ exact: true, output: 51 })

      calls.length = 0
      yield* waitingRun(v2, "new")
      const fresh = yield* Durable.resume("new", { program: v3 })
      expect(fresh).toMatchObject({ status: "completed", output: 501 })
      expect(calls).toEqual(["t.price2"])
      const events = yield* eventsOf("new")
      expect(started(events)?.patches).toEqual(["price2"])
      expect(toolsCalled(events)).toEqual([`${idOf(v3, "p")}:t.price2`])
      for (const program of [v2, v3]) {
        const again = yield* Durable.replay({ _tag: "Stored", runId: "new" }, { program })
        expect(again).toMatchObject({ exact: true, output: 501 })
      }
    }).pipe(Effect.provide(layer())))

  it.effect("v3 (the old branch removed) refuses v1's runs, saying why, unless told to go on", () =>
    Effect.gen(function*() {
      yield* waitingRun(v1, "old3")
      const refusal = yield* Effect.flip(Durable.resume("old3", { program: v3 }))
      expect(refusal.kind).toBe("InvalidProgram")
      expect(refusal.message).toMatch(
        /^run old3 cannot go on with this program: specialized to the run's patches \(none\) it is [0-9a-f]{64}, not the program the run executed \([0-9a-f]{64} specialized likewise\) — a change not guarded by patched\("id"\), or the old branch of a patch removed while runs recorded without the patch are kept; allow it to go on \(allowProgramChange: true\)$/
      )
      expect((yield* Durable.getRun("old3")).status).toBe("waiting")
      const replayRefusal = yield* Effect.flip(Durable.replay({ _tag: "Stored", runId: "old3" }, { program: v3 }))
      expect(replayRefusal.message).toContain("run old3 cannot go on with this program")
      // Asked to go on anyway, the replay runs and reports where v3 leaves the record.
      yield* Durable.resume("old3")
      const forced = yield* Durable.replay({ _tag: "Stored", runId: "old3" }, { program: v3, allowProgramChange: true })
      expect(forced.exact).toBe(false)
      expect(forced.divergence?.node).toBe(idOf(v1, "p"))
      expect(forced.divergence?.actual).toContain(`"tool":"t.price2"`)
    }).pipe(Effect.provide(layer())))
})
