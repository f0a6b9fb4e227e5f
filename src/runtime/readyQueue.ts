/** The ready queue of a run: node instances whose dependencies have completed, first in, first out. */

/** A FIFO queue on an array with a moving head (compacted now and then), so taking the head is O(1). */
export class ReadyQueue<T> {
  private items: Array<T | undefined> = []
  private head = 0

  /** Whether something is queued. */
  get nonEmpty(): boolean {
    return this.head < this.items.length
  }

  /** Queues a value at the end. */
  push(value: T): void {
    this.items.push(value)
  }

  /** Takes the oldest value, or undefined when the queue is empty. */
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined
    const value = this.items[this.head]
    this.items[this.head++] = undefined
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head)
      this.head = 0
    }
    return value
  }
}
