#!/usr/bin/env node
// The `trellis` command. Three ways to start, chosen per invocation:
// - the bundled CLI (dist/trellis.mjs, made by `npm run build`, which `npm install`, `npm pack` and `npm test` run):
//   the fast start for every command without `--tools`; it carries its own copy of effect, which no user code sees;
// - with `--tools` from an installed package: the library build (dist/lib/cli/main.js), so the tools module's
//   `import ... from "trellis"` and `from "effect"` load the very modules the CLI runs on (one copy of each);
//   a `.ts`/`.mts`/`.cts` tools module is loaded through tsx when the app has it installed, else a one-line error;
// - in a checkout (src/ present): the TypeScript sources through tsx (a devDependency) with `--tools`, when
//   `TRELLIS_FROM_SOURCE=1`, or when a source file is newer than the bundle.
import { existsSync, readdirSync, statSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const bundle = join(root, "dist", "trellis.mjs")
const library = join(root, "dist", "lib", "cli", "main.js")
const sources = join(root, "src", "cli", "main.ts")

const newestSource = (dir) => {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs)
  }
  return newest
}

/** The values of every `--tools x` / `--tools=x` on the command line. */
const toolsModules = () => {
  const out = []
  const argv = process.argv.slice(2)
  argv.forEach((arg, i) => {
    if (arg.startsWith("--tools=")) out.push(arg.slice("--tools=".length))
    else if (arg === "--tools" && i + 1 < argv.length) out.push(argv[i + 1])
  })
  return out
}

const fail = (message) => {
  process.stderr.write(`error: ${message}\n`)
  process.exit(1)
}

/** Registers tsx's ESM loader, resolved from this package (the app's node_modules); false when it is not installed. */
const registerTsx = async () => {
  let api
  try {
    api = await import("tsx/esm/api")
  } catch (e) {
    if (e?.code === "ERR_MODULE_NOT_FOUND") return false
    throw e
  }
  api.register()
  return true
}

const tools = toolsModules()
const checkout = existsSync(sources)
const fromSource = checkout && (process.env.TRELLIS_FROM_SOURCE === "1" || tools.length > 0 || !existsSync(bundle) ||
  statSync(bundle).mtimeMs < newestSource(join(root, "src")))

if (fromSource) {
  if (!(await registerTsx())) fail("running Trellis from its sources needs tsx (npm install)")
  await import(pathToFileURL(sources).href)
} else if (tools.length > 0) {
  if (!existsSync(library)) fail(`the library build is missing (${library}); run \`npm run build\``)
  const typescript = tools.find((t) => /\.[cm]?tsx?$/.test(t))
  if (typescript !== undefined && !(await registerTsx())) {
    fail(
      `--tools ${typescript} is TypeScript: install tsx in your project (npm install --save-dev tsx) ` +
        "or pass the compiled JavaScript module"
    )
  }
  // The viewer's files sit in dist/web/, which the library build's server does not look next to.
  process.env.TRELLIS_WEB_DIR ??= join(root, "dist", "web")
  await import(pathToFileURL(library).href)
} else {
  if (!existsSync(bundle)) fail(`the CLI bundle is missing (${bundle}); run \`npm run build\``)
  await import(pathToFileURL(bundle).href)
}
