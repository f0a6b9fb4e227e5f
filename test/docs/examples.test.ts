/**
 * The documentation's code blocks, checked without starting a process: every ```tr block compiles, every
 * ```json block parses, and every block declares a language and a reason when it opts out. Type-checking and
 * running the ts blocks, and running the console blocks, is examples.integration.test.ts.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { check } from "../../src/program.js"
import { allBlocks, root } from "./blocks.js"

const blocks = allBlocks()
const where = (b: { file: string; line: number }) => `${b.file}:${b.line}`

/** Languages a block may declare; anything else is probably a typo. */
const known = new Set(["ts", "tr", "json", "console", "sh", "text"])

describe("the docs' code blocks", () => {
  it("cover README.md and docs/*.md, each block with a known language", () => {
    const files = new Set(blocks.map((b) => b.file))
    expect(files.has("README.md")).toBe(true)
    expect([...files].filter((f) => f.startsWith("docs/")).length).toBeGreaterThan(5)
    const unknown = blocks.filter((b) => !known.has(b.lang)).map((b) => `${where(b)} \`\`\`${b.lang}`)
    expect(unknown).toEqual([])
  })

  it("opt out of running only with a reason (`no-run: why`), and rarely", () => {
    const optedOut = blocks.filter((b) => b.noRun !== undefined)
    expect(optedOut.filter((b) => b.noRun === "").map(where)).toEqual([])
    const runnable = blocks.filter((b) => b.lang !== "text")
    expect(optedOut.length).toBeLessThanOrEqual(Math.ceil(runnable.length / 5))
  })

  it("console and sh blocks hold `$ ` commands (or opt out)", () => {
    const bad = blocks
      .filter((b) => (b.lang === "console" || b.lang === "sh") && b.noRun === undefined)
      .filter((b) => !b.code.split("\n").some((l) => l.startsWith("$ ")))
      .map(where)
    expect(bad).toEqual([])
  })

  it("tr blocks compile without a diagnostic", () => {
    const tr = blocks.filter((b) => b.lang === "tr" && b.noRun === undefined)
    expect(tr.length).toBeGreaterThan(3)
    const problems = tr.flatMap((b) => check(b.code).diagnostics.map((d) => `${where(b)}: ${d.code} ${d.message}`))
    expect(problems).toEqual([])
  })

  it("json blocks parse", () => {
    const json = blocks.filter((b) => b.lang === "json" && b.noRun === undefined)
    const problems = json.flatMap((b) => {
      try {
        JSON.parse(b.code)
        return []
      } catch (e) {
        return [`${where(b)}: ${(e as Error).message}`]
      }
    })
    expect(problems).toEqual([])
  })
})

describe("the README", () => {
  const readme = readFileSync(join(root, "README.md"), "utf8")

  it("is a short front door (at most 12 KB)", () => {
    expect(Buffer.byteLength(readme)).toBeLessThanOrEqual(12 * 1024)
  })

  it("keeps the two set-up commands exactly", () => {
    expect(readme).toContain("npm install && npm start")
    expect(readme).toContain("npm install && npm test")
  })

  it("links only to docs that exist", () => {
    const links = [...readme.matchAll(/\]\((docs\/[^)#]+)(#[^)]*)?\)/g)].map((m) => m[1]!)
    expect(links.length).toBeGreaterThan(5)
    const missing = links.filter((l) => {
      try {
        readFileSync(join(root, l))
        return false
      } catch {
        return true
      }
    })
    expect(missing).toEqual([])
  })
})
