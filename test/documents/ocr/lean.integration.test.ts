/**
 * A lean install: with mupdf and tesseract.js not importable (a module hook stands in for their absence),
 * rendering and OCR fail with one typed error naming the command that installs the package — no crash, no stack.
 */
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { runNode } from "../../support/cli.js"

const here = import.meta.dirname

describe("without the optional packages", () => {
  it("rendering and OCR fail with missing-package errors naming the install command", async () => {
    const ran = await runNode(
      ["--import", join(here, "fixtures", "hideOptional.mjs"), "--import", "tsx", join(here, "fixtures", "leanOcr.ts")],
      { timeoutMs: 120_000 }
    )
    expect(ran.stderr).toBe("")
    expect(ran.code).toBe(0)
    expect(ran.stdout.trim().split("\n").map((l) => JSON.parse(l))).toEqual([
      {
        tag: "RenderError",
        reason: "missing-package",
        message: "rendering PDF pages needs the optional package mupdf: npm install --save-exact mupdf@1.28.1"
      },
      {
        tag: "OcrError",
        reason: "missing-package",
        message:
          "OCR with Tesseract needs the optional package tesseract.js: npm install --save-exact tesseract.js@7.0.0"
      }
    ])
  }, 150_000)
})
