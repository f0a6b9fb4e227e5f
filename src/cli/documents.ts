/**
 * `trellis eval documents --data <dir> [--iou 0.5] [--json]`: layout, text
 * and table scores of the PDF extraction on a directory of PDFs with ground
 * truth (see `src/documents/evaluate.ts`). Pages without a text layer are
 * rendered and read by OCR (Tesseract) for their text scores, the results
 * cached in the store's result cache (shared with `trellis run`'s `doc.ocr`);
 * the store is opened only when there is such a page. Without the optional
 * OCR packages those pages are reported as skipped, with what to install.
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { Effect, Either, Layer } from "effect"
import type { DocumentError } from "../documents/errors.js"
import { readDataset, scoreDataset } from "../documents/evaluate.js"
import type { Dataset, DocumentScores, PageTextScore, SkippedPage, TextMeans } from "../documents/evaluate.js"
import * as Ocr from "../documents/ocr/index.js"
import { ResultCache } from "../runtime/policy/cache.js"
import * as StoredCache from "../store/resultCache.js"
import { CliError, err, out } from "./io.js"
import { storeLayer } from "./services.js"

const toCli = (e: DocumentError) => new CliError({ message: e.display, exitCode: e.reason === "bad-input" ? 2 : 1 })
const r4 = (n: number) => Math.round(n * 10_000) / 10_000
const f = (n: number) => n.toFixed(4)
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`

/** The Tesseract `Ocr` service (its packages load on first use), a bad `TRELLIS_OCR_CACHE_TTL` an exit-2 error. */
const ocrLayer = Ocr.layerTesseract.pipe(
  Layer.mapError((e) => new CliError({ message: `bad setting: ${String(e)}`, exitCode: 2 }))
)

/**
 * Scores the dataset with OCR for its scanned pages, cached in the store; when the store cannot be opened (a
 * server holding it, say), uncached, with a note.
 */
const scoreWithOcr = (dataset: Dataset) => {
  const score = scoreDataset(dataset)
  return score.pipe(
    Effect.provide(Layer.provide(StoredCache.layer(), storeLayer)),
    Effect.catchTag("CliError", (e) =>
      Effect.zipRight(
        err(`note: OCR results are not cached (${e.message})`),
        Effect.provide(score, ResultCache.layerMemory)
      )),
    Effect.provide(ocrLayer)
  )
}

/**
 * The missing-package messages of OCR (rendering with mupdf, Tesseract and its language data), each once: asked of
 * both when one was found missing, so that one line names everything to install.
 */
const missingOcrPackages = (pdf: Uint8Array): Effect.Effect<ReadonlyArray<string>> =>
  Effect.gen(function*() {
    const probes: ReadonlyArray<Either.Either<unknown, { readonly reason: string; readonly message: string }>> = [
      yield* Effect.either(Ocr.pageCount(pdf)),
      yield* Effect.either(Ocr.tesseractReady())
    ]
    return probes.flatMap((r) => (Either.isLeft(r) && r.left.reason === "missing-package" ? [r.left.message] : []))
  })

const means = (m: TextMeans) => ({ cer: r4(m.cer), wer: r4(m.wer), pages: m.pages })

const toJson = (s: DocumentScores, missingPackages: ReadonlyArray<string>) => ({
  documents: s.documents,
  pages: s.pages,
  blocks: {
    precision: r4(s.blocks.precision),
    recall: r4(s.blocks.recall),
    f1: r4(s.blocks.f1),
    meanIou: r4(s.blocks.meanIou)
  },
  text: {
    ...means(s.text),
    textLayer: means(s.text.textLayer),
    ocr: means(s.text.ocr),
    perPage: s.text.perPage.map((p) => ({ ...p, cer: r4(p.cer), wer: r4(p.wer) })),
    skipped: s.text.skipped,
    missingPackages
  },
  tables: { cellAccuracy: r4(s.tables.cellAccuracy), tables: s.tables.tables }
})

const sourceName = (
  p: PageTextScore
) => (p.source === "ocr" ? `OCR${p.cached === true ? ", cached" : ""}` : "text layer")

/** One line for the skipped pages: how many, which, and each distinct reason (what to install first). */
const skippedLine = (skipped: ReadonlyArray<SkippedPage>, missingPackages: ReadonlyArray<string>): string => {
  const pages = skipped.map((p) => `${p.document} page ${p.page}`)
  const shown = pages.length > 5 ? [...pages.slice(0, 5), `${pages.length - 5} more`] : pages
  const reasons = [...new Set([...missingPackages, ...skipped.map((p) => p.message)])]
  return `text: ${plural(skipped.length, "page")} without a text layer skipped (${shown.join(", ")}): ${
    reasons.join("; ")
  }`
}

/** `trellis eval documents`. */
export const evalDocumentsCommand = Command.make(
  "documents",
  {
    data: Options.text("data").pipe(
      Options.withDescription("A folder of name.pdf files, each with its name.json ground truth")
    ),
    iou: Options.float("iou").pipe(
      Options.withDefault(0.5),
      Options.withDescription("The IoU a detected block needs to match")
    ),
    json: Options.boolean("json").pipe(Options.withDescription("Print the result as JSON"))
  },
  (o) =>
    Effect.gen(function*() {
      if (!(o.iou > 0 && o.iou <= 1)) {
        return yield* new CliError({ message: `--iou must be in (0, 1], got ${o.iou}`, exitCode: 2 })
      }
      const dataset = yield* readDataset(o.data, { threshold: o.iou }).pipe(Effect.mapError(toCli))
      const s = dataset.scanned.length === 0 ? yield* scoreDataset(dataset) : yield* scoreWithOcr(dataset)
      const missing = s.text.skipped.some((p) => p.reason === "missing-package")
        ? yield* missingOcrPackages(dataset.scanned[0]!.pdf)
        : []
      if (o.json) {
        yield* out(JSON.stringify(toJson(s, missing)))
        return
      }
      yield* out(`${s.documents} documents, ${s.pages} pages`)
      yield* out(
        `blocks @ IoU ${o.iou}: precision ${f(s.blocks.precision)}  recall ${f(s.blocks.recall)}  f1 ${
          f(s.blocks.f1)
        }  mean IoU ${f(s.blocks.meanIou)}  (${s.blocks.truth} true blocks)`
      )
      const t = s.text
      yield* out(`text: CER ${f(t.cer)}  WER ${f(t.wer)}  (${plural(t.pages, "page")})`)
      if (t.ocr.pages > 0) {
        yield* out(
          `  text layer: CER ${f(t.textLayer.cer)}  WER ${f(t.textLayer.wer)}  (${plural(t.textLayer.pages, "page")})`
        )
        yield* out(`  OCR: CER ${f(t.ocr.cer)}  WER ${f(t.ocr.wer)}  (${plural(t.ocr.pages, "page")})`)
      }
      for (const p of t.perPage) {
        yield* out(`  ${p.document} page ${p.page} (${sourceName(p)}): CER ${f(p.cer)}  WER ${f(p.wer)}`)
      }
      if (t.skipped.length > 0) yield* out(skippedLine(t.skipped, missing))
      yield* out(`tables: cell accuracy ${f(s.tables.cellAccuracy)}  (${s.tables.tables} tables)`)
    })
).pipe(Command.withDescription("Score PDF layout, text (OCR for scanned pages) and tables against ground truth"))
