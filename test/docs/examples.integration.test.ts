/**
 * The documentation's examples, run: every ```ts block type-checked with tsc against the built library's
 * declarations and run as a program (compiled by esbuild, its own relative imports bundled in, packages left as
 * imports, then `node block.mjs`), with `trellis` resolved as an installed package resolves it: through a
 * `node_modules/trellis` link to this package, whose `exports` name the built library (dist/lib; `npm test` builds
 * it first). A ```ts no-run block is type-checked only; examples/*.ts are checked by `npm run typecheck` against the
 * sources. Every `$ ` command of a ```console / ```sh block runs through the real CLI (`node bin/trellis.mjs`), its
 * output compared with the block's (`…` matches anything).
 * Each block runs in its own scratch directory (its own `.trellis` store) under test-artifacts/docs/run/,
 * where `examples/` and `docs/` are links to the repository's. docs/examples.md runs every program in examples/
 * exactly as a user would, so this file is also the test that each example runs as documented.
 */
import { build } from "esbuild"
import { execFile } from "node:child_process"
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { allBlocks, commandsOf, matchesOutput, root, slug } from "./blocks.js"
import type { Block } from "./blocks.js"

const runDir = join(root, "test-artifacts", "docs", "run")
rmSync(runDir, { recursive: true, force: true })
mkdirSync(runDir, { recursive: true })

const blocks = allBlocks().filter((b) => b.noRun === undefined)
const where = (b: Block) => `${b.file}:${b.line}`

/** The environment of a docs command: no store, config or provider settings leak in from the test's. */
const env = (): NodeJS.ProcessEnv => {
  const e: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", TSX_TSCONFIG_PATH: join(runDir, "tsconfig.json") }
  for (const k of Object.keys(e)) {
    // The suite's PGlite template stays: it only makes a new store start faster (test/support/pgliteTemplate.ts).
    if (/^TRELLIS_/.test(k) && k !== "TRELLIS_PGLITE_TEMPLATE") delete e[k]
    if (k === "OTEL_EXPORTER_OTLP_ENDPOINT" || k === "FORCE_COLOR") delete e[k]
  }
  return e
}

interface Result {
  readonly code: number
  readonly output: string
}

const sh = (command: string, cwd: string, timeout = 300_000): Promise<Result> =>
  new Promise((resolve) => {
    execFile("bash", ["-c", `${command} 2>&1`], { cwd, env: env(), timeout, maxBuffer: 16 << 20 }, (error, stdout) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1
      resolve({ code, output: stdout })
    })
  })

/** A scratch directory for one block, with `examples/` and `docs/` linked in. */
const scratch = (b: Block): string => {
  const dir = join(runDir, slug(b))
  mkdirSync(dir, { recursive: true })
  for (const d of ["examples", "docs"]) symlinkSync(join(root, d), join(dir, d))
  return dir
}

// `import … from "trellis"` in a block resolves to the built library (dist/lib), as in an installed package: through
// `node_modules/trellis`, a link to this package, whose `exports` name dist/lib. Blocks load compiled JavaScript with
// no loader hooks (a TypeScript loader in each block's process cost more than the block), and are type-checked
// against the declarations instead of re-checking all of src/ (which `npm run typecheck` does).
const library = join(root, "dist", "lib", "index.js")
if (!existsSync(library)) throw new Error(`${library} is missing: run \`npm run build\` first`)
mkdirSync(join(runDir, "node_modules"), { recursive: true })
symlinkSync(root, join(runDir, "node_modules", "trellis"))
writeFileSync(
  join(runDir, "tsconfig.json"),
  JSON.stringify({
    extends: "../../../tsconfig.json",
    compilerOptions: { paths: { trellis: ["../../../dist/lib/index.js"] } }
  })
)

const UUID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g

/** Only the CLI and example programs run; anything else in a block must opt out with a reason. */
const runnable = (command: string): boolean =>
  /^(printf |echo |cat )?.*\bnpx trellis\b/.test(command) || /^node --import tsx examples\/\w+\.ts\b/.test(command)

describe("the docs' ts blocks type-check", () => {
  it("against the built library's declarations", { timeout: 600_000 }, async () => {
    const dir = join(runDir, "typecheck")
    mkdirSync(dir, { recursive: true })
    const tsBlocks = allBlocks().filter((b) => b.lang === "ts")
    expect(tsBlocks.length).toBeGreaterThan(3)
    for (const b of tsBlocks) writeFileSync(join(dir, `${slug(b)}.ts`), b.code)
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        extends: "../../../../tsconfig.json",
        compilerOptions: { paths: { trellis: ["../../../../dist/lib/index.d.ts"] } },
        include: ["*.ts"]
      })
    )
    const tsc = join(root, "node_modules", "typescript", "bin", "tsc")
    // Incremental, its state kept under node_modules/.cache/tsc/ as `npm run typecheck` keeps its own: a run whose
    // blocks and declarations are unchanged (by content) re-checks no types, only parses (4.7 → 3.1 s of CPU).
    const buildInfo = join(root, "node_modules", ".cache", "tsc", "docs-blocks.tsbuildinfo")
    const r = await sh(
      `node ${tsc} --noEmit --pretty false -p . --incremental --tsBuildInfoFile ${buildInfo}`,
      dir,
      600_000
    )
    // Errors name the scratch file of a block: `docs-running-md-L195.ts(3,1)` is line 3 of docs/running.md:195.
    expect(r.output).toBe("")
    expect(r.code).toBe(0)
  })
})

describe("the docs' ts blocks run", () => {
  const tsBlocks = blocks.filter((b) => b.lang === "ts")
  // Blocks are independent (each has its own scratch directory and store): they run a few at a time.
  it.concurrent.each(tsBlocks.map((b) => [where(b), b] as const))("%s", { timeout: 300_000 }, async (_, b) => {
    const dir = scratch(b)
    writeFileSync(join(dir, "block.ts"), b.code)
    await build({
      entryPoints: [join(dir, "block.ts")],
      outfile: join(dir, "block.mjs"),
      bundle: true,
      packages: "external",
      format: "esm",
      platform: "node",
      target: "node20",
      logLevel: "silent"
    })
    const r = await sh(`node block.mjs`, dir)
    expect(r.code, r.output).toBe(0)
  })
})

describe("the docs' console blocks run as shown", () => {
  const consoleBlocks = blocks.filter((b) => b.lang === "console" || b.lang === "sh")
  it.concurrent.each(consoleBlocks.map((b) => [where(b), b] as const))("%s", { timeout: 900_000 }, async (_, b) => {
    const dir = scratch(b)
    let lastRunId: string | undefined
    for (const c of commandsOf(b)) {
      expect(runnable(c.command), `${b.file}:${c.line}: only \`npx trellis\` runs; mark the block no-run`).toBe(true)
      if (c.command.includes("<run-id>")) {
        expect(lastRunId, `${b.file}:${c.line}: <run-id> before any run`).toBeDefined()
      }
      const command = c.command
        .replaceAll("<run-id>", lastRunId ?? "")
        .replace(/\bnpx trellis\b/g, `node ${join(root, "bin", "trellis.mjs")}`)
      const r = await sh(command, dir)
      const ids = [...r.output.matchAll(UUID)].map((m) => m[0])
      if (ids.length > 0) lastRunId = ids[0]
      const label = `${b.file}:${c.line}: $ ${c.command}\n--- got (exit ${r.code}):\n${r.output}`
      expect(r.code, label).toBe(c.exitCode)
      expect(matchesOutput(c.expected, r.output), `${label}\n--- expected:\n${c.expected}`).toBe(true)
    }
  })
})
