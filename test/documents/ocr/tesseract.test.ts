/**
 * The Tesseract backend's settings, without starting a worker: the language data comes from an installed
 * `@tesseract.js-data/<lang>` package, and a language whose package is missing is one typed error naming the
 * command that installs it (the same path a missing tesseract.js takes).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { tesseractBackend } from "../../../src/documents/ocr/tesseract.js"

describe("tesseractBackend", () => {
  it.effect("takes its language data from the installed package and names versions in its cache identity", () =>
    Effect.gen(function*() {
      expect(yield* tesseractBackend.settings({})).toEqual({ lang: "eng", langData: "1.0.0", psm: "3" })
      expect(yield* tesseractBackend.settings({ mode: "line" })).toMatchObject({ psm: "7" })
      expect(yield* tesseractBackend.version).toBe("tesseract.js 7.0.0, 4.0.0_best_int")
    }))

  it.effect("a language without its data package is a missing-package error with the install command", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(tesseractBackend.settings({ lang: "fra" }))
      expect(error).toMatchObject({
        _tag: "OcrError",
        reason: "missing-package",
        message:
          "OCR in language \"fra\" needs the optional package @tesseract.js-data/fra: npm install --save-exact @tesseract.js-data/fra@1.0.0"
      })
      const bad = yield* Effect.flip(tesseractBackend.settings({ lang: "../../etc" }))
      expect(bad).toMatchObject({ reason: "bad-input", location: "lang" })
    }))
})
