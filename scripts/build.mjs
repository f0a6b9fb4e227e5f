// The project's build step (run by `npm install` through `prepare`, and by
// `npm test`): bundles the trace viewer into dist/web/ (see below) and the CLI into dist/trellis.mjs with esbuild, so
// `trellis` starts in well under a second instead of compiling the
// TypeScript sources through tsx on every start. bin/trellis.mjs uses the
// bundle only while it is newer than every source file (else the sources).
import { build } from "esbuild"
import { NODE_EXTERNALS } from "./bundleExternals.mjs"
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
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
  external: NODE_EXTERNALS,
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

// The trace viewer served at `GET /` (src/server/web/app, browser code with
// elkjs) into dist/web/: content-hashed script, style and chunks (elkjs is a
// chunk of its own, loaded on a run page) and index.html naming them. Built
// into a temporary directory, then swapped in.
const webSrc = join(root, "src", "server", "web", "app")
const webOut = join(root, "dist", "web")
const webTmp = `${webOut}.${process.pid}.tmp`
rmSync(webTmp, { recursive: true, force: true })
const web = await build({
  entryPoints: { main: join(webSrc, "main.ts"), style: join(webSrc, "style.css") },
  bundle: true,
  format: "esm",
  splitting: true,
  platform: "browser",
  target: ["es2022", "chrome110", "firefox115", "safari16"],
  outdir: webTmp,
  entryNames: "[name]-[hash]",
  chunkNames: "chunk-[hash]",
  minify: true,
  metafile: true,
  logLevel: "warning",
  legalComments: "eof"
})
const outputOf = (entry) => {
  const found = Object.entries(web.metafile.outputs).find(([, o]) => o.entryPoint !== undefined && o.entryPoint.endsWith(entry))
  if (found === undefined) throw new Error(`the viewer build has no output for ${entry}`)
  return found[0].split("/").pop()
}
const html = readFileSync(join(webSrc, "index.html"), "utf8")
  .replace("{{js}}", outputOf("app/main.ts"))
  .replace("{{css}}", outputOf("app/style.css"))
writeFileSync(join(webTmp, "index.html"), html)
const webOld = `${webOut}.${process.pid}.old`
try {
  if (existsSync(webOut)) renameSync(webOut, webOld)
  renameSync(webTmp, webOut)
} catch {
  // Another build swapped its (identical) output in at the same moment: keep that one.
  rmSync(webTmp, { recursive: true, force: true })
}
rmSync(webOld, { recursive: true, force: true })
