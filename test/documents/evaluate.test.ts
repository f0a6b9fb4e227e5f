/**
 * `evaluateDocuments`: a folder of generated PDFs with ground truth scores
 * perfectly where the extraction is right and drops where the truth differs;
 * bad ground truth is a bad-input error with the file as location. Scanned
 * pages (no text layer) are scored from the text the context's `Ocr` service
 * reads (a scripted backend here; Tesseract in ocr/eval.integration.test.ts),
 * cached in the context's result cache, or skipped with the reason.
 */
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { evaluateDocuments, readDataset, scoreDataset } from "../../src/documents/evaluate.js"
import type { OcrBackend } from "../../src/documents/ocr/backend.js"
import { OcrError } from "../../src/documents/ocr/errors.js"
import { make, Ocr } from "../../src/documents/ocr/service.js"
import { ResultCache } from "../../src/runtime/policy/cache.js"
import { knownTextPdf, TABLE_GRID, tablePdf } from "../support/documents.js"
import { makeTextPdf, scannedPdf, whitePng } from "./ocr/fixtures.js"

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
      expect(good.text).toMatchObject({ cer: 0, wer: 0, pages: 1, skipped: [] })
      expect(good.text.perPage).toEqual([{ document: "known.pdf", page: 1, source: "text-layer", cer: 0, wer: 0 }])
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

/** A folder with a typed page and two scanned ones (blank images: what they "say" is up to the scripted backend). */
const scannedFolder = async () => {
  const dir = mkdtempSync(join(tmpdir(), "trellis-doc-eval-scan-"))
  writeFileSync(join(dir, "a-typed.pdf"), (await makeTextPdf([["Seven red kites"]], 20)).bytes)
  writeFileSync(join(dir, "a-typed.json"), JSON.stringify({ pages: [{ page: 1, text: "Seven red kites" }] }))
  for (const [name, width] of [["b-scan", 60], ["c-scan", 64]] as const) {
    writeFileSync(join(dir, `${name}.pdf`), await scannedPdf(whitePng(width, 20), 120, 40))
    writeFileSync(join(dir, `${name}.json`), JSON.stringify({ pages: [{ page: 1, text: "Invoice 2291 paid" }] }))
  }
  return dir
}

/** A backend that reads `text` from any image (or fails as told), counting its calls. */
const scripted = (text: string, fail?: { readonly at: "version" | "recognize"; readonly error: OcrError }) => {
  const backend: OcrBackend & { calls: number } = {
    calls: 0,
    name: "scripted",
    version: fail?.at === "version" ? Effect.fail(fail.error) : Effect.succeed("1"),
    settings: () => Effect.succeed({}),
    recognize: () =>
      Effect.suspend(() => {
        backend.calls += 1
        if (fail?.at === "recognize") return Effect.fail(fail.error)
        return Effect.succeed([{
          lines: [{
            words: text.split(" ").map((w, i) => ({
              text: w,
              confidence: 0.9,
              box: [i * 10, 0, i * 10 + 9, 9] as const
            }))
          }]
        }])
      })
  }
  return backend
}

describe("evaluateDocuments with scanned pages", () => {
  it.effect("scores scanned pages from OCR text, per page with its source, cached in the result cache", () =>
    Effect.gen(function*() {
      const dataset = yield* readDataset(yield* Effect.promise(scannedFolder))
      expect(dataset.scanned.map((p) => [p.document, p.page, p.truth])).toEqual([
        ["b-scan.pdf", 1, "Invoice 2291 paid"],
        ["c-scan.pdf", 1, "Invoice 2291 paid"]
      ])
      const backend = scripted("Invoice 2291 pad")
      const withOcr = Layer.merge(Layer.succeed(Ocr, make({ backends: [backend] })), ResultCache.layerMemory)
      const [first, second] = yield* Effect.all([scoreDataset(dataset), scoreDataset(dataset)]).pipe(
        Effect.provide(withOcr)
      )
      const miss = 1 / 17 // one character of "Invoice 2291 paid" dropped
      expect(first.text.perPage).toEqual([
        { document: "a-typed.pdf", page: 1, source: "text-layer", cer: 0, wer: 0 },
        { document: "b-scan.pdf", page: 1, source: "ocr", cer: miss, wer: 1 / 3, cached: false },
        { document: "c-scan.pdf", page: 1, source: "ocr", cer: miss, wer: 1 / 3, cached: false }
      ])
      expect(first.text.ocr).toEqual({ cer: miss, wer: 1 / 3, pages: 2 })
      expect(first.text.textLayer).toEqual({ cer: 0, wer: 0, pages: 1 })
      expect(first.text).toMatchObject({ pages: 3, skipped: [] })
      expect(first.text.cer).toBeCloseTo((2 * miss) / 3, 10)
      // The second pass is answered by the cache: the backend ran once per page.
      expect(second.text.perPage.filter((p) => p.source === "ocr").map((p) => p.cached)).toEqual([true, true])
      expect(backend.calls).toBe(2)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("skips scanned pages without an Ocr service, a missing package (tried once) or a failed OCR", () =>
    Effect.gen(function*() {
      const dataset = yield* readDataset(yield* Effect.promise(scannedFolder))
      const none = yield* scoreDataset(dataset)
      expect(none.text.skipped.map((p) => [p.document, p.reason])).toEqual([
        ["b-scan.pdf", "no-ocr"],
        ["c-scan.pdf", "no-ocr"]
      ])
      expect(none.text).toMatchObject({ cer: 0, pages: 1, ocr: { pages: 0 } })

      const install = "OCR with Scripted needs the optional package scripted: npm install --save-exact scripted@1.0.0"
      const absent = scripted("", {
        at: "version",
        error: new OcrError({ reason: "missing-package", message: install })
      })
      const missing = yield* scoreDataset(dataset).pipe(Effect.provideService(Ocr, make({ backends: [absent] })))
      expect(missing.text.skipped).toEqual([
        { document: "b-scan.pdf", page: 1, reason: "missing-package", message: install },
        { document: "c-scan.pdf", page: 1, reason: "missing-package", message: install }
      ])

      const broken = scripted("", {
        at: "recognize",
        error: new OcrError({ reason: "backend", message: "engine crashed" })
      })
      const failed = yield* scoreDataset(dataset).pipe(Effect.provideService(Ocr, make({ backends: [broken] })))
      expect(failed.text.skipped.map((p) => [p.reason, p.message])).toEqual([
        ["ocr-failed", "engine crashed"],
        ["ocr-failed", "engine crashed"]
      ])
      expect(broken.calls).toBe(2)
      expect(failed.text.perPage).toHaveLength(1)
    }).pipe(Effect.provide(NodeContext.layer)))
})
