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
 * IoU of the matches, over all pages); CER and WER of each page's text
 * against `text`, averaged over the pages that give one; cell accuracy of the
 * i-th table of a page against the i-th truth table, averaged over truth
 * tables (a missing table scores 0).
 *
 * A page's text is its text layer (spans in reading order), or, for a page
 * without one (a scan: `needsOcr`), what the `Ocr` service of the context
 * reads from the rendered page (cached in the context's `ResultCache`). Each
 * scored page says which; a scan that cannot be read (no `Ocr` service, an
 * optional package missing, an OCR failure) is listed as skipped with the
 * reason and left out of the text means.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Effect, Either, Option, ParseResult, Schema } from "effect"
import * as Path from "node:path"
import { DocumentError } from "./errors.js"
import { extractPdfBytes } from "./extract.js"
import type { Labeled } from "./metrics.js"
import { cellAccuracy, cer, detectionScore, wer } from "./metrics.js"
import { BlockKind, BoxSchema } from "./model.js"
import type { OcrError } from "./ocr/errors.js"
import { Ocr } from "./ocr/service.js"

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

/** Where a scored page's text came from. */
export type TextSource = "text-layer" | "ocr"

/** The text scores of one page. */
export interface PageTextScore {
  /** The PDF's file name. */
  readonly document: string
  /** 1-based. */
  readonly page: number
  readonly source: TextSource
  readonly cer: number
  readonly wer: number
  /** For an OCR page: whether the result came from the cache. */
  readonly cached?: boolean
}

/** A page without a text layer whose text could not be scored, and why. */
export interface SkippedPage {
  readonly document: string
  readonly page: number
  /** `no-ocr`: no `Ocr` service in the context; `missing-package`: an optional package is not installed; `ocr-failed`. */
  readonly reason: "no-ocr" | "missing-package" | "ocr-failed"
  /** One line; for `missing-package`, the command that installs it. */
  readonly message: string
}

/** Mean CER and WER over some pages. */
export interface TextMeans {
  readonly cer: number
  readonly wer: number
  readonly pages: number
}

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
  readonly text: TextMeans & {
    /** The pages read from their text layer. */
    readonly textLayer: TextMeans
    /** The pages read by OCR. */
    readonly ocr: TextMeans
    /** Every scored page, in file and page order. */
    readonly perPage: ReadonlyArray<PageTextScore>
    /** Pages without a text layer that were not scored. */
    readonly skipped: ReadonlyArray<SkippedPage>
  }
  readonly tables: { readonly cellAccuracy: number; readonly tables: number }
}

const mean = (xs: ReadonlyArray<number>) => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length)

const means = (pages: ReadonlyArray<{ readonly cer: number; readonly wer: number }>): TextMeans => ({
  cer: mean(pages.map((p) => p.cer)),
  wer: mean(pages.map((p) => p.wer)),
  pages: pages.length
})

/**
 * Scores one extracted document against its truth (pure; used per file by `readDataset`). The text of a page
 * marked `needsOcr` is not scored here: such pages (with a truth text) are returned in `scanned`.
 */
export const scoreDocument = (
  pages: ReadonlyArray<{
    readonly page: number
    readonly blocks: ReadonlyArray<Labeled>
    readonly text: string
    readonly grids: ReadonlyArray<ReadonlyArray<ReadonlyArray<string>>>
    readonly needsOcr?: boolean
  }>,
  truth: Truth,
  threshold: number
) => {
  let tp = 0, predicted = 0, expected = 0, iouSum = 0
  const texts: Array<{ readonly page: number; readonly cer: number; readonly wer: number }> = []
  const scanned: Array<{ readonly page: number; readonly text: string }> = []
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
      if (p?.needsOcr === true) scanned.push({ page: t.page, text: t.text })
      else texts.push({ page: t.page, cer: cer(t.text, p?.text ?? ""), wer: wer(t.text, p?.text ?? "") })
    }
    for (const [i, table] of (t.tables ?? []).entries()) {
      const grid = p?.grids[i]
      cells.push(grid === undefined ? 0 : cellAccuracy(table.grid, grid))
    }
  }
  return { tp, predicted, expected, iouSum, texts, scanned, cells }
}

/** A page without a text layer, to be read by OCR and scored against `truth`. */
export interface ScannedPage {
  readonly document: string
  /** 1-based. */
  readonly page: number
  readonly truth: string
  /** The whole PDF. */
  readonly pdf: Uint8Array
}

/** A collection read and scored but for the text of its scanned pages (see `readDataset`). */
export interface Dataset {
  readonly documents: number
  readonly pages: number
  readonly blocks: {
    readonly truePositives: number
    readonly predicted: number
    readonly truth: number
    readonly iouSum: number
  }
  readonly cells: ReadonlyArray<number>
  /** The text scores of the pages read from their text layer. */
  readonly texts: ReadonlyArray<PageTextScore>
  /** The pages that need OCR before their text can be scored. */
  readonly scanned: ReadonlyArray<ScannedPage>
}

/**
 * Reads every `*.pdf` with its `*.json` truth in `dir`, extracts it and scores blocks, tables and the text of the
 * pages that have a text layer; the pages without one are returned in `scanned` for `scoreDataset`. A PDF's bytes
 * are kept only while one of its scanned pages is.
 */
export const readDataset = (
  dir: string,
  options: { readonly threshold?: number } = {}
): Effect.Effect<Dataset, DocumentError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const threshold = options.threshold ?? 0.5
    const fs = yield* FileSystem.FileSystem
    const bad = (message: string, location: string) => new DocumentError({ reason: "bad-input", message, location })
    const names = yield* fs.readDirectory(dir).pipe(Effect.mapError(() => bad("cannot read the directory", dir)))
    const pdfs = names.filter((n) => n.toLowerCase().endsWith(".pdf")).sort()
    if (pdfs.length === 0) return yield* bad("no .pdf files in the directory", dir)
    let tp = 0, predicted = 0, expected = 0, iouSum = 0, pageCount = 0
    const cells: Array<number> = []
    const texts: Array<PageTextScore> = []
    const scanned: Array<ScannedPage> = []
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
          grids: p.tables.map((t) => t.grid),
          needsOcr: p.needsOcr
        })),
        truth.right,
        threshold
      )
      tp += s.tp
      predicted += s.predicted
      expected += s.expected
      iouSum += s.iouSum
      for (const x of s.cells) cells.push(x)
      for (const x of s.texts) {
        texts.push({ document: name, page: x.page, source: "text-layer", cer: x.cer, wer: x.wer })
      }
      for (const x of s.scanned) scanned.push({ document: name, page: x.page, truth: x.text, pdf: bytes })
    }
    return {
      documents: pdfs.length,
      pages: pageCount,
      blocks: { truePositives: tp, predicted, truth: expected, iouSum },
      cells,
      texts,
      scanned
    }
  })

/** Options of `scoreDataset`. */
export interface OcrScoreOptions {
  /** The resolution scanned pages are rendered at for OCR. @default 200 */
  readonly dpi?: number
}

const skip = (page: ScannedPage, e: OcrError): SkippedPage => ({
  document: page.document,
  page: page.page,
  reason: e.reason === "missing-package" ? "missing-package" : "ocr-failed",
  message: e.display
})

/**
 * Reads the scanned pages of `dataset` with the `Ocr` service of the context (none: they are skipped), scores
 * their text, and gives the collection's scores. Once an optional package is found missing, the remaining scanned
 * pages are skipped with the same message without trying again.
 */
export const scoreDataset = (dataset: Dataset, options: OcrScoreOptions = {}): Effect.Effect<DocumentScores> =>
  Effect.gen(function*() {
    const ocr = yield* Effect.serviceOption(Ocr)
    const read: Array<PageTextScore> = []
    const skipped: Array<SkippedPage> = []
    let missing: OcrError | undefined
    for (const page of dataset.scanned) {
      if (Option.isNone(ocr)) {
        skipped.push({ document: page.document, page: page.page, reason: "no-ocr", message: "no OCR service" })
        continue
      }
      if (missing !== undefined) {
        skipped.push(skip(page, missing))
        continue
      }
      const result = yield* Effect.either(
        ocr.value.recognize({ bytes: page.pdf, pageIndex: page.page - 1 }, {
          ...(options.dpi === undefined ? {} : { dpi: options.dpi })
        })
      )
      if (Either.isLeft(result)) {
        if (result.left.reason === "missing-package") missing = result.left
        skipped.push(skip(page, result.left))
        continue
      }
      const text = result.right.text
      read.push({
        document: page.document,
        page: page.page,
        source: "ocr",
        cer: cer(page.truth, text),
        wer: wer(page.truth, text),
        cached: result.right.cached
      })
    }
    const order = (a: PageTextScore, b: PageTextScore) =>
      a.document < b.document ? -1 : a.document > b.document ? 1 : a.page - b.page
    const perPage = [...dataset.texts, ...read].sort(order)
    const { truePositives: tp, predicted, truth: expected, iouSum } = dataset.blocks
    const precision = predicted === 0 ? (expected === 0 ? 1 : 0) : tp / predicted
    const recall = expected === 0 ? 1 : tp / expected
    return {
      documents: dataset.documents,
      pages: dataset.pages,
      blocks: {
        precision,
        recall,
        f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall),
        meanIou: tp === 0 ? 0 : iouSum / tp,
        truth: expected
      },
      text: {
        ...means(perPage),
        textLayer: means(dataset.texts),
        ocr: means(read),
        perPage,
        skipped
      },
      tables: { cellAccuracy: mean(dataset.cells), tables: dataset.cells.length }
    }
  })

/**
 * Reads every `*.pdf` with its `*.json` truth in `dir` and scores the extraction (`readDataset`, then
 * `scoreDataset`: scanned pages are read by the context's `Ocr` service, when it has one).
 */
export const evaluateDocuments = (
  dir: string,
  options: { readonly threshold?: number } & OcrScoreOptions = {}
): Effect.Effect<DocumentScores, DocumentError, FileSystem.FileSystem> =>
  Effect.flatMap(readDataset(dir, options), (dataset) => scoreDataset(dataset, options))
