/** Counting nodes of a program (all programs, all nested bodies), without recursion. */
import type { Body, Program } from "./schema.js"

/** The number of nodes in every scope of every program. */
export const countNodes = (program: Program): number => {
  let count = 0
  const bodies: Array<Body> = Object.values(program.programs)
  while (bodies.length > 0) {
    const body = bodies.pop()!
    count += body.nodes.length
    for (const node of body.nodes) {
      switch (node.kind) {
        case "map":
          bodies.push(node.body)
          break
        case "branch":
          bodies.push(node.then)
          if (node.else !== null) bodies.push(node.else)
          break
        case "choose":
          for (const option of node.options) bodies.push(option.body)
          break
        case "tool":
        case "llm":
        case "call":
        case "expr":
          break
      }
    }
  }
  return count
}
