/**
 * `doc.ocr` from the CLI: `trellis run` reads a scanned PDF (a page that is only a picture) from a local path,
 * renders and OCRs it; a second run in another process is answered by the store's result cache; a missing file
 * fails the run with the tool's message (corrupt input is covered without a process in service.test.ts).
 */
import { Effect } from "effect"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { renderPage } from "../../../src/documents/render.js"
import { runTrellis } from "../../support/cli.js"
import { cer, makeTextPdf, scannedPdf } from "./fixtures.js"

let dir: string

const PROGRAM = `program main(scan: string) {
  page = tool doc.ocr(path: scan, pageIndex: 0, dpi: 150)
  return { text: page.text, cached: page.cached, source: page.source }
}
`

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "trellis-ocr-cli-"))
  const text = await makeTextPdf([["Invoice 2291 paid"]], { size: 20, width: 300, height: 60, margin: 16 })
  const page = await Effect.runPromise(renderPage(text.bytes, 0, { dpi: 150 }))
  writeFileSync(join(dir, "scan.pdf"), await scannedPdf(page.png, 300, 60))
  writeFileSync(join(dir, "ocr.tr"), PROGRAM)
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const trellis = (scan: string, ...flags: ReadonlyArray<string>) =>
  runTrellis(["run", join(dir, "ocr.tr"), "--input", `scan=${join(dir, scan)}`, ...flags], {
    env: { ...process.env, TRELLIS_HOME: join(dir, "home"), TRELLIS_DATABASE_URL: "" },
    timeoutMs: 240_000
  })

describe("trellis run with doc.ocr", () => {
  it("reads a scanned page from a path; the second run is a cache hit from the store", async () => {
    const first = await trellis("scan.pdf")
    expect(first.stderr).toBe("")
    expect(first.code).toBe(0)
    const out = JSON.parse(first.stdout)
    expect(cer("Invoice 2291 paid", out.text)).toBeLessThanOrEqual(0.05)
    expect(out.cached).toBe(false)
    expect(out.source).toEqual({ kind: "pdf", pageIndex: 0, pageCount: 1 })
    const second = await trellis("scan.pdf")
    expect(second.code).toBe(0)
    expect(JSON.parse(second.stdout)).toEqual({ ...out, cached: true })
  }, 300_000)

  it("a missing file fails the run with the tool's message", async () => {
    const missing = await trellis("nope.pdf", "--memory")
    expect(missing.code).not.toBe(0)
    expect(missing.stderr + missing.stdout).toMatch(/path: cannot read .*nope\.pdf/)
  }, 300_000)
})
