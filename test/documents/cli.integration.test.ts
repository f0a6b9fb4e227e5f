/**
 * The documents from the CLI: `trellis run` with a program calling
 * `doc.pdf(path: …)` (local files are allowed under the CLI), and
 * `trellis eval documents --data <dir> --json`.
 */
import { describe, expect, it } from "@effect/vitest"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { runTrellis } from "../support/cli.js"
import { knownTextPdf, tablePdf } from "../support/documents.js"

const home = mkdtempSync(join(tmpdir(), "trellis-home-"))
const env = { ...process.env, TRELLIS_HOME: home, TRELLIS_DATABASE_URL: "" }

describe("documents from the CLI", () => {
  it("trellis run: doc.pdf reads a local file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "trellis-doc-cli-"))
    const pdf = join(dir, "table.pdf")
    writeFileSync(pdf, (await tablePdf()).bytes)
    const program = join(dir, "read.tr")
    writeFileSync(
      program,
      `program main(file: string) {\n  d = tool doc.pdf(path: file)\n  return { pages: d.pageCount, grid: d.tables[0].grid, facts: len(d.facts) }\n}\n`
    )
    const ran = await runTrellis(["run", program, "--memory", "--json", "--input", `file=${pdf}`], { env })
    expect(ran.stderr).toBe("")
    const result = JSON.parse(ran.stdout) as {
      output: { pages: number; grid: ReadonlyArray<ReadonlyArray<string>>; facts: number }
    }
    expect(result.output.pages).toBe(1)
    expect(result.output.grid[3]).toEqual(["South", "(250)", "3,400.50", "-4%"])
    expect(result.output.facts).toBe(9)
  }, 60_000)

  it("trellis eval documents --json", async () => {
    const dir = mkdtempSync(join(tmpdir(), "trellis-doc-cli-"))
    const known = await knownTextPdf()
    writeFileSync(join(dir, "known.pdf"), known.bytes)
    writeFileSync(
      join(dir, "known.json"),
      JSON.stringify({
        pages: [{ page: 1, blocks: [{ kind: "title", box: known.truth.title }], text: "Quarterly Report on Wings" }]
      })
    )
    const ran = await runTrellis(["eval", "documents", "--data", dir, "--json"], { env })
    expect(ran.stderr).toBe("")
    const scores = JSON.parse(ran.stdout) as {
      documents: number
      blocks: { recall: number; precision: number }
      text: { cer: number }
    }
    expect(scores.documents).toBe(1)
    expect(scores.blocks.recall).toBe(1)
    expect(scores.blocks.precision).toBe(0.3333)
    expect(scores.text.cer).toBeGreaterThan(0)
    const bad = await runTrellis(["eval", "documents", "--data", join(dir, "nope")], { env })
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain("cannot read the directory")
  }, 60_000)
})
