/**
 * `trellis eval documents` on a folder with a text PDF and a scanned one (an image-only page): the scanned page is
 * rendered and read by OCR inside the command and scored from the OCR text, reported per page with its source and
 * in the aggregate; a second run is answered by the store's result cache (when the store cannot be opened, OCR
 * runs uncached, with a note). Without the OCR packages (mupdf and tesseract.js hidden by the lean tests' module
 * hook), the text page is still scored and the scanned one is reported as skipped, in one line naming what to
 * install.
 */
import { Effect } from "effect"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { renderPage } from "../../../src/documents/render.js"
import { bin, runNode, runTrellis } from "../../support/cli.js"
import { makeTextPdf, scannedPdf } from "./fixtures.js"

let dir: string
let data: string

const SCANNED = "Invoice 2291 paid"
const TYPED = "Seven red kites"

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "trellis-ocr-eval-"))
  data = join(dir, "data")
  const small = { size: 20, width: 300, height: 60, margin: 16 }
  const typed = await makeTextPdf([[TYPED]], small)
  const scan = await makeTextPdf([[SCANNED]], small)
  const page = await Effect.runPromise(renderPage(scan.bytes, 0, { dpi: 150 }))
  mkdirSync(data)
  writeFileSync(join(data, "typed.pdf"), typed.bytes)
  writeFileSync(join(data, "typed.json"), JSON.stringify({ pages: [{ page: 1, text: TYPED }] }))
  writeFileSync(join(data, "scan.pdf"), await scannedPdf(page.png, 300, 60))
  writeFileSync(join(data, "scan.json"), JSON.stringify({ pages: [{ page: 1, text: SCANNED }] }))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const envOf = (home: string, extra: NodeJS.ProcessEnv = {}) => ({
  ...process.env,
  TRELLIS_HOME: join(dir, home),
  TRELLIS_DATABASE_URL: "",
  ...extra
})

interface Scores {
  readonly text: {
    readonly cer: number
    readonly pages: number
    readonly textLayer: { readonly cer: number; readonly pages: number }
    readonly ocr: { readonly cer: number; readonly pages: number }
    readonly perPage: ReadonlyArray<
      { document: string; page: number; source: string; cer: number; wer: number; cached?: boolean }
    >
    readonly skipped: ReadonlyArray<unknown>
    readonly missingPackages: ReadonlyArray<string>
  }
}

describe("trellis eval documents with scanned pages", () => {
  it("OCRs the scanned page, scores it from the OCR text, and caches the result in the store", async () => {
    const first = await runTrellis(["eval", "documents", "--data", data, "--json"], {
      env: envOf("home"),
      timeoutMs: 240_000
    })
    expect(first.stderr).toBe("")
    expect(first.code).toBe(0)
    const scores = JSON.parse(first.stdout) as Scores
    const [scan, typed] = scores.text.perPage
    expect(scores.text.perPage).toHaveLength(2)
    expect(scan).toMatchObject({ document: "scan.pdf", page: 1, source: "ocr", cached: false })
    expect(scan!.cer).toBeLessThanOrEqual(0.05)
    expect(typed).toEqual({ document: "typed.pdf", page: 1, source: "text-layer", cer: 0, wer: 0 })
    expect(scores.text.pages).toBe(2)
    expect(scores.text.ocr).toMatchObject({ pages: 1, cer: scan!.cer })
    expect(scores.text.textLayer).toEqual({ cer: 0, wer: 0, pages: 1 })
    expect(scores.text.cer).toBeCloseTo(scan!.cer / 2, 4)
    expect(scores.text.skipped).toEqual([])
    expect(scores.text.missingPackages).toEqual([])

    // Another process on the same store: the OCR result comes from the result cache.
    const second = await runTrellis(["eval", "documents", "--data", data], { env: envOf("home"), timeoutMs: 240_000 })
    expect(second.stderr).toBe("")
    expect(second.code).toBe(0)
    expect(second.stdout).toContain("text: CER ")
    expect(second.stdout).toMatch(/^ {2}OCR: CER \d\.\d{4} {2}WER \d\.\d{4} {2}\(1 page\)$/m)
    expect(second.stdout).toMatch(/^ {2}scan\.pdf page 1 \(OCR, cached\): CER /m)
    expect(second.stdout).toContain("  typed.pdf page 1 (text layer): CER 0.0000  WER 0.0000\n")
  }, 300_000)

  it("a store that cannot be opened: OCR runs uncached, with a note", async () => {
    const ran = await runTrellis(["eval", "documents", "--data", data, "--json"], {
      env: envOf("unused-home", { TRELLIS_DATABASE_URL: "postgres://postgres@127.0.0.1:1/none" }),
      timeoutMs: 240_000
    })
    expect(ran.code).toBe(0)
    expect(ran.stderr).toMatch(/^note: OCR results are not cached \(cannot open the store: .*127\.0\.0\.1:1.*\)\n$/)
    const scores = JSON.parse(ran.stdout) as Scores
    expect(scores.text.perPage[0]).toMatchObject({ document: "scan.pdf", source: "ocr", cached: false })
    expect(scores.text.perPage[0]!.cer).toBeLessThanOrEqual(0.05)
  }, 300_000)

  it("without the OCR packages: the text page is scored, the scanned one skipped with what to install", async () => {
    const ran = await runNode(
      [
        "--import",
        join(import.meta.dirname, "fixtures", "hideOptional.mjs"),
        bin,
        "eval",
        "documents",
        "--data",
        data
      ],
      { env: envOf("lean-home", { HIDE_PACKAGES: "mupdf,tesseract.js" }), timeoutMs: 120_000 }
    )
    expect(ran.stderr).toBe("")
    expect(ran.code).toBe(0)
    const lines = ran.stdout.split("\n")
    expect(lines).toContain("text: CER 0.0000  WER 0.0000  (1 page)")
    expect(lines).toContain("  typed.pdf page 1 (text layer): CER 0.0000  WER 0.0000")
    expect(lines.filter((l) => l.includes("scan.pdf"))).toEqual([
      "text: 1 page without a text layer skipped (scan.pdf page 1): " +
      "rendering PDF pages needs the optional package mupdf: npm install --save-exact mupdf@1.28.1; " +
      "OCR with Tesseract needs the optional package tesseract.js: npm install --save-exact tesseract.js@7.0.0"
    ])
  }, 150_000)
})
