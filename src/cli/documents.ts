/**
 * `trellis eval documents --data <dir> [--iou 0.5] [--json]`: layout, text
 * and table scores of the PDF extraction on a directory of PDFs with ground
 * truth (see `src/documents/evaluate.ts`).
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { Effect } from "effect"
import type { DocumentError } from "../documents/errors.js"
import { evaluateDocuments } from "../documents/evaluate.js"
import { CliError, out } from "./io.js"

const toCli = (e: DocumentError) => new CliError({ message: e.display, exitCode: e.reason === "bad-input" ? 2 : 1 })
const r4 = (n: number) => Math.round(n * 10_000) / 10_000

/** `trellis eval documents`. */
export const evalDocumentsCommand = Command.make(
  "documents",
  {
    data: Options.text("data").pipe(
      Options.withDescription("A folder of name.pdf files, each with its name.json ground truth")
    ),
    iou: Options.float("iou").pipe(
      Options.withDefault(0.5),
      Options.withDescription("The IoU a detected block needs to match")
    ),
    json: Options.boolean("json").pipe(Options.withDescription("Print the result as JSON"))
  },
  (o) =>
    Effect.gen(function*() {
      if (!(o.iou > 0 && o.iou <= 1)) {
        return yield* new CliError({ message: `--iou must be in (0, 1], got ${o.iou}`, exitCode: 2 })
      }
      const s = yield* evaluateDocuments(o.data, { threshold: o.iou }).pipe(Effect.mapError(toCli))
      if (o.json) {
        yield* out(JSON.stringify({
          documents: s.documents,
          pages: s.pages,
          blocks: {
            precision: r4(s.blocks.precision),
            recall: r4(s.blocks.recall),
            f1: r4(s.blocks.f1),
            meanIou: r4(s.blocks.meanIou)
          },
          text: { cer: r4(s.text.cer), wer: r4(s.text.wer) },
          tables: { cellAccuracy: r4(s.tables.cellAccuracy), tables: s.tables.tables }
        }))
        return
      }
      const f = (n: number) => n.toFixed(4)
      yield* out(`${s.documents} documents, ${s.pages} pages`)
      yield* out(
        `blocks @ IoU ${o.iou}: precision ${f(s.blocks.precision)}  recall ${f(s.blocks.recall)}  f1 ${
          f(s.blocks.f1)
        }  mean IoU ${f(s.blocks.meanIou)}  (${s.blocks.truth} true blocks)`
      )
      yield* out(`text: CER ${f(s.text.cer)}  WER ${f(s.text.wer)}  (${s.text.pages} pages)`)
      yield* out(`tables: cell accuracy ${f(s.tables.cellAccuracy)}  (${s.tables.tables} tables)`)
    })
).pipe(Command.withDescription("Score PDF layout, text and tables against ground truth"))
