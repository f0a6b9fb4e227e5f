/**
 * `evaluateDocuments`: a folder of generated PDFs with ground truth scores
 * perfectly where the extraction is right and drops where the truth differs;
 * bad ground truth is a bad-input error with the file as location.
 */
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { evaluateDocuments } from "../../src/documents/evaluate.js"
import { knownTextPdf, TABLE_GRID, tablePdf } from "../support/documents.js"

const folder = async (wrongTable: boolean) => {
  const dir = mkdtempSync(join(tmpdir(), "trellis-doc-eval-"))
  const known = await knownTextPdf()
  writeFileSync(join(dir, "known.pdf"), known.bytes)
  writeFileSync(
    join(dir, "known.json"),
    JSON.stringify({
      pages: [{
        page: 1,
        blocks: [
          { kind: "title", box: known.truth.title },
          { kind: "paragraph", box: known.truth.paragraph },
          { kind: "list", box: known.truth.list }
        ],
        text:
          "Quarterly Report on Wings The lift of a wing grows with the square of the airspeed and with the angle of attack until the flow separates at the stall. - first item of the list - second item of the list"
      }]
    })
  )
  const table = await tablePdf()
  writeFileSync(join(dir, "table.pdf"), table.bytes)
  const grid: Array<Array<string>> = TABLE_GRID.map((row, r) =>
    row.map((t, c) => (r === 1 && t === "" ? TABLE_GRID[0][c]! : t))
  )
  if (wrongTable) grid[2]![1] = "9,999"
  writeFileSync(
    join(dir, "table.json"),
    JSON.stringify({ pages: [{ page: 1, blocks: [{ kind: "table", box: table.truth.table }], tables: [{ grid }] }] })
  )
  return dir
}

describe("evaluateDocuments", () => {
  it.effect("scores 1 where the extraction matches the truth, less where it does not", () =>
    Effect.gen(function*() {
      const good = yield* evaluateDocuments(yield* Effect.promise(() => folder(false)), { threshold: 0.9 })
      expect(good).toMatchObject({ documents: 2, pages: 2 })
      expect(good.blocks).toMatchObject({ recall: 1, truth: 4 })
      expect(good.blocks.precision).toBe(4 / 5) // the table page's caption paragraph is not in its truth
      expect(good.blocks.meanIou).toBeGreaterThan(0.95)
      expect(good.text).toEqual({ cer: 0, wer: 0, pages: 1 })
      expect(good.tables).toEqual({ cellAccuracy: 1, tables: 1 })
      const bad = yield* evaluateDocuments(yield* Effect.promise(() => folder(true)))
      expect(bad.tables.cellAccuracy).toBe(19 / 20)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("bad ground truth and empty folders are bad input with a location", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.promise(() => folder(false))
      writeFileSync(
        join(dir, "table.json"),
        JSON.stringify({ pages: [{ page: 0, blocks: [{ kind: "banner", box: [0, 0, 1, 1] }] }] })
      )
      const e = yield* Effect.flip(evaluateDocuments(dir))
      expect(e.reason).toBe("bad-input")
      expect(e.location).toBe(join(dir, "table.json"))
      expect(e.message).toContain("banner")
      const empty = yield* Effect.flip(evaluateDocuments(mkdtempSync(join(tmpdir(), "trellis-doc-eval-"))))
      expect(empty.message).toBe("no .pdf files in the directory")
    }).pipe(Effect.provide(NodeContext.layer)))
})
