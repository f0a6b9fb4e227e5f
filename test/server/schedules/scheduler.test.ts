/**
 * The scheduler on `TestClock` (issue 18): fires at the cron's times, the
 * overlap policies (skip / queue / allow) against a run still going, and the
 * missed-run policies after simulated downtime (the schedule's stored next
 * time is in the past when the scheduler starts).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Layer, Option, TestClock } from "effect"
import { nextAfter, parse } from "../../../src/server/schedules/cron.js"
import { make, QUEUE_MAX } from "../../../src/server/schedules/scheduler.js"
import type { Launcher } from "../../../src/server/schedules/scheduler.js"
import { ScheduleStore } from "../../../src/store/schedules.js"
import type { MissedPolicy, OverlapPolicy, ScheduleRecord } from "../../../src/store/schedules.js"

const MIN = 60_000

/** A launcher that records what it started; runs stay active until `end` is called. */
const makeLauncher = () => {
  const started: Array<{ readonly runId: string; readonly fireAt: number }> = []
  const active = new Set<string>()
  const launcher: Launcher = {
    start: (_s, fireAt) =>
      Effect.sync(() => {
        const runId = `run-${started.length + 1}`
        started.push({ runId, fireAt })
        active.add(runId)
        return { runId }
      }),
    isActive: (runId) => Effect.sync(() => active.has(runId))
  }
  return { launcher, started, end: (runId: string) => active.delete(runId), endAll: () => active.clear() }
}

/** A schedule every five minutes from t=0. */
const schedule = (
  overrides: { readonly overlap?: OverlapPolicy; readonly missed?: MissedPolicy; readonly cron?: string } = {}
): ScheduleRecord => {
  const cron = overrides.cron ?? "*/5 * * * *"
  const spec = parse(cron, "UTC")
  if (Either.isLeft(spec)) throw new Error(spec.left.message)
  return {
    scheduleId: "s1",
    workspace: "acme",
    cron,
    timezone: "UTC",
    program: {},
    programHash: "h",
    programName: "main",
    inputs: {},
    seed: null,
    overlap: overrides.overlap ?? "allow",
    missed: overrides.missed ?? { policy: "skip" },
    paused: false,
    nextFireAt: nextAfter(spec.right, 0),
    pending: [],
    lastFireAt: null,
    lastRunId: null,
    createdAt: 0,
    updatedAt: 0
  }
}

/** Lets the scheduler fiber finish what the last clock move woke. */
const settle = Effect.repeatN(Effect.yieldNow(), 50)
const advance = (ms: number) => Effect.zipRight(TestClock.adjust(ms), settle)

const fireTimes = (xs: ReadonlyArray<{ readonly fireAt: number }>) => xs.map((x) => x.fireAt / MIN)

const withStore = <A, E>(body: Effect.Effect<A, E, ScheduleStore>) =>
  Effect.scoped(Effect.provide(body, Layer.fresh(ScheduleStore.layerMemory)))

describe("the scheduler on a test clock", () => {
  it.effect("fires at the cron's times, not before", () =>
    withStore(Effect.gen(function*() {
      const store = yield* ScheduleStore
      yield* store.create(schedule())
      const l = makeLauncher()
      yield* Effect.scoped(Effect.gen(function*() {
        yield* make(l.launcher)
        yield* settle
        yield* advance(4 * MIN + 59_000)
        expect(l.started).toEqual([])
        yield* advance(1000)
        expect(fireTimes(l.started)).toEqual([5])
        yield* advance(10 * MIN)
        expect(fireTimes(l.started)).toEqual([5, 10, 15])
      }))
      const stored = Option.getOrThrow(yield* store.get("s1"))
      expect(stored.nextFireAt).toBe(20 * MIN)
      expect(stored.lastRunId).toBe("run-3")
      const page = yield* store.firesOf({ scheduleId: "s1", workspace: "acme", limit: 10 })
      expect(page.items.map((f) => f.runId)).toEqual(["run-3", "run-2", "run-1"])
    })))

  it.effect("a paused schedule does not fire", () =>
    withStore(Effect.gen(function*() {
      const store = yield* ScheduleStore
      yield* store.create({ ...schedule(), paused: true })
      const l = makeLauncher()
      yield* Effect.scoped(Effect.gen(function*() {
        yield* make(l.launcher)
        yield* advance(30 * MIN)
      }))
      expect(l.started).toEqual([])
    })))

  it.effect("overlap skip: an occurrence while the previous run is going is recorded as skipped", () =>
    withStore(Effect.gen(function*() {
      const store = yield* ScheduleStore
      yield* store.create(schedule({ overlap: "skip" }))
      const l = makeLauncher()
      yield* Effect.scoped(Effect.gen(function*() {
        yield* make(l.launcher)
        yield* advance(5 * MIN)
        yield* advance(5 * MIN)
        expect(fireTimes(l.started)).toEqual([5])
        l.end("run-1")
        yield* advance(5 * MIN)
        expect(fireTimes(l.started)).toEqual([5, 15])
      }))
      const stored = Option.getOrThrow(yield* store.get("s1"))
      expect(stored.pending).toEqual([])
    })))

  it.effect("overlap queue: the occurrence waits and fires once the previous run ended", () =>
    withStore(Effect.gen(function*() {
      const store = yield* ScheduleStore
      yield* store.create(schedule({ overlap: "queue" }))
      const l = makeLauncher()
      yield* Effect.scoped(Effect.gen(function*() {
        yield* make(l.launcher, { pollMs: 1000 })
        yield* advance(5 * MIN)
        yield* advance(5 * MIN)
        yield* advance(5 * MIN)
        expect(fireTimes(l.started)).toEqual([5])
        expect(Option.getOrThrow(yield* store.get("s1")).pending).toEqual([10 * MIN, 15 * MIN])
        l.end("run-1")
        yield* advance(1000)
        // One at a time: the queued 10-minute occurrence starts; the 15-minute one waits for it.
        expect(fireTimes(l.started)).toEqual([5, 10])
        l.end("run-2")
        yield* advance(1000)
        expect(fireTimes(l.started)).toEqual([5, 10, 15])
        expect(Option.getOrThrow(yield* store.get("s1")).pending).toEqual([])
      }))
    })))

  it.effect(`overlap queue holds at most ${QUEUE_MAX} occurrences`, () =>
    withStore(Effect.gen(function*() {
      const store = yield* ScheduleStore
      yield* store.create(schedule({ overlap: "queue", cron: "* * * * * *" }))
      const l = makeLauncher()
      yield* Effect.scoped(Effect.gen(function*() {
        yield* make(l.launcher)
        for (let i = 0; i < QUEUE_MAX + 10; i++) yield* advance(1000)
      }))
      expect(l.started).toHaveLength(1)
      expect(Option.getOrThrow(yield* store.get("s1")).pending).toHaveLength(QUEUE_MAX)
    })))

  it.effect("overlap allow: every occurrence starts a run", () =>
    withStore(Effect.gen(function*() {
      const store = yield* ScheduleStore
      yield* store.create(schedule({ overlap: "allow" }))
      const l = makeLauncher()
      yield* Effect.scoped(Effect.gen(function*() {
        yield* make(l.launcher)
        yield* advance(15 * MIN)
      }))
      expect(fireTimes(l.started)).toEqual([5, 10, 15])
    })))
})

describe("missed runs after downtime", () => {
  /** No scheduler runs for an hour and two and a half minutes; then one starts. */
  const afterDowntime = (missed: MissedPolicy, overlap: OverlapPolicy = "allow") =>
    withStore(Effect.gen(function*() {
      const store = yield* ScheduleStore
      yield* store.create(schedule({ missed, overlap }))
      yield* TestClock.adjust(62 * MIN + 30_000)
      const l = makeLauncher()
      yield* Effect.scoped(Effect.gen(function*() {
        yield* make(l.launcher)
        yield* settle
      }))
      return { started: fireTimes(l.started), stored: Option.getOrThrow(yield* store.get("s1")) }
    }))

  it.effect("skip: nothing missed runs; the next fire is the next occurrence", () =>
    Effect.gen(function*() {
      const { started, stored } = yield* afterDowntime({ policy: "skip" })
      expect(started).toEqual([])
      expect(stored.nextFireAt).toBe(65 * MIN)
    }))

  it.effect("run-once: one run for everything missed (the latest occurrence)", () =>
    Effect.gen(function*() {
      const { started, stored } = yield* afterDowntime({ policy: "run-once" })
      expect(started).toEqual([60])
      expect(stored.nextFireAt).toBe(65 * MIN)
    }))

  it.effect("catch-up: the latest `max` missed occurrences, oldest first", () =>
    Effect.gen(function*() {
      const { started, stored } = yield* afterDowntime({ policy: "catch-up", max: 3 })
      expect(started).toEqual([50, 55, 60])
      expect(stored.nextFireAt).toBe(65 * MIN)
    }))

  it.effect("catch-up under overlap skip: the first catch-up run is still going, so the others are skipped", () =>
    Effect.gen(function*() {
      const { started } = yield* afterDowntime({ policy: "catch-up", max: 3 }, "skip")
      expect(started).toEqual([50])
    }))

  it.effect("catch-up then normal fires: the clock goes on after the restart", () =>
    withStore(Effect.gen(function*() {
      const store = yield* ScheduleStore
      yield* store.create(schedule({ missed: { policy: "catch-up", max: 2 } }))
      yield* TestClock.adjust(21 * MIN)
      const l = makeLauncher()
      yield* Effect.scoped(Effect.gen(function*() {
        yield* make(l.launcher)
        yield* settle
        // 5, 10 and 15 were missed (the latest two run); 20 is a minute old, within the grace: on time.
        expect(fireTimes(l.started)).toEqual([10, 15, 20])
        yield* advance(4 * MIN)
        expect(fireTimes(l.started)).toEqual([10, 15, 20, 25])
      }))
    })))
})
