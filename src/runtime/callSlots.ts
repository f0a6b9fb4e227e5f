/**
 * The call slots of a run: how many tool/llm calls are in flight (at most
 * the run's `concurrency`), the ranks of the calls holding slots, and the
 * calls waiting for one — highest plan rank first (the critical path),
 * then first come (waitQueue.ts).
 */
import { RankSet, WaitQueue } from "./waitQueue.js"

/** Call slots: a counter bounded by `capacity`, the held ranks, and the waiting calls. */
export class CallSlots<T> {
  private held = 0
  private readonly ranks = new RankSet()
  private readonly waiting = new WaitQueue<T>()

  constructor(readonly capacity: number) {}

  /** Whether a slot is free. */
  get free(): boolean {
    return this.held < this.capacity
  }

  /** The highest rank among the calls holding slots (-Infinity when none). */
  get maxHeldRank(): number {
    return this.ranks.max
  }

  /** The highest rank among the waiting calls (-Infinity when none). */
  get topWaitingRank(): number {
    return this.waiting.topRank()
  }

  /** Takes a slot for a call of rank `rank` (callers check `free` first when the call may wait). */
  take(rank: number): void {
    this.held++
    this.ranks.add(rank)
  }

  /** Gives back the slot of a call of rank `rank`. */
  release(rank: number): void {
    this.held--
    this.ranks.delete(rank)
  }

  /** Parks a call until a slot frees. */
  park(rank: number, value: T): void {
    this.waiting.push(rank, value)
  }

  /** The next waiting call (highest rank, then longest waiting), or undefined. */
  next(): T | undefined {
    return this.waiting.pop()
  }
}
