#!/usr/bin/env node
// The `trellis` command. Runs the bundled CLI (dist/trellis.mjs, made by
// `npm run build`, which `npm install` and `npm test` run) when it is newer
// than every source file; otherwise — or with `--tools`, whose module must
// share the sources' module graph — the TypeScript sources through tsx.
import { existsSync, readdirSync, statSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const bundle = join(root, "dist", "trellis.mjs")

const newestSource = (dir) => {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs)
  }
  return newest
}

const fresh = () => existsSync(bundle) && statSync(bundle).mtimeMs >= newestSource(join(root, "src"))
const wantsSources = process.argv.some((a) => a === "--tools" || a.startsWith("--tools="))

if (!wantsSources && process.env.TRELLIS_FROM_SOURCE !== "1" && fresh()) {
  await import(bundle)
} else {
  const { register } = await import("tsx/esm/api")
  register()
  await import("../src/cli/main.ts")
}
