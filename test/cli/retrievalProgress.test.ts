/**
 * The ingestion progress of `trellis ingest` / `eval retrieval`: a bar
 * redrawn in place on a terminal, plain lines at each tenth when piped.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { progressBar } from "../../src/cli/retrieval.js"

const progress = (documents: number, chunks: number) => ({
  documents,
  chunks,
  added: documents,
  replaced: 0,
  unchanged: 0
})

describe("ingestion progress", () => {
  it.effect("piped: one plain line per further tenth, nothing at the end", () =>
    Effect.gen(function*() {
      const out: Array<string> = []
      const bar = progressBar(200, false, (t) => out.push(t))
      for (const d of [5, 20, 30, 64, 128, 200]) yield* bar.update(progress(d, d * 2))
      yield* bar.done
      expect(out).toEqual([
        "ingested 20/200 documents (10%), 40 chunks\n",
        "ingested 64/200 documents (32%), 128 chunks\n",
        "ingested 128/200 documents (64%), 256 chunks\n",
        "ingested 200/200 documents (100%), 400 chunks\n"
      ])
    }))

  it.effect("on a terminal: the bar redrawn with \\r, a newline at the end", () =>
    Effect.gen(function*() {
      const out: Array<string> = []
      const bar = progressBar(4, true, (t) => out.push(t))
      yield* bar.update(progress(2, 3))
      yield* bar.done
      expect(out).toEqual([`\r[${"#".repeat(15)}${".".repeat(15)}] 2/4 documents, 3 chunks`, "\n"])
    }))
})
