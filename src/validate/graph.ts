/**
 * Cycle finding for V2 (node dependencies) and V8 (program calls): an
 * iterative depth-first search that reports one cycle per back edge, so
 * every cycle the search meets is reported once, in O(vertices + edges).
 */

/**
 * Calls `onCycle` with each cycle found (vertex indices, rotated to start
 * at the smallest index, without repeating it at the end). Vertices are
 * searched from 0 upwards and successors in the order given.
 */
export const findCycles = (
  size: number,
  successors: (vertex: number) => ReadonlyArray<number>,
  onCycle: (cycle: ReadonlyArray<number>) => void,
  stop: () => boolean = () => false
): void => {
  const NEW = 0
  const ACTIVE = 1
  const DONE = 2
  const state = new Uint8Array(size)
  const position = new Int32Array(size)
  const path: Array<number> = []
  const cursor: Array<number> = []
  const next: Array<ReadonlyArray<number>> = []
  const enter = (v: number) => {
    state[v] = ACTIVE
    position[v] = path.length
    path.push(v)
    next.push(successors(v))
    cursor.push(0)
  }
  for (let root = 0; root < size; root++) {
    if (state[root] !== NEW) continue
    enter(root)
    while (path.length > 0) {
      if (stop()) return
      const top = path.length - 1
      const v = path[top]!
      const succ = next[top]!
      const i = cursor[top]!
      if (i >= succ.length) {
        state[v] = DONE
        path.pop()
        next.pop()
        cursor.pop()
        continue
      }
      cursor[top] = i + 1
      const w = succ[i]!
      if (w < 0 || w >= size) continue
      if (state[w] === NEW) enter(w)
      else if (state[w] === ACTIVE) onCycle(rotate(path.slice(position[w]!)))
    }
  }
}

/** Rotates a cycle so that it starts at its smallest vertex. */
const rotate = (cycle: ReadonlyArray<number>): ReadonlyArray<number> => {
  let min = 0
  for (let i = 1; i < cycle.length; i++) if (cycle[i]! < cycle[min]!) min = i
  return [...cycle.slice(min), ...cycle.slice(0, min)]
}
