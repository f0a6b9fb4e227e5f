/**
 * Law of the trace viewer's layout (issue 24): on generated programs of every node kind, with every group
 * expanded, every group collapsed and the viewer's default, no two node boxes that are not nested in one another
 * intersect, every box sits inside its group and is as big as it asks (room for its title as marked at run time), in both layouts (ELK's and the linear-time one). Each case runs the real layout (elkjs), up to a few hundred milliseconds: 30
 * cases (× TRELLIS_LAWS_MULTIPLIER).
 */
import { Either } from "effect"
import type { ElkNode } from "elkjs/lib/elk-api.js"
import * as ElkModule from "elkjs/lib/elk.bundled.js"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  boxesOf,
  defaultCollapsed,
  isGroup,
  layoutFaults,
  quickLayout,
  sizeFaults,
  toElk
} from "../src/server/web/app/layout.js"
import { graphOf } from "../src/server/web/graph.js"
import type { GraphNode, GraphView } from "../src/server/web/graph.js"
import { arbProgram } from "./arbitrary.js"
import { numRuns } from "./settings.js"

/** elkjs is CommonJS: its constructor is the module's default export. */
const ELK = (ElkModule as unknown as { default: new() => { layout: (g: ElkNode) => Promise<ElkNode> } }).default
const elk = new ELK()

const groups = (nodes: ReadonlyArray<GraphNode>): Array<string> =>
  nodes.flatMap((n) => (isGroup(n) ? [n.key, ...n.scopes.flatMap((s) => groups(s.nodes))] : []))

/** The faults (overlaps, boxes out of their group, boxes smaller than asked) of both layouts the viewer uses. */
const faultsOf = async (graph: GraphView, collapsed: ReadonlySet<string>): Promise<Array<string>> => {
  const faults = (name: string, input: ElkNode, layout: ElkNode) =>
    [...layoutFaults(boxesOf(layout)), ...sizeFaults(input, layout)].map((f) => `${name}: ${f}`)
  return [
    ...faults("elk", toElk(graph, collapsed), await elk.layout(toElk(graph, collapsed))),
    ...faults("quick", toElk(graph, collapsed), quickLayout(toElk(graph, collapsed)))
  ]
}

describe("viewer layout", () => {
  it("never overlaps node boxes, with groups expanded, collapsed or as the viewer starts", async () => {
    await fc.assert(
      fc.asyncProperty(arbProgram, async (program) => {
        const g = graphOf(program)
        if (Either.isLeft(g)) return
        const all = new Set(groups(g.right.nodes))
        for (const collapsed of [new Set<string>(), all, defaultCollapsed(g.right)]) {
          expect(await faultsOf(g.right, collapsed)).toEqual([])
        }
      }),
      { numRuns: numRuns(30) }
    )
  })
})
