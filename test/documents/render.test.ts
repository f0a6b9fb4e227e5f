import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { hasTextLayer, pageCount, renderPage } from "../../src/documents/render.js"
import { encrypt, makeTextPdf, scannedPdf } from "./ocr/fixtures.js"

const pngSize = (png: Uint8Array) => {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength)
  return { width: view.getUint32(16), height: view.getUint32(20) }
}

describe("renderPage", () => {
  it.effect("renders a page to a PNG of the page's size at the given dpi", () =>
    Effect.gen(function*() {
      const small = { size: 12, width: 144, height: 108, margin: 8 }
      const pdf = yield* Effect.promise(() => makeTextPdf([["Hello"], ["Second page"]], small))
      expect(yield* pageCount(pdf.bytes)).toBe(2)
      const page = yield* renderPage(pdf.bytes, 1, { dpi: 100 })
      expect([...page.png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
      // 144 × 108 points at 100/72 pixels per point.
      expect(pngSize(page.png)).toEqual({ width: 200, height: 150 })
      expect(page).toMatchObject({ width: 200, height: 150, dpi: 100, pageIndex: 1, pageCount: 2 })
      expect([page.pageWidth, page.pageHeight]).toEqual([144, 108])
      // The default is 200 dpi.
      expect((yield* renderPage(pdf.bytes, 0)).width).toBe(400)
    }))

  it.effect("draws the text: dark pixels where the text is, none on a blank page", () =>
    Effect.gen(function*() {
      const pdf = yield* Effect.promise(() => makeTextPdf([["WWWWWWWW"], []], 48))
      const mupdf = yield* Effect.promise(() => import("mupdf"))
      const dark = (png: Uint8Array) => {
        const pix = new mupdf.Image(png).toPixmap()
        const samples = pix.getPixels()
        let n = 0
        for (let i = 0; i < samples.length; i += pix.getNumberOfComponents()) if (samples[i]! < 128) n++
        return n
      }
      expect(dark((yield* renderPage(pdf.bytes, 0, { dpi: 72 })).png)).toBeGreaterThan(1000)
      expect(dark((yield* renderPage(pdf.bytes, 1, { dpi: 72 })).png)).toBe(0)
    }))

  it.effect("refuses a page index out of range, with the page count", () =>
    Effect.gen(function*() {
      const pdf = yield* Effect.promise(() => makeTextPdf([["a"], ["b"]]))
      const error = yield* Effect.flip(renderPage(pdf.bytes, 2))
      expect(error).toMatchObject({
        _tag: "RenderError",
        reason: "page-out-of-range",
        pageIndex: 2,
        message: "page index 2 is out of range: the PDF has 2 pages (indices 0–1)"
      })
      expect((yield* Effect.flip(renderPage(pdf.bytes, -1))).reason).toBe("page-out-of-range")
      expect((yield* Effect.flip(renderPage(pdf.bytes, 0.5))).reason).toBe("page-out-of-range")
    }))

  it.effect("refuses corrupt and truncated PDFs and non-PDF data", () =>
    Effect.gen(function*() {
      const pdf = yield* Effect.promise(() => makeTextPdf([["Hello world"]]))
      for (
        const bad of [
          new Uint8Array([1, 2, 3]),
          new TextEncoder().encode("%PDF-1.7\nthis is not a PDF at all"),
          pdf.bytes.slice(0, 60),
          new Uint8Array(0)
        ]
      ) {
        const error = yield* Effect.flip(renderPage(bad, 0))
        expect(error._tag).toBe("RenderError")
        expect(error.reason).toBe("corrupt")
      }
      // A PDF cut after its first objects is repaired by MuPDF (as viewers do) and says so.
      expect((yield* renderPage(pdf.bytes.slice(0, 400), 0, { dpi: 36 })).repaired).toBe(true)
      expect((yield* renderPage(pdf.bytes, 0, { dpi: 36 })).repaired).toBe(false)
      expect((yield* Effect.flip(renderPage(new Uint8Array([1, 2, 3]), 0))).message).toBe(
        "not a PDF: the data does not start with %PDF-"
      )
    }))

  it.effect("refuses an encrypted PDF without its password and renders it with the password", () =>
    Effect.gen(function*() {
      const pdf = yield* Effect.promise(() =>
        makeTextPdf([["Secret"]], { size: 12, width: 144, height: 72, margin: 8 })
      )
      const locked = encrypt(pdf.bytes, "s3cret")
      expect(yield* Effect.flip(renderPage(locked, 0))).toMatchObject({
        reason: "encrypted",
        message: "the PDF is encrypted: give its password"
      })
      expect((yield* Effect.flip(renderPage(locked, 0, { password: "wrong" }))).message).toBe(
        "the PDF is encrypted and the password is wrong"
      )
      expect((yield* renderPage(locked, 0, { password: "s3cret", dpi: 72 })).width).toBe(144)
    }))

  it.effect("refuses a dpi out of range", () =>
    Effect.gen(function*() {
      const pdf = yield* Effect.promise(() => makeTextPdf([["a"]]))
      expect(yield* Effect.flip(renderPage(pdf.bytes, 0, { dpi: 5000 }))).toMatchObject({
        reason: "bad-options",
        message: "dpi must be between 36 and 600, got 5000"
      })
    }))
})

describe("hasTextLayer", () => {
  it.effect("is true for a page with text, false for a blank page and for a scan", () =>
    Effect.gen(function*() {
      const pdf = yield* Effect.promise(() => makeTextPdf([["Some text"], []]))
      expect(yield* hasTextLayer(pdf.bytes, 0)).toBe(true)
      expect(yield* hasTextLayer(pdf.bytes, 1)).toBe(false)
      const page = yield* renderPage(pdf.bytes, 0, { dpi: 72 })
      const scan = yield* Effect.promise(() => scannedPdf(page.png, 612, 792))
      expect(yield* hasTextLayer(scan, 0)).toBe(false)
      expect((yield* Effect.flip(hasTextLayer(scan, 1))).reason).toBe("page-out-of-range")
    }))
})
