/**
 * A search → summarize fan-out, written with the TypeScript builder.
 * Run: node --import tsx examples/builder.ts
 */
import { realpathSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { Program } from "trellis"

const { all, get, make, map, named, tool } = Program.build

/** search → summarize every hit (4 at a time) → publish the summaries. */
export const fanout = make({
  params: { topic: "string", k: { type: "number", default: 3 } },
  body: ({ k, topic }) => {
    const hits = named("hits", tool("search", { query: topic, k }))
    const notes = named(
      "notes",
      map(hits.result, (hit) => tool("summarize", { text: get(hit, "text") }), { as: "hit", concurrency: 4 })
    )
    const published = tool("publish", { items: notes.result })
    // A scope is the flows it holds; its result is the last argument.
    return all([hits, notes, published], published.result)
  }
})

// Run as a script (also through a symbolic link), not imported: print the program and check it.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  const checked = Program.check(Program.encodeProgram(fanout))
  console.log(Program.print(fanout))
  console.log(checked.diagnostics.length === 0 ? `valid, hash ${checked.hash}` : checked.diagnostics)
}
