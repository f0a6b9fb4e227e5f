/**
 * Durable runs on the in-memory stores: start records the run; a run cut
 * off after any prefix of its events resumes to the same output, with the
 * same idempotency keys, contiguous seqs and no repeated event; replay of a
 * recorded run is exact, a tampered record diverges where it was changed.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Option, Schema } from "effect"
import fc from "fast-check"
import type { Json } from "../../src/ir/eval.js"
import * as Durable from "../../src/runtime/durable.js"
import { RunStore } from "../../src/runtime/runStore.js"
import { make, Transient } from "../../src/tools/index.js"
import type { AnyTool } from "../../src/tools/index.js"
import { canonicalTrace, EventLog, EventSink } from "../../src/trace/events.js"
import type { RunEvent } from "../../src/trace/events.js"
import { compileProgram, settle, testLayer } from "../support/runtime.js"

/** Side effects "outside the process": applied once per idempotency key; every call is logged. */
const makeWorld = () => {
  const applied = new Map<string, Json>()
  const calls: Array<{ readonly key: string; readonly item: Json }> = []
  const apply = make({
    name: "fx.apply",
    description: "Applies a side effect keyed by the idempotency key.",
    input: Schema.Struct({ item: Schema.Number }),
    output: Schema.Number,
    idempotent: false,
    handler: (args, ctx) =>
      Effect.sync(() => {
        calls.push({ key: ctx.idempotencyKey, item: args.item })
        if (!applied.has(ctx.idempotencyKey)) applied.set(ctx.idempotencyKey, args.item * 10)
        return applied.get(ctx.idempotencyKey) as number
      })
  })
  const flaky = make({
    name: "fx.flaky",
    description: "Fails its first attempt (Transient), then doubles.",
    input: Schema.Struct({ x: Schema.Number }),
    output: Schema.Number,
    idempotent: true,
    retryable: true,
    handler: (args, ctx) =>
      ctx.attempt === 1 ? Effect.fail(new Transient({ message: "first attempt fails" })) : Effect.succeed(args.x * 2)
  })
  return { applied, calls, tools: [apply, flaky] as unknown as ReadonlyArray<AnyTool> }
}

const SOURCE = `
program main(n: number = 4) {
  items = map i in range(n) with { concurrency: 2 } {
    a = tool fx.apply(item: i)
    b = tool fx.flaky(x: a) with { retry: { times: 2, backoff: "fixed", base: "1ms" } }
    return b
  }
  pick = choose "style" {
    short: { return "s" }
    long: { return "l" }
  }
  total = sum(items)
  return { total: total, pick: pick }
}
`

const layerFor = (tools: ReadonlyArray<AnyTool>) => Layer.merge(testLayer(tools), RunStore.layerMemory)

/** Events without the RunStarted of a resume. */
const withoutResumeStart = (events: ReadonlyArray<RunEvent>) =>
  events.filter((e) => !(e.type === "RunStarted" && e.data.mode === "resume"))

describe("durable runs (memory)", () => {
  it.live("start records the run and its program; the record ends completed", () => {
    const world = makeWorld()
    const program = compileProgram(SOURCE, world.tools)
    return Effect.gen(function*() {
      const result = yield* Durable.start(program, { n: 3 }, { seed: 1 })
      const record = yield* Durable.getRun(result.runId)
      expect(record.status).toBe("completed")
      expect(record.output).toEqual(result.output)
      expect(record.programName).toBe("main")
      const stored = yield* Effect.flatMap(RunStore, (s) => s.getProgram(record.programHash))
      expect(Option.isSome(stored)).toBe(true)
      const again = yield* Effect.flip(Durable.resume(result.runId))
      expect(again.message).toBe(`run ${result.runId} is completed; only running and waiting runs resume`)
      const missing = yield* Effect.flip(Durable.resume("nope"))
      expect(missing.kind).toBe("NotFound")
    }).pipe(Effect.provide(layerFor(world.tools)))
  })

  it.live("bad inputs are refused before anything is recorded", () => {
    const world = makeWorld()
    const program = compileProgram(SOURCE, world.tools)
    return Effect.gen(function*() {
      const e = yield* Effect.flip(Durable.start(program, { n: "x" }, {}))
      expect(e.kind).toBe("InvalidInput")
      const page = yield* Effect.flatMap(RunStore, (s) => s.list({}))
      expect(page.runs).toEqual([])
    }).pipe(Effect.provide(layerFor(world.tools)))
  })

  it("a run cut off after any prefix of its events resumes to the same result, keys and canonical trace", async () => {
    // The uninterrupted run, for reference.
    const reference = makeWorld()
    const program = compileProgram(SOURCE, reference.tools)
    const full = await Effect.runPromise(
      Effect.gen(function*() {
        const r = yield* Durable.start(program, { n: 4 }, { seed: 7 })
        const events = yield* Durable.eventsOf(r.runId)
        const record = yield* Durable.getRun(r.runId)
        return { r, events, record }
      }).pipe(Effect.provide(layerFor(reference.tools)))
    )
    const refKeys = new Set(reference.calls.map((c) => c.key))
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: full.events.length - 1 }), async (cut) => {
        const world = makeWorld()
        const prefix = full.events.slice(0, cut)
        // What the crashed process left: the program, the run record (running), a prefix of its events,
        // and the side effects of the calls it made before the cut.
        for (const e of prefix) {
          if (e.type === "ToolCalled" && e.data.idempotencyKey !== undefined) {
            const call = reference.calls.find((c) => c.key === e.data.idempotencyKey)!
            world.applied.set(call.key, (call.item as number) * 10)
          }
        }
        const out = await Effect.runPromise(
          Effect.gen(function*() {
            const store = yield* RunStore
            const stored = yield* store.getProgram(full.record.programHash)
            expect(Option.isSome(stored)).toBe(false)
            yield* store.putProgram(full.record.programHash, JSON.parse(JSON.stringify(program)) as Json)
            yield* store.create({ ...full.record, status: "running", endedAt: null, state: {} })
            const sink = yield* EventSink
            yield* sink.append(prefix)
            const resumed = yield* Durable.resume(full.r.runId)
            const events = yield* Durable.eventsOf(full.r.runId)
            const record = yield* Durable.getRun(full.r.runId)
            return { resumed, events, record }
          }).pipe(Effect.provide(layerFor(world.tools)))
        )
        expect(out.resumed.output).toEqual(full.r.output)
        expect(out.record.status).toBe("completed")
        // seq contiguous from 0, no duplicates, one terminal event at the end
        expect(out.events.map((e) => e.seq)).toEqual(out.events.map((_, i) => i))
        expect(out.events.filter((e) => e.type === "RunCompleted")).toHaveLength(1)
        // the events of the resumed run are the uninterrupted run's (plus the resume marker)
        expect(canonicalTrace(withoutResumeStart(out.events))).toEqual(canonicalTrace(full.events))
        // every keyed call of the resumed process used a key of the original run; each key applied once
        for (const c of world.calls) expect(refKeys.has(c.key)).toBe(true)
        expect(world.applied.size).toBe(refKeys.size)
      }),
      { numRuns: 40, seed: 42 }
    )
  })

  it.live("replay of a recorded run is exact; a changed argument and a reordered event diverge", () => {
    const world = makeWorld()
    const program = compileProgram(SOURCE, world.tools)
    return Effect.gen(function*() {
      const r = yield* Durable.start(program, { n: 3 }, { seed: 3 })
      const events = yield* Durable.eventsOf(r.runId)
      const callsBefore = world.calls.length
      const exact = yield* Durable.replay({ _tag: "Stored", runId: r.runId })
      expect(exact.exact).toBe(true)
      expect(exact.divergence).toBeUndefined()
      expect(exact.output).toEqual(r.output)
      // A replay calls no tool.
      expect(world.calls.length).toBe(callsBefore)

      // A changed tool argument: the record says fx.apply got other args at one node.
      const i = events.findIndex((e) => e.type === "ToolCalled" && e.data.tool === "fx.apply")
      const called = events[i]!
      const tampered = events.map((e, k) =>
        k === i && e.type === "ToolCalled" ? { ...e, data: { ...e.data, argsHash: "0000000000000000" } } : e
      )
      const changed = yield* Durable.replay({ _tag: "Trace", events: tampered, program })
      expect(changed.exact).toBe(false)
      expect(changed.divergence?.node).toBe(called.node)
      expect(changed.divergence?.seq).toBe(called.seq)
      expect(changed.divergence?.expected).toContain("0000000000000000")

      // A reordered event (two events of one node swapped, seqs renumbered).
      const j = events.findIndex((e) => e.type === "NodeStarted" && e.node === called.node)
      const swapped = [...events]
      ;[swapped[j], swapped[j + 1]] = [swapped[j + 1]!, swapped[j]!]
      const renumbered = swapped.map((e, k) => ({ ...e, seq: k }))
      const reordered = yield* Durable.replay({ _tag: "Trace", events: renumbered, program })
      expect(reordered.exact).toBe(false)
      expect(reordered.divergence?.node).toBe(called.node)

      // A reordered event with its seq kept: the record itself is out of order.
      const kept = yield* Durable.replay({ _tag: "Trace", events: swapped, program })
      expect(kept.exact).toBe(false)
      expect(kept.divergence?.expected).toBe(`the event with seq ${j}`)

      // --live re-runs the real tools: same outputs here, so exact.
      const live = yield* Durable.replay({ _tag: "Stored", runId: r.runId }, { live: true })
      expect(live.exact).toBe(true)
      expect(world.calls.length).toBeGreaterThan(callsBefore)
    }).pipe(Effect.provide(layerFor(world.tools)))
  })

  it.live("a cancelled run is recorded cancelled; resumeAll resumes every running run", () => {
    const world = makeWorld()
    const program = compileProgram(SOURCE, world.tools)
    return Effect.gen(function*() {
      const slow = compileProgram(`program main() {\n  x = tool std.sleep(ms: 60000)\n  return x\n}`)
      const fiber = yield* Effect.fork(Durable.start(slow, {}, { runId: "slow" }))
      yield* settle
      yield* Fiber.interrupt(fiber)
      expect((yield* Durable.getRun("slow")).status).toBe("cancelled")
      const log = yield* EventLog
      expect((yield* Effect.orDie(log.events("slow"))).at(-1)?.type).toBe("RunCancelled")

      // Two runs left running (their processes died right after RunStarted).
      const store = yield* RunStore
      const sink = yield* EventSink
      const template = yield* Durable.start(program, { n: 2 }, { seed: 9, runId: "template" })
      const record = yield* Durable.getRun("template")
      const started = (yield* Durable.eventsOf("template"))[0]!
      for (const runId of ["r1", "r2"]) {
        yield* store.create({ ...record, runId, status: "running", endedAt: null })
        yield* sink.append([{ ...started, runId }])
      }
      const resumed = yield* Durable.resumeAll()
      expect(resumed.map((r) => r.runId).sort()).toEqual(["r1", "r2"])
      for (const r of resumed) {
        expect(Exit.isSuccess(r.exit) ? r.exit.value.output : undefined).toEqual(template.output)
        expect((yield* Durable.getRun(r.runId)).status).toBe("completed")
      }
      expect(yield* Durable.resumeAll()).toEqual([])
    }).pipe(Effect.provide(layerFor(world.tools)))
  })

  it.live("a run interrupted under leaveRunning stays running and resumes (a server shutting down)", () => {
    const world = makeWorld()
    return Effect.gen(function*() {
      const slow = compileProgram(
        `program main() {\n  a = tool std.echo(value: 1)\n  b = tool std.sleep(ms: 200)\n  return a\n}`
      )
      const fiber = yield* Effect.fork(Durable.leaveRunning(Durable.start(slow, {}, { runId: "kept" })))
      yield* Effect.sleep("50 millis")
      yield* Fiber.interrupt(fiber)
      expect((yield* Durable.getRun("kept")).status).toBe("running")
      const before = yield* Durable.eventsOf("kept")
      expect(before.some((e) => e.type === "RunCancelled" || (e.type === "NodeFailed"))).toBe(false)
      const done = yield* Durable.resume("kept")
      expect(done.output).toBe(1)
      const after = yield* Durable.eventsOf("kept")
      expect(after.map((e) => e.seq)).toEqual(after.map((_, i) => i))
      expect(after.at(-1)?.type).toBe("RunCompleted")
    }).pipe(Effect.provide(layerFor(world.tools)))
  })
})
