/**
 * The calls waiting for a call slot, as a binary heap: the next slot goes
 * to the waiting call of highest rank (the longest chain of nodes that
 * still depends on it — critical path first), and among equal ranks to
 * the one that has waited longest.
 */

/** One waiting call. */
export interface Waiting<T> {
  readonly rank: number
  readonly seq: number
  readonly value: T
}

/** Whether `a` goes before `b`. */
const before = <T>(a: Waiting<T>, b: Waiting<T>): boolean => a.rank > b.rank || (a.rank === b.rank && a.seq < b.seq)

/** A priority queue of waiting calls (highest rank first, then first come). */
export class WaitQueue<T> {
  private readonly heap: Array<Waiting<T>> = []
  private seq = 0

  /** How many calls wait. */
  get size(): number {
    return this.heap.length
  }

  /** The rank of the call that goes first (-Infinity when none waits). */
  topRank(): number {
    const top = this.heap[0]
    return top === undefined ? -Infinity : top.rank
  }

  /** Adds a call of the given rank. */
  push(rank: number, value: T): void {
    const heap = this.heap
    const item: Waiting<T> = { rank, seq: this.seq++, value }
    let i = heap.length
    heap.push(item)
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(item, heap[parent]!)) break
      heap[i] = heap[parent]!
      i = parent
    }
    heap[i] = item
  }

  /** Removes and returns the call that goes first, if any. */
  pop(): T | undefined {
    const heap = this.heap
    const top = heap[0]
    if (top === undefined) return undefined
    const last = heap.pop()!
    const n = heap.length
    if (n > 0) {
      let i = 0
      while (true) {
        const l = 2 * i + 1
        if (l >= n) break
        const r = l + 1
        const child = r < n && before(heap[r]!, heap[l]!) ? r : l
        if (!before(heap[child]!, last)) break
        heap[i] = heap[child]!
        i = child
      }
      heap[i] = last
    }
    return top.value
  }
}

/** A multiset of ranks and its maximum: the ranks of the calls holding call slots. */
export class RankSet {
  private readonly counts = new Map<number, number>()
  private top = -Infinity

  /** The highest rank held (-Infinity when empty). */
  get max(): number {
    return this.top
  }

  add(rank: number): void {
    this.counts.set(rank, (this.counts.get(rank) ?? 0) + 1)
    if (rank > this.top) this.top = rank
  }

  delete(rank: number): void {
    const left = (this.counts.get(rank) ?? 0) - 1
    if (left > 0) {
      this.counts.set(rank, left)
      return
    }
    this.counts.delete(rank)
    if (rank !== this.top) return
    // Few distinct ranks are ever held at once (at most one per call slot).
    let top = -Infinity
    for (const r of this.counts.keys()) if (r > top) top = r
    this.top = top
  }
}
