/**
 * The layering of the architecture (the README's "Layout" and each src/ folder's README): a lower layer never imports a higher one, and the pure
 * core (`ir/`, `language/`, `validate/`, `normalize/`, `trace/`) imports no Node API, no platform package, and reads
 * neither the clock nor `Math.random`. Checked over every import of `src/`, so a folder README's "may import" line
 * cannot drift from the code unnoticed.
 */
import { readdirSync, readFileSync } from "node:fs"
import { builtinModules } from "node:module"
import { dirname, join, normalize, relative } from "node:path"
import { describe, expect, it } from "vitest"

const SRC = join(import.meta.dirname, "..", "src")

/** Each top folder's layer: 1 the pure core (`ir/` below the others), 2 runtime, 3 adapters, 4 services, 5 faces. */
const LAYER: { readonly [folder: string]: number } = {
  ir: 1,
  language: 1.5,
  validate: 1.5,
  normalize: 1.5,
  trace: 1.5,
  runtime: 2,
  tools: 2,
  store: 3,
  llm: 3,
  retrieval: 3,
  documents: 3,
  cluster: 3,
  eval: 4,
  optimize: 4,
  server: 5,
  cli: 5
}
const PURE = new Set(["ir", "language", "validate", "normalize", "trace"])

const files = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : /\.(ts|mts)$/.test(e.name) ? [join(dir, e.name)] : []
  )

/** The import specifiers of a module's text (static, dynamic and re-exports), with comments removed. */
const importsOf = (text: string): Array<string> => {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "")
  return [...code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)"([^"]+)"/gm)].map((m) => m[1]!)
}

const topOf = (file: string): string => relative(SRC, file).split("/")[0]!

const modules = files(SRC).map((file) => {
  const text = readFileSync(file, "utf8")
  return { file, top: topOf(file), text, imports: importsOf(text) }
})

describe("the architecture's layers", () => {
  it("reads the imports of every module of src/", () => {
    const crossing = modules.flatMap((m) => m.imports.filter((s) => s.startsWith(".")))
    expect(modules.length).toBeGreaterThan(300)
    expect(crossing.length).toBeGreaterThan(1000)
  })

  it("no module imports a higher layer than its own", () => {
    const upward: Array<string> = []
    for (const m of modules) {
      const own = LAYER[m.top]
      if (own === undefined) continue
      for (const s of m.imports) {
        if (!s.startsWith(".")) continue
        const target = topOf(normalize(join(dirname(m.file), s)))
        const theirs = LAYER[target]
        if (target !== m.top && theirs !== undefined && theirs > own) {
          upward.push(`${relative(SRC, m.file)} imports ${s} (${m.top} is layer ${own}, ${target} is ${theirs})`)
        }
      }
    }
    expect(upward).toEqual([])
  })

  it("the pure core imports no Node API or platform package and reads neither the clock nor Math.random", () => {
    const node = new Set(builtinModules)
    const impure: Array<string> = []
    for (const m of modules) {
      if (!PURE.has(m.top)) continue
      for (const s of m.imports) {
        if (s.startsWith("node:") || node.has(s) || s.startsWith("@effect/platform")) {
          impure.push(`${relative(SRC, m.file)} imports ${s}`)
        }
      }
      const code = m.text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "")
      for (const call of ["Date.now(", "Math.random(", "new Date("]) {
        if (code.includes(call)) impure.push(`${relative(SRC, m.file)} calls ${call}`)
      }
    }
    expect(impure).toEqual([])
  })
})
