/**
 * `trellis eval documents --data <dir>`: a directory of PDFs, each
 * `name.pdf` with its ground truth `name.json`:
 *
 * ```json
 * { "pages": [{ "page": 1,
 *               "blocks": [{ "kind": "title", "box": [72, 72, 377, 94] }],
 *               "text": "the page's text in reading order",
 *               "tables": [{ "grid": [["Region", "2024"], ["North", "1,500"]] }] }] }
 * ```
 *
 * Every field of a page but `page` is optional. Scores: blocks matched one
 * to one with the same kind at an IoU threshold (precision, recall, F1, mean
 * IoU of the matches, over all pages); CER and WER of each page's text (its
 * spans in reading order) against `text`, averaged over the pages that give
 * one; cell accuracy of the i-th table of a page against the i-th truth
 * table, averaged over truth tables (a missing table scores 0).
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Effect, Either, ParseResult, Schema } from "effect"
import * as Path from "node:path"
import { DocumentError } from "./errors.js"
import { extractPdfBytes } from "./extract.js"
import type { Labeled } from "./metrics.js"
import { cellAccuracy, cer, detectionScore, wer } from "./metrics.js"
import { BlockKind, BoxSchema } from "./model.js"

/** The ground truth of one PDF. */
export const TruthSchema = Schema.Struct({
  pages: Schema.Array(Schema.Struct({
    page: Schema.Number.pipe(Schema.int(), Schema.positive()),
    blocks: Schema.optional(Schema.Array(Schema.Struct({ kind: BlockKind, box: BoxSchema }))),
    text: Schema.optional(Schema.String),
    tables: Schema.optional(Schema.Array(Schema.Struct({ grid: Schema.Array(Schema.Array(Schema.String)) })))
  }))
})
/** A ground truth file. */
export type Truth = typeof TruthSchema.Type

/** The scores of a collection. */
export interface DocumentScores {
  readonly documents: number
  readonly pages: number
  readonly blocks: {
    readonly precision: number
    readonly recall: number
    readonly f1: number
    readonly meanIou: number
    readonly truth: number
  }
  readonly text: { readonly cer: number; readonly wer: number; readonly pages: number }
  readonly tables: { readonly cellAccuracy: number; readonly tables: number }
}

const mean = (xs: ReadonlyArray<number>) => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length)

/** Scores one extracted document against its truth (pure; used per file by `evaluateDocuments`). */
export const scoreDocument = (
  pages: ReadonlyArray<{
    readonly page: number
    readonly blocks: ReadonlyArray<Labeled>
    readonly text: string
    readonly grids: ReadonlyArray<ReadonlyArray<ReadonlyArray<string>>>
  }>,
  truth: Truth,
  threshold: number
) => {
  let tp = 0, predicted = 0, expected = 0, iouSum = 0
  const cers: Array<number> = []
  const wers: Array<number> = []
  const cells: Array<number> = []
  for (const t of truth.pages) {
    const p = pages.find((x) => x.page === t.page)
    if (t.blocks !== undefined) {
      const s = detectionScore(p?.blocks ?? [], t.blocks, { threshold, sameKind: true })
      tp += s.truePositives
      predicted += s.predicted
      expected += s.truth
      iouSum += s.meanIou * s.truePositives
    }
    if (t.text !== undefined) {
      cers.push(cer(t.text, p?.text ?? ""))
      wers.push(wer(t.text, p?.text ?? ""))
    }
    for (const [i, table] of (t.tables ?? []).entries()) {
      const grid = p?.grids[i]
      cells.push(grid === undefined ? 0 : cellAccuracy(table.grid, grid))
    }
  }
  return { tp, predicted, expected, iouSum, cers, wers, cells }
}

/** Reads every `*.pdf` with its `*.json` truth in `dir` and scores the extraction. */
export const evaluateDocuments = (
  dir: string,
  options: { readonly threshold?: number } = {}
): Effect.Effect<DocumentScores, DocumentError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const threshold = options.threshold ?? 0.5
    const fs = yield* FileSystem.FileSystem
    const bad = (message: string, location: string) => new DocumentError({ reason: "bad-input", message, location })
    const names = yield* fs.readDirectory(dir).pipe(Effect.mapError(() => bad("cannot read the directory", dir)))
    const pdfs = names.filter((n) => n.toLowerCase().endsWith(".pdf")).sort()
    if (pdfs.length === 0) return yield* bad("no .pdf files in the directory", dir)
    let tp = 0, predicted = 0, expected = 0, iouSum = 0, pageCount = 0
    const cers: Array<number> = []
    const wers: Array<number> = []
    const cells: Array<number> = []
    for (const name of pdfs) {
      const pdfPath = Path.join(dir, name)
      const truthPath = Path.join(dir, `${name.slice(0, -4)}.json`)
      const text = yield* fs.readFileString(truthPath).pipe(
        Effect.mapError(() => bad(`no ground truth for ${name}`, truthPath))
      )
      const json = Either.try(() => JSON.parse(text) as unknown)
      if (Either.isLeft(json)) return yield* bad(`not JSON: ${String(json.left)}`, truthPath)
      const truth = Schema.decodeUnknownEither(TruthSchema)(json.right, { errors: "all", onExcessProperty: "error" })
      if (Either.isLeft(truth)) return yield* bad(ParseResult.TreeFormatter.formatErrorSync(truth.left), truthPath)
      const bytes = yield* fs.readFile(pdfPath).pipe(Effect.mapError(() => bad("cannot read the file", pdfPath)))
      const e = yield* extractPdfBytes(bytes, { source: pdfPath }).pipe(
        Effect.mapError((err) =>
          new DocumentError({
            reason: err.reason,
            message: err.message,
            location: err.location === undefined ? pdfPath : `${pdfPath}: ${err.location}`
          })
        )
      )
      pageCount += e.pages.length
      const s = scoreDocument(
        e.pages.map((p) => ({
          page: p.page,
          blocks: p.blocks,
          text: [...p.spans].sort((a, b) => a.order - b.order).map((x) => x.text).join(" "),
          grids: p.tables.map((t) => t.grid)
        })),
        truth.right,
        threshold
      )
      tp += s.tp
      predicted += s.predicted
      expected += s.expected
      iouSum += s.iouSum
      for (const x of s.cers) cers.push(x)
      for (const x of s.wers) wers.push(x)
      for (const x of s.cells) cells.push(x)
    }
    const precision = predicted === 0 ? (expected === 0 ? 1 : 0) : tp / predicted
    const recall = expected === 0 ? 1 : tp / expected
    return {
      documents: pdfs.length,
      pages: pageCount,
      blocks: {
        precision,
        recall,
        f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall),
        meanIou: tp === 0 ? 0 : iouSum / tp,
        truth: expected
      },
      text: { cer: mean(cers), wer: mean(wers), pages: cers.length },
      tables: { cellAccuracy: mean(cells), tables: cells.length }
    }
  })
