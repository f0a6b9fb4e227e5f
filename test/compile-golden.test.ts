/**
 * Golden fixtures: every examples/*.tr compiles to the committed JSON IR and
 * normalizes to the committed normal form and hash. Regenerate after an
 * intended change with `npm run golden:update` and review the diff.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { check } from "../src/compile.js"
import { encodeProgram } from "../src/ir/json.js"

const root = join(import.meta.dirname, "..")
const examples = join(root, "examples")
const golden = join(root, "test", "fixtures", "golden")
const update = process.env["UPDATE_GOLDEN"] === "1"

const files = readdirSync(examples).filter((f) => f.endsWith(".tr")).sort()

describe("golden fixtures", () => {
  it("covers the required examples", () => {
    for (const name of ["research.tr", "fanout.tr", "choose.tr", "call.tr", "kitchen-sink.tr"]) {
      expect(files).toContain(name)
    }
  })

  for (const file of files) {
    const base = file.replace(/\.tr$/, "")
    it(`${file} → IR, normal form, hash`, () => {
      const source = readFileSync(join(examples, file), "utf8")
      const result = check(source)
      expect(result.diagnostics).toEqual([])
      const ir = encodeProgram(result.program!, { pretty: true }) + "\n"
      const normal = encodeProgram(result.normalized!, { pretty: true }) + "\n"
      const hash = `${result.hash}\n`
      const expected = { ir: `${base}.ir.json`, normal: `${base}.normal.json`, hash: `${base}.hash` }
      if (update || !existsSync(join(golden, expected.ir))) {
        if (!update) throw new Error(`missing golden file ${expected.ir}: run npm run golden:update`)
        writeFileSync(join(golden, expected.ir), ir)
        writeFileSync(join(golden, expected.normal), normal)
        writeFileSync(join(golden, expected.hash), hash)
      }
      expect(ir).toBe(readFileSync(join(golden, expected.ir), "utf8"))
      expect(normal).toBe(readFileSync(join(golden, expected.normal), "utf8"))
      expect(hash).toBe(readFileSync(join(golden, expected.hash), "utf8"))
    })
  }
})
