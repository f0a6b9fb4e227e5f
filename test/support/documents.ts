/**
 * PDFs the document tests make with pdf-lib, with the geometry they were
 * drawn with (top-left origin, PDF units, like the extractor's output).
 */
import { PDFDocument, PDFName, PDFString, rgb, StandardFonts } from "pdf-lib"
import type { PDFFont, PDFPage } from "pdf-lib"

/** A box `[x0, y0, x1, y1]`, top-left origin. */
export type Box = readonly [number, number, number, number]

/** Helvetica's ascent and descent as pdf.js reports them (fractions of the size). */
const ASCENT = 0.718
const DESCENT = -0.207

/** Draws lines of text from a top y (baseline of the first line at top + ascent), returns the box drawn. */
const drawLines = (
  page: PDFPage,
  font: PDFFont,
  lines: ReadonlyArray<string>,
  x: number,
  top: number,
  size: number,
  leading = size * 1.3
): Box => {
  const H = page.getHeight()
  lines.forEach((line, i) => {
    const baseline = top + ASCENT * size + i * leading
    page.drawText(line, { x, y: H - baseline, size, font })
  })
  const w = Math.max(...lines.map((l) => font.widthOfTextAtSize(l, size)))
  const lastBaseline = top + ASCENT * size + (lines.length - 1) * leading
  return [x, top, x + w, lastBaseline - DESCENT * size]
}

const LEFT = [
  "Alpha column starts here with a long",
  "sentence about the left column text",
  "that keeps going down the page for a",
  "while before it ends at this line."
]
const RIGHT = [
  "Beta column is on the right side and",
  "it is read only after the whole left",
  "column has been read from the top to",
  "the bottom of that column of text."
]

/** A one-page PDF: a title, a paragraph, a list. */
export const knownTextPdf = async () => {
  const doc = await PDFDocument.create()
  const font = await doc.embedFont(StandardFonts.Helvetica)
  const bold = await doc.embedFont(StandardFonts.HelveticaBold)
  const page = doc.addPage([612, 792])
  const title = drawLines(page, bold, ["Quarterly Report on Wings"], 72, 72, 24)
  const paragraph = drawLines(
    page,
    font,
    [
      "The lift of a wing grows with the square of the airspeed and",
      "with the angle of attack until the flow separates at the stall."
    ],
    72,
    130,
    11
  )
  const list = drawLines(page, font, ["- first item of the list", "- second item of the list"], 72, 200, 11)
  return { bytes: await doc.save(), truth: { title, paragraph, list } }
}

/** A two-column page under a full-width title. */
export const twoColumnPdf = async () => {
  const doc = await PDFDocument.create()
  const font = await doc.embedFont(StandardFonts.Helvetica)
  const bold = await doc.embedFont(StandardFonts.HelveticaBold)
  const page = doc.addPage([612, 792])
  const title = drawLines(page, bold, ["A Study in Two Columns of Running Text"], 72, 72, 20)
  const left = drawLines(page, font, LEFT, 72, 130, 11)
  const right = drawLines(page, font, RIGHT, 320, 130, 11)
  return { bytes: await doc.save(), truth: { title, left, right }, left: LEFT, right: RIGHT }
}

/** The table drawn by `tablePdf`, as the grid it should come back as. */
export const TABLE_GRID = [
  ["Region", "Revenue", "Revenue", "Change"],
  ["", "2023", "2024", ""],
  ["North", "1,234", "1,500", "21.6%"],
  ["South", "(250)", "3,400.50", "-4%"],
  ["West", "$12", "1 000", "0%"]
] as const

/** A page with a caption paragraph and a table: a merged "Revenue" header over 2023 and 2024, numbers below. */
export const tablePdf = async () => {
  const doc = await PDFDocument.create()
  const font = await doc.embedFont(StandardFonts.Helvetica)
  const bold = await doc.embedFont(StandardFonts.HelveticaBold)
  const page = doc.addPage([612, 792])
  const H = page.getHeight()
  drawLines(page, font, ["Table 1 shows revenue by region for the two years of the study period."], 72, 72, 11)
  const colX = [72, 200, 290, 380] // left edges of columns
  const colRight = [150, 250, 340, 430] // right edges for right-aligned numbers
  const rowTop = (r: number) => 110 + r * 20
  const size = 10
  const text = (s: string, x: number, r: number, f: PDFFont) =>
    page.drawText(s, { x, y: H - (rowTop(r) + ASCENT * size), size, font: f })
  text("Region", colX[0]!, 0, bold)
  const revW = bold.widthOfTextAtSize("Revenue", size)
  text("Revenue", (colX[1]! + colRight[2]!) / 2 - revW / 2, 0, bold)
  text("Change", colRight[3]! - bold.widthOfTextAtSize("Change", size), 0, bold)
  text("2023", colRight[1]! - bold.widthOfTextAtSize("2023", size), 1, bold)
  text("2024", colRight[2]! - bold.widthOfTextAtSize("2024", size), 1, bold)
  for (let r = 2; r < TABLE_GRID.length; r++) {
    const row = TABLE_GRID[r]!
    text(row[0], colX[0]!, r, font)
    for (let c = 1; c < 4; c++) text(row[c]!, colRight[c]! - font.widthOfTextAtSize(row[c]!, size), r, font)
  }
  for (const y of [rowTop(0) - 3, rowTop(2) - 3, rowTop(TABLE_GRID.length) - 3]) {
    page.drawLine({ start: { x: 72, y: H - y }, end: { x: 430, y: H - y }, thickness: 0.5, color: rgb(0, 0, 0) })
  }
  const box: Box = [72, rowTop(0), 430, rowTop(TABLE_GRID.length - 1) + (ASCENT - DESCENT) * size]
  return { bytes: await doc.save(), truth: { table: box } }
}

/** Three pages, each with the same header and a numbered footer, and a paragraph. */
export const headerFooterPdf = async () => {
  const doc = await PDFDocument.create()
  const font = await doc.embedFont(StandardFonts.Helvetica)
  for (let i = 1; i <= 3; i++) {
    const page = doc.addPage([612, 792])
    drawLines(page, font, ["ACME Corp internal report"], 72, 30, 9)
    drawLines(page, font, [`Body text of page ${i} says something useful about topic number ${i}.`], 72, 120, 11)
    drawLines(page, font, [`Page ${i} of 3`], 280, 750, 9)
  }
  return { bytes: await doc.save() }
}

/** Page 1 with text, page 2 only an image (no text layer). */
export const imageOnlyPdf = async () => {
  const doc = await PDFDocument.create()
  const font = await doc.embedFont(StandardFonts.Helvetica)
  drawLines(doc.addPage([612, 792]), font, ["This page has a text layer."], 72, 72, 11)
  // A 2x2 RGB PNG.
  const png = Buffer.from(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP4z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==",
    "base64"
  )
  const image = await doc.embedPng(png)
  const page = doc.addPage([612, 792])
  page.drawImage(image, { x: 100, y: 300, width: 400, height: 300 })
  return { bytes: await doc.save(), figure: [100, 792 - 600, 500, 792 - 300] as Box }
}

/** Bytes that start like a PDF and then are garbage. */
export const corruptPdf = (): Uint8Array =>
  new TextEncoder().encode("%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R >>\nendobj\ngarbage\n%%EOF")

/** A PDF whose trailer names a standard security handler with a user password (not the empty one). */
export const encryptedPdf = async (): Promise<Uint8Array> => {
  const doc = await PDFDocument.create()
  const font = await doc.embedFont(StandardFonts.Helvetica)
  drawLines(doc.addPage([612, 792]), font, ["secret"], 72, 72, 11)
  const pad = (c: string) => PDFString.of(c.repeat(32))
  const encrypt = doc.context.obj({
    Filter: PDFName.of("Standard"),
    V: 1,
    R: 2,
    O: pad("O"),
    U: pad("U"),
    P: -44
  })
  const ref = doc.context.register(encrypt)
  doc.context.trailerInfo.Encrypt = ref
  doc.context.trailerInfo.ID = doc.context.obj([PDFString.of("0123456789abcdef"), PDFString.of("0123456789abcdef")])
  return doc.save({ useObjectStreams: false })
}
