/**
 * The server starts without the optional packages (issue 23, item 6): `trellis serve` as a real process with every
 * optional dependency hidden (the module hook of the lean test, for the whole of package.json's
 * `optionalDependencies`: pdfjs-dist, mupdf, tesseract.js, onnxruntime-node, …), on an embedded store in a temporary
 * home. It answers `/healthz`, completes a run that uses no document tool, fails a `doc.pdf` run and a `doc.ocr` run
 * with the tool's missing-package message (a failed run, not a 500, and the server keeps serving), then stops on
 * SIGTERM with exit 0.
 */
import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { root } from "../../support/cli.js"
import { call, waitEnded } from "../../support/server.js"
import { whitePng } from "./fixtures.js"

const home = mkdtempSync(join(tmpdir(), "trellis-lean-serve-"))
let child: ChildProcess | undefined
let url = ""
let output = ""

beforeAll(async () => {
  const started = spawn(
    process.execPath,
    [
      "--import",
      join(import.meta.dirname, "fixtures", "hideOptional.mjs"),
      join(root, "bin", "trellis.mjs"),
      "serve",
      "--port",
      "0"
    ],
    {
      cwd: root,
      env: { ...process.env, TRELLIS_HOME: home, TRELLIS_DATABASE_URL: "", TRELLIS_API_KEYS: "", TRELLIS_CONFIG: "" },
      stdio: ["ignore", "pipe", "pipe"]
    }
  )
  child = started
  url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${output}`)), 90_000)
    const onData = (d: Buffer) => {
      output += d.toString("utf8")
      const m = /listening on (http:\/\/[^\s]+)/.exec(output)
      if (m !== null) {
        clearTimeout(timer)
        resolve(m[1]!)
      }
    }
    started.stdout.on("data", onData)
    started.stderr.on("data", onData)
    started.on("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`serve exited with ${code} before listening: ${output}`))
    })
  })
}, 120_000)

afterAll(() => {
  if (child !== undefined && child.exitCode === null) child.kill("SIGKILL")
  rmSync(home, { recursive: true, force: true })
})

const submit = async (source: string) => {
  const r = await call(url, "/v1/runs", { method: "POST", body: JSON.stringify({ source }) })
  expect(r.status).toBe(202)
  return ((await r.json()) as { runId: string }).runId
}

describe("trellis serve without the optional packages", () => {
  it("serves runs; document tools fail with what to install; stops cleanly", async () => {
    const health = await call(url, "/healthz")
    expect(health.status).toBe(200)
    expect(await health.json()).toMatchObject({ status: "ok" })

    const plain = await submit(`program main() { g = tool std.echo(value: "lean") return { g: g, n: 1 + 2 } }`)
    expect(await waitEnded(url, plain)).toMatchObject({ status: "completed", output: { g: "lean", n: 3 } })

    // The bytes are never parsed: pdf.js is missing, and that is the error.
    const pdf = await submit(`program main() { d = tool doc.pdf(base64: "JVBERi0xLjQK") return d.pageCount }`)
    const pdfRun = await waitEnded(url, pdf)
    expect(pdfRun).toMatchObject({ status: "failed", error: { kind: "Permanent" } })
    expect((pdfRun.error as { message: string }).message).toMatch(
      /^doc\.pdf: reading PDFs needs the optional package pdfjs-dist: install it with `npm install pdfjs-dist@5\.6\.205`/
    )

    const png = Buffer.from(whitePng(8, 8)).toString("base64")
    const ocr = await submit(`program main() { p = tool doc.ocr(base64: "${png}") return p.text }`)
    const ocrRun = await waitEnded(url, ocr)
    expect(ocrRun).toMatchObject({
      status: "failed",
      error: {
        kind: "Permanent",
        message:
          "OCR with Tesseract needs the optional package tesseract.js: npm install --save-exact tesseract.js@7.0.0"
      }
    })

    // Still serving after the failures.
    expect((await call(url, "/healthz")).status).toBe(200)
    const exited = new Promise<number | null>((resolve) => child!.on("exit", (code) => resolve(code)))
    child!.kill("SIGTERM")
    expect(await exited).toBe(0)
    expect(output).not.toMatch(/Cannot find package|ERR_MODULE_NOT_FOUND/)
  }, 60_000)
})
