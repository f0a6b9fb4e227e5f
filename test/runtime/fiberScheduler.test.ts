/**
 * The Effect scheduler of a run's fibers (fiberScheduler.ts): tasks run
 * later and in order, tasks scheduled by a drain wait for the next one,
 * the event loop gets a turn after a long run of drains, and fibers on it
 * (yielding forever among them) neither starve the host nor each other.
 */
import { Effect, Fiber, Runtime } from "effect"
import { describe, expect, it } from "vitest"
import { RunFiberScheduler } from "../../src/runtime/fiberScheduler.js"

const macrotask = () => new Promise<void>((resolve) => setImmediate(resolve))

describe("RunFiberScheduler", () => {
  it("runs tasks after the caller returns, in the order scheduled, one microtask for a batch", async () => {
    const s = new RunFiberScheduler()
    const log: Array<string> = []
    s.scheduleTask(() => log.push("a"), 0)
    s.scheduleTask(() => log.push("b"), 0)
    log.push("caller")
    await Promise.resolve()
    expect(log).toEqual(["caller", "a", "b"])
  })

  it("runs tasks scheduled by a drain in the next drain, after the microtasks already queued", async () => {
    const s = new RunFiberScheduler()
    const log: Array<string> = []
    s.scheduleTask(() => {
      log.push("first")
      s.scheduleTask(() => log.push("scheduled by the drain"), 0)
      queueMicrotask(() => log.push("microtask queued by the drain"))
      log.push("first done")
    }, 0)
    await macrotask()
    expect(log).toEqual(["first", "first done", "microtask queued by the drain", "scheduled by the drain"])
  })

  it("lets the event loop turn after 2048 drains in a row", async () => {
    const s = new RunFiberScheduler()
    let drains = 0
    let drainsBeforeImmediate = -1
    const again = () => {
      drains++
      if (drains < 5000) s.scheduleTask(again, 0)
    }
    setImmediate(() => {
      drainsBeforeImmediate = drains
    })
    s.scheduleTask(again, 0)
    while (drains < 5000) await macrotask()
    expect(drainsBeforeImmediate).toBe(2048)
  })

  it("keeps running the tasks after one that throws", async () => {
    const s = new RunFiberScheduler()
    const log: Array<string> = []
    const errors: Array<unknown> = []
    const onError = (e: unknown) => errors.push(e)
    process.on("uncaughtException", onError)
    try {
      s.scheduleTask(() => {
        throw new Error("boom")
      }, 0)
      s.scheduleTask(() => log.push("after"), 0)
      await macrotask()
      await macrotask()
    } finally {
      process.off("uncaughtException", onError)
    }
    expect(log).toEqual(["after"])
    expect(errors).toHaveLength(1)
  })

  it("hands tasks of another priority to Effect's default scheduler", async () => {
    const s = new RunFiberScheduler()
    const log: Array<string> = []
    s.scheduleTask(() => log.push("low"), 1)
    s.scheduleTask(() => log.push("normal"), 0)
    await macrotask()
    expect(log.sort()).toEqual(["low", "normal"])
  })

  it("fibers on it: a fiber yielding forever leaves room for timers and other fibers", async () => {
    const runtime = await Effect.runPromise(Effect.withScheduler(Effect.runtime<never>(), new RunFiberScheduler()))
    let spins = 0
    const spinner = Runtime.runFork(runtime)(
      Effect.forever(Effect.zipRight(Effect.yieldNow(), Effect.sync(() => spins++)))
    )
    const other = Runtime.runFork(runtime)(Effect.as(Effect.promise(() => Promise.resolve()), "other done"))
    const timer = await new Promise<string>((resolve) => setTimeout(() => resolve("timer fired"), 5))
    expect(timer).toBe("timer fired")
    expect(await Effect.runPromise(Fiber.join(other))).toBe("other done")
    expect(spins).toBeGreaterThan(0)
    await Effect.runPromise(Fiber.interrupt(spinner))
  })
})
