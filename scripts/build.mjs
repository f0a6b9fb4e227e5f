// The project's build step (run by `npm install` and `npm pack` through `prepare`, and by `npm test`):
// 1. the CLI bundled into dist/trellis.mjs (and the chunks it imports on demand, dist/trellis-chunk-*.mjs) with esbuild, so `trellis` starts in well under a second instead of
//    compiling the TypeScript sources through tsx on every start (bin/trellis.mjs uses it for every command without
//    `--tools`; in a checkout only while it is newer than every source file). It embeds its own copy of effect, which
//    is faster to load than effect's many modules and never meets user code (see bin/trellis.mjs);
// 2. the trace viewer into dist/web/ (see below);
// 3. the library: tsc -p tsconfig.build.json into dist/lib/ (ESM, .d.ts, source maps with the sources inlined),
//    what `import ... from "trellis"` loads and what `trellis --tools` runs on. Incremental: an unchanged tree
//    rebuilds in a few seconds.
import { build } from "esbuild"
import { spawnSync } from "node:child_process"
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync
} from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { NODE_EXTERNALS } from "./bundleExternals.mjs"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const dist = join(root, "dist")
const out = join(dist, "trellis.mjs")
const tmpDir = join(dist, `.cli.${process.pid}.tmp`)
mkdirSync(dist, { recursive: true })
rmSync(tmpDir, { recursive: true, force: true })
// Split into chunks: what a command loads through `import()` (the server and OpenTelemetry for `serve`, the
// @effect/ai providers for a config naming them) sits in a chunk of its own, which the other commands neither parse
// nor run. The chunks sit next to dist/trellis.mjs (`trellis-chunk-<hash>.mjs`), so `import.meta.url` finds
// pgliteWorker.mjs beside any of them.
const cli = await build({
  entryPoints: { trellis: join(root, "src", "cli", "main.ts") },
  bundle: true,
  splitting: true,
  platform: "node",
  format: "esm",
  target: "node20",
  outdir: tmpDir,
  outExtension: { ".js": ".mjs" },
  chunkNames: "trellis-chunk-[hash]",
  external: NODE_EXTERNALS,
  banner: {
    js:
      "import { createRequire as __trellisCreateRequire } from 'module'; const require = __trellisCreateRequire(import.meta.url);"
  },
  metafile: true,
  logLevel: "warning",
  legalComments: "none"
})
// Files the bundle loads next to itself (found through import.meta.url at run time).
for (const file of ["store/pgliteWorker.mjs"]) {
  const from = join(root, "src", file)
  if (existsSync(from)) copyFileSync(from, join(dist, file.split("/").pop()))
}
// The chunks first (content-hashed names: a changed chunk gets a new name), each renamed into place whole; then the
// entry, atomically: a process starting meanwhile sees the old CLI or the new one, never half of one. Chunks no
// build output names any more go last.
const chunks = Object.keys(cli.metafile.outputs).map((o) => o.split("/").pop()).filter((f) => f !== "trellis.mjs")
for (const chunk of chunks) renameSync(join(tmpDir, chunk), join(dist, chunk))
renameSync(join(tmpDir, "trellis.mjs"), out)
rmSync(tmpDir, { recursive: true, force: true })
for (const f of readdirSync(dist)) {
  if (/^trellis-chunk-.*\.mjs$/.test(f) && !chunks.includes(f)) rmSync(join(dist, f), { force: true })
}

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
  const found = Object.entries(web.metafile.outputs).find(([, o]) =>
    o.entryPoint !== undefined && o.entryPoint.endsWith(entry)
  )
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

// The library (dist/lib/). tsc's incremental state lives next to, not inside, the output: forget it when the
// output is gone, or tsc would think everything is emitted.
const libOut = join(root, "dist", "lib")
const buildInfo = join(root, "dist", "lib.tsbuildinfo")
if (!existsSync(join(libOut, "index.js"))) rmSync(buildInfo, { force: true })
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc")
const compiled = spawnSync(
  process.execPath,
  // --noCheck: emit only; `npm run typecheck` checks the same sources (and more), so the build does not check twice.
  [tsc, "-p", join(root, "tsconfig.build.json"), "--noCheck", "--incremental", "--tsBuildInfoFile", buildInfo],
  { cwd: root, stdio: "inherit" }
)
if (compiled.status !== 0) {
  rmSync(buildInfo, { force: true })
  throw new Error(`tsc -p tsconfig.build.json failed (exit ${compiled.status ?? compiled.signal})`)
}
// Outputs whose source is gone (a deleted or renamed file) must not ship.
const OUTPUT = /(\.d\.ts\.map|\.d\.ts|\.js\.map|\.js)$/
const prune = (dir, rel) => {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    const relPath = rel === "" ? entry.name : `${rel}/${entry.name}`
    if (entry.isDirectory()) {
      prune(path, relPath)
      if (readdirSync(path).length === 0) rmSync(path, { recursive: true })
    } else if (OUTPUT.test(entry.name) && !existsSync(join(root, "src", relPath.replace(OUTPUT, ".ts")))) {
      rmSync(path)
    }
  }
}
prune(libOut, "")
// Plain JavaScript files the library loads next to its modules.
for (const file of ["store/pgliteWorker.mjs"]) copyFileSync(join(root, "src", file), join(libOut, file))
