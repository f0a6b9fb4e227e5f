/**
 * Tesseract end to end on a document the test makes: a PDF written with pdf-lib (Helvetica, 20 pt, known text at
 * known positions), its page rendered by MuPDF and read by tesseract.js with the language data of the installed
 * `@tesseract.js-data/eng` package. Checked: the character error rate (CER) against the drawn text, the word
 * boxes against the drawn positions (IoU), the cache hit on a second call, one worker reused, a scanned page
 * (an image-only PDF) found and read in one call, and a corrupt image as a typed error, not a crash.
 *
 * Thresholds, measured on this machine at 100, 150 and 200 dpi: CER 0.000 each time (20 pt at 200 dpi is ~56
 * pixels per em, far above what Tesseract needs). The bound is 0.05 (one wrong character in twenty): room for
 * another Tesseract build to slip on a character or two, while a broken pipeline (a wrong page, a garbled image, a
 * lost line) gives a CER above 0.3. Word IoU: Tesseract's boxes are ink boxes, the ground truth is the font's
 * ascent-to-descent box, so a word without ascenders or descenders covers less of it ("over": 0.59); measured
 * minimum 0.585, mean 0.80. The bounds: every word ≥ 0.5 and the mean ≥ 0.7 — a box off by half a word, or
 * scaled wrongly between pixels and points, fails both.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { PDFDocument } from "pdf-lib"
import type { OcrBackend } from "../../../src/documents/ocr/backend.js"
import { make } from "../../../src/documents/ocr/service.js"
import { terminateTesseract, tesseractBackend } from "../../../src/documents/ocr/tesseract.js"
import { renderPage } from "../../../src/documents/render.js"
import { ResultCache } from "../../../src/runtime/policy/cache.js"
import { cer, iou, makeTextPdf } from "./fixtures.js"

const LINES = ["The quick brown fox jumps", "over the lazy dog 1234"]

/** Tesseract, counting the images it was given. */
const counted = () => {
  let calls = 0
  const backend: OcrBackend = {
    ...tesseractBackend,
    recognize: (image, settings) =>
      Effect.suspend(() => {
        calls += 1
        return tesseractBackend.recognize(image, settings)
      })
  }
  return { backend, calls: () => calls }
}

afterAll(() => terminateTesseract())

describe("Tesseract OCR", () => {
  it.effect("reads a rendered PDF page: CER under 0.05, word boxes on the drawn words, then a cache hit", () =>
    Effect.gen(function*() {
      const pdf = yield* Effect.promise(() => makeTextPdf([LINES], { size: 20, width: 400, height: 130, margin: 24 }))
      const { backend, calls } = counted()
      const ocr = make({ backends: [backend] })
      const result = yield* ocr.recognize({ bytes: pdf.bytes }, { dpi: 200 })
      const rate = cer(LINES.join("\n"), result.text)
      expect(rate).toBeLessThanOrEqual(0.05)
      expect(result.lines.map((l) => l.text).length).toBe(2)
      expect(result.confidence).toBeGreaterThan(0.8)
      expect(result).toMatchObject({ backend: "tesseract", dpi: 200, pageWidth: 400, pageHeight: 130, cached: false })
      // Each drawn word is matched by a recognized word of the same text whose page box overlaps it.
      const scores = pdf.words[0]!.map((truth) => {
        const found = result.words.find((w) => w.text === truth.text)
        return found === undefined ? 0 : iou(found.pageBox, truth.box)
      })
      expect(Math.min(...scores)).toBeGreaterThanOrEqual(0.5)
      expect(scores.reduce((a, b) => a + b, 0) / scores.length).toBeGreaterThanOrEqual(0.7)
      // Pixel boxes are page boxes × dpi / 72.
      const w = result.words[0]!
      expect(w.box[0] * 72 / 200).toBeCloseTo(w.pageBox[0], 1)

      const again = yield* ocr.recognize({ bytes: pdf.bytes }, { dpi: 200 })
      expect(again.cached).toBe(true)
      expect(again.text).toBe(result.text)
      expect(calls()).toBe(1)
    }).pipe(Effect.provide(ResultCache.layerMemory)))

  it.effect("finds the scanned page of a PDF and reads it in one call; a corrupt image is a typed error", () =>
    Effect.gen(function*() {
      const text = yield* Effect.promise(() =>
        makeTextPdf([["Scanned page 42"]], { size: 20, width: 300, height: 60, margin: 16 })
      )
      const image = yield* renderPage(text.bytes, 0, { dpi: 200 })
      // A two-page PDF: page 0 has a text layer, page 1 is only the picture of a page.
      const doc = yield* Effect.promise(async () => {
        const out = await PDFDocument.create()
        const [first] = await out.copyPages(await PDFDocument.load(text.bytes), [0])
        out.addPage(first!)
        const page = out.addPage([300, 60])
        page.drawImage(await out.embedPng(image.png), { x: 0, y: 0, width: 300, height: 60 })
        return out.save()
      })
      const ocr = make()
      const results = yield* ocr.recognizePdf(doc, { dpi: 200 })
      expect(results).toHaveLength(1)
      expect(results[0]!.source).toEqual({ kind: "pdf", pageIndex: 1, pageCount: 2 })
      expect(cer("Scanned page 42", results[0]!.text)).toBeLessThanOrEqual(0.05)

      // A PNG whose chunks are intact but whose compressed image data is garbage: Tesseract cannot decode it.
      const png = Buffer.from(image.png)
      const { crc32 } = yield* Effect.promise(() => import("node:zlib"))
      const idat = png.indexOf("IDAT", 0, "latin1")
      const length = png.readUInt32BE(idat - 4)
      png.fill(0x55, idat + 4, idat + 4 + length)
      png.writeUInt32BE(crc32(png.subarray(idat, idat + 4 + length)), idat + 4 + length)
      const error = yield* Effect.flip(ocr.recognize({ bytes: new Uint8Array(png) }))
      expect(error._tag).toBe("OcrError")
      expect(error.reason).toBe("bad-image")
      expect(error.message).toMatch(/^Tesseract could not read the image/)
      // The worker survived: it still reads.
      expect((yield* ocr.recognize({ bytes: image.png })).text).toContain("42")
    }))
})
