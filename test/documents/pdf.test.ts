/**
 * PDF text with geometry, reading order, layout, tables and errors, on PDFs
 * the tests draw with pdf-lib (test/support/documents.ts) and read with pdf.js.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { columnNames, tableToCsv, tableToJson } from "../../src/documents/csv.js"
import { DocumentError } from "../../src/documents/errors.js"
import { extractPdf, extractPdfBytes } from "../../src/documents/extract.js"
import { cellAccuracy, detectionScore, iou } from "../../src/documents/metrics.js"
import { importOptional } from "../../src/documents/pdfjs.js"
import { DocumentFileAccess } from "../../src/documents/source.js"
import { docPdf } from "../../src/documents/tool.js"
import { normalizeText } from "../../src/retrieval/textNormalize.js"
import { invoke } from "../../src/tools/tool.js"
import {
  corruptPdf,
  encryptedPdf,
  headerFooterPdf,
  imageOnlyPdf,
  knownTextPdf,
  TABLE_GRID,
  tablePdf,
  twoColumnPdf
} from "../support/documents.js"

const read = (bytes: Uint8Array) => extractPdfBytes(bytes)
const readingText = (page: { spans: ReadonlyArray<{ text: string; order: number }> }) =>
  [...page.spans].sort((a, b) => a.order - b.order).map((s) => s.text)

describe("text with geometry", () => {
  it.effect("spans carry text, boxes (top-left origin), fonts and sizes; blocks match the drawn geometry", () =>
    Effect.gen(function*() {
      const { bytes, truth } = yield* Effect.promise(knownTextPdf)
      const e = yield* read(bytes)
      const page = e.pages[0]!
      expect(e.pageCount).toBe(1)
      expect([page.width, page.height]).toEqual([612, 792])
      expect(page.needsOcr).toBe(false)
      const title = page.spans.find((s) => s.text === "Quarterly Report on Wings")!
      expect(title.font).toBe("Helvetica-Bold")
      expect(title.size).toBe(24)
      expect(title.order).toBe(0)
      expect(iou(title.box, truth.title)).toBeGreaterThan(0.95)
      expect(page.blocks.map((b) => b.kind)).toEqual(["title", "paragraph", "list"])
      const score = detectionScore(page.blocks, [
        { kind: "title", box: truth.title },
        { kind: "paragraph", box: truth.paragraph },
        { kind: "list", box: truth.list }
      ], { threshold: 0.9, sameKind: true })
      expect(score.precision).toBe(1)
      expect(score.recall).toBe(1)
      expect(score.meanIou).toBeGreaterThan(0.95)
      expect(e.document.title).toBe("Quarterly Report on Wings")
    }))

  it.effect("a two-column page reads the left column, then the right, under the full-width title", () =>
    Effect.gen(function*() {
      const { bytes, truth, left, right } = yield* Effect.promise(twoColumnPdf)
      const page = (yield* read(bytes)).pages[0]!
      expect(page.columns).toBe(2)
      expect(readingText(page)).toEqual(["A Study in Two Columns of Running Text", ...left, ...right])
      expect(page.blocks.map((b) => b.kind)).toEqual(["title", "paragraph", "paragraph"])
      const score = detectionScore(page.blocks, [
        { kind: "title", box: truth.title },
        { kind: "paragraph", box: truth.left },
        { kind: "paragraph", box: truth.right }
      ], { threshold: 0.9, sameKind: true })
      expect(score.recall).toBe(1)
    }))

  it.effect("repeated margin text is header and footer on every page and stays out of the retrieval text", () =>
    Effect.gen(function*() {
      const { bytes } = yield* Effect.promise(headerFooterPdf)
      const e = yield* read(bytes)
      for (const page of e.pages) {
        expect(page.blocks.map((b) => b.kind)).toEqual(["header", "paragraph", "footer"])
        expect(page.blocks[2]!.text).toBe(`Page ${page.page} of 3`)
      }
      expect(e.document.text).not.toContain("ACME")
      expect(e.document.text).not.toContain("of 3")
      expect(e.document.metadata.regions.map((r) => r[2])).toEqual([1, 2, 3])
    }))

  it.effect("a page with only an image needs OCR and is one figure block", () =>
    Effect.gen(function*() {
      const { bytes, figure } = yield* Effect.promise(imageOnlyPdf)
      const e = yield* read(bytes)
      expect(e.needsOcr).toEqual([2])
      expect(e.pages.map((p) => p.needsOcr)).toEqual([false, true])
      const blocks = e.pages[1]!.blocks
      expect(blocks.map((b) => b.kind)).toEqual(["figure"])
      expect(iou(blocks[0]!.box, figure)).toBeGreaterThan(0.99)
    }))

  it.effect("the retrieval document is normalized text whose regions cite page and box of each block", () =>
    Effect.gen(function*() {
      const { bytes } = yield* Effect.promise(knownTextPdf)
      const e = yield* read(bytes)
      const { text, metadata } = e.document
      expect(normalizeText(text)).toBe(text)
      const blocks = e.pages[0]!.blocks
      expect(metadata.regions).toHaveLength(blocks.length)
      metadata.regions.forEach((r, i) => {
        expect(text.slice(r[0], r[1])).toBe(normalizeText(blocks[i]!.text))
        expect(r.slice(2)).toEqual([1, ...blocks[i]!.box])
      })
    }))

  it.effect("pages: only the pages asked for; a page that does not exist is bad input", () =>
    Effect.gen(function*() {
      const { bytes } = yield* Effect.promise(headerFooterPdf)
      const e = yield* extractPdfBytes(bytes, { pages: [2] })
      expect(e.pages.map((p) => p.page)).toEqual([2])
      expect(e.pageCount).toBe(3)
      const error = yield* Effect.flip(extractPdfBytes(bytes, { pages: [4] }))
      expect(error).toMatchObject({
        reason: "bad-input",
        location: "pages",
        message: "there is no page 4: the PDF has 3 pages"
      })
    }))
})

describe("tables", () => {
  it.effect("cells come back exactly: merged header, header rows, numbers parsed", () =>
    Effect.gen(function*() {
      const { bytes, truth } = yield* Effect.promise(tablePdf)
      const e = yield* read(bytes)
      const page = e.pages[0]!
      expect(page.tables).toHaveLength(1)
      const table = page.tables[0]!
      // A merged cell fills every position it covers: Region and Change span both header rows.
      const expected: Array<Array<string>> = TABLE_GRID.map((row, r) =>
        row.map((t, c) => (r === 1 && t === "" ? TABLE_GRID[0][c]! : t))
      )
      expect(table.grid).toEqual(expected)
      expect(cellAccuracy(expected, table.grid)).toBe(1)
      expect([table.rows, table.columns, table.headerRows]).toEqual([5, 4, 2])
      expect(table.cells.find((c) => c.text === "Revenue")).toMatchObject({
        row: 0,
        column: 1,
        colSpan: 2,
        rowSpan: 1,
        header: true
      })
      expect(table.cells.find((c) => c.text === "Region")).toMatchObject({ row: 0, column: 0, colSpan: 1, rowSpan: 2 })
      const number = (t: string) => table.cells.find((c) => c.text === t)!.number
      expect(number("1,234")).toEqual({ value: 1234, unit: null })
      expect(number("(250)")).toEqual({ value: -250, unit: null })
      expect(number("3,400.50")).toEqual({ value: 3400.5, unit: null })
      expect(number("21.6%")).toEqual({ value: 21.6, unit: "%" })
      expect(number("-4%")).toEqual({ value: -4, unit: "%" })
      expect(number("$12")).toEqual({ value: 12, unit: "$" })
      expect(number("1 000")).toEqual({ value: 1000, unit: null })
      expect(number("North")).toBeNull()
      expect(iou(table.box, truth.table)).toBeGreaterThan(0.95)
      expect(page.blocks.map((b) => b.kind)).toEqual(["paragraph", "table"])
      expect(columnNames(table)).toEqual(["Region", "Revenue / 2023", "Revenue / 2024", "Change"])
      expect(tableToJson(table)[1]).toEqual({
        Region: "South",
        "Revenue / 2023": -250,
        "Revenue / 2024": 3400.5,
        Change: "-4%"
      })
      expect(tableToCsv(table).split("\r\n")[2]).toBe("North,\"1,234\",\"1,500\",21.6%")
      const fact = e.facts.find((f) => f.text === "3,400.50")!
      expect(fact).toMatchObject({
        subject: "South",
        attribute: "Revenue / 2024",
        value: 3400.5,
        page: 1,
        table: table.id
      })
      expect(e.facts).toHaveLength(9)
    }))
})

describe("errors", () => {
  it.effect("a corrupt PDF is a corrupt DocumentError, an encrypted one an encrypted DocumentError", () =>
    Effect.gen(function*() {
      const corrupt = yield* Effect.flip(read(corruptPdf()))
      expect(corrupt).toBeInstanceOf(DocumentError)
      expect(corrupt.reason).toBe("corrupt")
      const encrypted = yield* Effect.flip(read(yield* Effect.promise(encryptedPdf)))
      expect(encrypted).toMatchObject({
        reason: "encrypted",
        message: "the PDF is encrypted with a password; decrypt it first"
      })
      const empty = yield* Effect.flip(read(new Uint8Array()))
      expect(empty.reason).toBe("corrupt")
    }))

  it.effect("input: exactly one source; base64 must be base64", () =>
    Effect.gen(function*() {
      expect(yield* Effect.flip(extractPdf({}))).toMatchObject({
        reason: "bad-input",
        message: "give exactly one of path, url or base64 (got 0)"
      })
      expect(yield* Effect.flip(extractPdf({ base64: "AAAA", url: "http://x" }))).toMatchObject({ reason: "bad-input" })
      expect(yield* Effect.flip(extractPdf({ base64: "not base64!" }))).toMatchObject({
        reason: "bad-input",
        location: "base64"
      })
    }))
})

describe("doc.pdf", () => {
  it.effect("base64 in, the evidence package out; bad PDFs are Permanent with the reason", () =>
    Effect.gen(function*() {
      const { bytes } = yield* Effect.promise(tablePdf)
      const out = (yield* invoke(docPdf, { base64: Buffer.from(bytes).toString("base64"), id: "report" })) as {
        id: string
        tables: ReadonlyArray<unknown>
        document: { id: string }
      }
      expect(out.id).toBe("report")
      expect(out.document.id).toBe("report")
      expect(out.tables).toHaveLength(1)
      const bad = yield* Effect.flip(invoke(docPdf, { base64: Buffer.from(corruptPdf()).toString("base64") }))
      expect(bad._tag).toBe("Permanent")
      expect(bad.message).toMatch(/^doc\.pdf: not a readable PDF/)
    }))

  it.effect("path is refused unless local files are allowed (the CLI allows them)", () =>
    Effect.gen(function*() {
      const { bytes } = yield* Effect.promise(knownTextPdf)
      const dir = mkdtempSync(join(tmpdir(), "trellis-pdf-"))
      const path = join(dir, "known.pdf")
      writeFileSync(path, bytes)
      const refused = yield* Effect.flip(invoke(docPdf, { path }))
      expect(refused).toMatchObject({
        _tag: "Permanent",
        message:
          "doc.pdf: path: reading local files is refused here (it is allowed under the CLI); pass `url` or `base64`"
      })
      const allowed = yield* invoke(docPdf, { path }).pipe(Effect.provideService(DocumentFileAccess, { allowed: true }))
      expect((allowed as { source: string }).source).toBe(path)
      const missing = yield* Effect.either(
        invoke(docPdf, { path: join(dir, "nope.pdf") }).pipe(
          Effect.provideService(DocumentFileAccess, { allowed: true })
        )
      )
      expect(Either.isLeft(missing) && missing.left.message).toMatch(/nope\.pdf: cannot read the file/)
    }))
})

describe("optional packages", () => {
  it.effect("a package that cannot be imported is one missing-package error naming what to install", () =>
    Effect.gen(function*() {
      const missing = "trellis-no-such-package-for-tests"
      const e = yield* Effect.flip(
        importOptional(() => import(/* @vite-ignore */ missing), "pdfjs-dist", "5.6.205", "reading PDFs")
      )
      expect(e).toBeInstanceOf(DocumentError)
      expect(e.reason).toBe("missing-package")
      expect(e.message).toMatch(
        /^reading PDFs needs the optional package pdfjs-dist: install it with `npm install pdfjs-dist@5\.6\.205` \(or the full install, see docs\/documents\.md\) \(.*trellis-no-such-package-for-tests/
      )
    }))
})
