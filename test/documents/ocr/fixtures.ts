/**
 * Documents the OCR and rendering tests make: PDFs written with pdf-lib with known text at known positions (the
 * ground truth, in PDF points with the origin at the top left, y down, as OCR boxes are given), an encrypted copy
 * (MuPDF writes the encryption; pdf-lib cannot), and corrupt bytes.
 */
import * as mupdf from "mupdf"
import { crc32, deflateSync } from "node:zlib"
import { PDFDocument, rgb, StandardFonts } from "pdf-lib"

/** A word drawn on a page and its box `[x0, y0, x1, y1]` in points (top-left origin). */
export interface TruthWord {
  readonly text: string
  readonly box: readonly [number, number, number, number]
}

/** A generated PDF and what it shows. */
export interface GeneratedPdf {
  readonly bytes: Uint8Array
  /** Per page: the lines of text as drawn. */
  readonly lines: ReadonlyArray<ReadonlyArray<string>>
  /** Per page: every word with its box. */
  readonly words: ReadonlyArray<ReadonlyArray<TruthWord>>
  readonly pageWidth: number
  readonly pageHeight: number
}

/** Options of `makeTextPdf`. */
export interface TextPdfOptions {
  /** Font size in points. @default 24 */
  readonly size?: number
  /** Page size in points. @default US Letter, 612 × 792 */
  readonly width?: number
  readonly height?: number
  /** Left and top margin in points. @default 72 */
  readonly margin?: number
}

/**
 * A PDF with one page per entry of `pages` (lines of text in Helvetica, 1.6 line spacing); an empty entry makes a
 * blank page.
 */
export const makeTextPdf = async (
  pages: ReadonlyArray<ReadonlyArray<string>>,
  options: TextPdfOptions | number = {}
): Promise<GeneratedPdf> => {
  const o = typeof options === "number" ? { size: options } : options
  const size = o.size ?? 24
  const WIDTH = o.width ?? 612
  const HEIGHT = o.height ?? 792
  const margin = o.margin ?? 72
  const pdf = await PDFDocument.create()
  const font = await pdf.embedFont(StandardFonts.Helvetica)
  const ascent = font.heightAtSize(size, { descender: false })
  const full = font.heightAtSize(size)
  const words: Array<Array<TruthWord>> = []
  for (const lines of pages) {
    const page = pdf.addPage([WIDTH, HEIGHT])
    const pageWords: Array<TruthWord> = []
    lines.forEach((line, i) => {
      const baseline = HEIGHT - margin - ascent - i * size * 1.6
      page.drawText(line, { x: margin, y: baseline, size, font, color: rgb(0, 0, 0) })
      let offset = 0
      for (const part of line.split(/(\s+)/)) {
        const w = font.widthOfTextAtSize(part, size)
        if (part.trim() !== "") {
          const top = HEIGHT - (baseline + ascent)
          pageWords.push({ text: part, box: [margin + offset, top, margin + offset + w, top + full] })
        }
        offset += w
      }
    })
    words.push(pageWords)
  }
  return { bytes: await pdf.save(), lines: pages, words, pageWidth: WIDTH, pageHeight: HEIGHT }
}

/** The same PDF encrypted (AES-256) with a user password. */
export const encrypt = (bytes: Uint8Array, password: string): Uint8Array => {
  const doc = mupdf.Document.openDocument(bytes, "application/pdf").asPDF()!
  const out = doc.saveToBuffer(`encrypt=aes-256,user-password=${password},owner-password=${password}-owner`)
  return out.asUint8Array().slice()
}

/** An image-only PDF (a scan): one page of `widthPt` × `heightPt` points showing `png`, with no text layer. */
export const scannedPdf = async (png: Uint8Array, widthPt: number, heightPt: number): Promise<Uint8Array> => {
  const pdf = await PDFDocument.create()
  const page = pdf.addPage([widthPt, heightPt])
  const image = await pdf.embedPng(png)
  page.drawImage(image, { x: 0, y: 0, width: widthPt, height: heightPt })
  return pdf.save()
}

/** Intersection over union of two boxes `[x0, y0, x1, y1]`. */
export const iou = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): number => {
  const [ax0, ay0, ax1, ay1] = a as [number, number, number, number]
  const [bx0, by0, bx1, by1] = b as [number, number, number, number]
  const w = Math.max(0, Math.min(ax1, bx1) - Math.max(ax0, bx0))
  const h = Math.max(0, Math.min(ay1, by1) - Math.max(ay0, by0))
  const inter = w * h
  const union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter
  return union > 0 ? inter / union : 0
}

/** Levenshtein distance over code points. */
const levenshtein = (a: ReadonlyArray<string>, b: ReadonlyArray<string>): number => {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = cur
  }
  return prev[b.length]!
}

/**
 * Character error rate: edit distance / reference length, both texts with runs of whitespace folded to one space
 * and trimmed. (A private helper: the documents metrics module is being written alongside.)
 */
export const cer = (reference: string, hypothesis: string): number => {
  const fold = (s: string) => [...s.replace(/\s+/g, " ").trim()]
  const ref = fold(reference)
  return ref.length === 0 ? (fold(hypothesis).length === 0 ? 0 : 1) : levenshtein(ref, fold(hypothesis)) / ref.length
}

const chunk = (type: string, data: Uint8Array): Buffer => {
  const head = Buffer.alloc(8)
  head.writeUInt32BE(data.length, 0)
  head.write(type, 4, "latin1")
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0)
  return Buffer.concat([head, data, crc])
}

/** A white grayscale PNG of `width` × `height`, optionally recording `dpi` in pHYs. */
export const whitePng = (width: number, height: number, dpi?: number): Uint8Array => {
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr[8] = 8 // bit depth
  ihdr[9] = 0 // grayscale
  const rows = Buffer.alloc((width + 1) * height, 0xff)
  for (let y = 0; y < height; y++) rows[y * (width + 1)] = 0
  const parts = [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr)]
  if (dpi !== undefined) {
    const phys = Buffer.alloc(9)
    const ppm = Math.round(dpi / 0.0254)
    phys.writeUInt32BE(ppm, 0)
    phys.writeUInt32BE(ppm, 4)
    phys[8] = 1
    parts.push(chunk("pHYs", phys))
  }
  parts.push(chunk("IDAT", deflateSync(rows)), chunk("IEND", new Uint8Array(0)))
  return new Uint8Array(Buffer.concat(parts))
}
