// The project's build step (run by `npm install` through `prepare`, and by
// `npm test`): bundles the CLI into dist/trellis.mjs with esbuild, so
// `trellis` starts in well under a second instead of compiling the
// TypeScript sources through tsx on every start. bin/trellis.mjs uses the
// bundle only while it is newer than every source file (else the sources).
import { build } from "esbuild"
import { copyFileSync, existsSync, mkdirSync, renameSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const out = join(root, "dist", "trellis.mjs")
const tmp = `${out}.${process.pid}.tmp`
mkdirSync(dirname(out), { recursive: true })
await build({
  entryPoints: [join(root, "src", "cli", "main.ts")],
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  outfile: tmp,
  // PGlite finds its WASM and data files next to its own module; pg has optional native parts; tsx loads --tools modules.
  external: ["@electric-sql/pglite", "@electric-sql/pglite-pgvector", "pg", "tsx", "tsx/*"],
  banner: { js: "import { createRequire as __trellisCreateRequire } from 'module'; const require = __trellisCreateRequire(import.meta.url);" },
  logLevel: "warning",
  legalComments: "none"
})
// Files the bundle loads next to itself (found through import.meta.url at run time).
for (const file of ["store/pgliteWorker.mjs"]) {
  const from = join(root, "src", file)
  if (existsSync(from)) copyFileSync(from, join(dirname(out), file.split("/").pop()))
}
// Atomic: a process starting meanwhile sees the old bundle or the new one, never half of one.
renameSync(tmp, out)
