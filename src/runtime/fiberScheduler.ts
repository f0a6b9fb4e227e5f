/**
 * The Effect `Scheduler` a run's fibers run on (tool handlers that
 * suspend, policed calls, hooks, timers; set once on the runtime the
 * driver forks with, so their child fibers inherit it). Effect's default
 * scheduler keeps a runner per fiber (a `WeakMap` entry and an object per
 * fiber that ever resumes) and a microtask per runner; a run forks
 * thousands of short fibers, and that bookkeeping cost more than the
 * fibers' own work. Here every task of the run's fibers goes into one
 * queue, drained by one microtask: fibers resumed by the same host
 * callback (promises settling together) share it.
 *
 * The same guarantees as the default scheduler: a task always runs later,
 * never inside `scheduleTask`; fibers yield as often (`shouldYield` is
 * Effect's own); and the event loop is never starved — tasks scheduled by
 * the drain itself (a fiber that keeps yielding) run in the next drain,
 * and after `MAX_CONSECUTIVE_DRAINS` such drains in a row the next one
 * waits for `setImmediate`, after pending I/O. Tasks of another priority
 * go to Effect's default scheduler.
 */
import { Scheduler } from "effect"

/** Drains in a row (each scheduled by the previous one) before one waits for the event loop to turn. */
const MAX_CONSECUTIVE_DRAINS = 2048

/** One task queue for the fibers of a run, drained in a microtask. */
export class RunFiberScheduler implements Scheduler.Scheduler {
  private tasks: Array<Scheduler.Task> = []
  /** A drain is scheduled (a microtask or a `setImmediate`). */
  private pending = false
  /** A drain is running: tasks scheduled now wait for the next drain. */
  private running = false
  /** Drains in a row, each scheduled by the one before. */
  private depth = 0

  shouldYield(fiber: Parameters<Scheduler.Scheduler["shouldYield"]>[0]): number | false {
    return Scheduler.defaultShouldYield(fiber)
  }

  scheduleTask(task: Scheduler.Task, priority: number, fiber?: Parameters<Scheduler.Scheduler["scheduleTask"]>[2]) {
    if (priority !== 0) return Scheduler.defaultScheduler.scheduleTask(task, priority, fiber)
    this.tasks.push(task)
    if (this.pending || this.running) return
    this.pending = true
    queueMicrotask(this.drain)
  }

  private readonly drain = (): void => {
    this.pending = false
    const tasks = this.tasks
    this.tasks = []
    this.running = true
    let i = 0
    try {
      while (i < tasks.length) tasks[i++]!()
    } finally {
      // (A task that throws leaves the ones after it for the next drain.)
      if (i < tasks.length) this.tasks = tasks.slice(i).concat(this.tasks)
      this.running = false
      this.next()
    }
  }

  /** After a drain: schedules the next one for the tasks it scheduled, if any. */
  private next(): void {
    if (this.tasks.length === 0) {
      this.depth = 0
      return
    }
    this.pending = true
    if (++this.depth < MAX_CONSECUTIVE_DRAINS) return queueMicrotask(this.drain)
    this.depth = 0
    setImmediate(this.drain)
  }
}
