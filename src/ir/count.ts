/** Counting nodes of a program (all programs, all nested bodies). */
import type { Program } from "./schema.js"
import { forEachNode } from "./visit.js"

/** The number of nodes in every scope of every program. */
export const countNodes = (program: Program): number => {
  let count = 0
  forEachNode(program, () => count++)
  return count
}
