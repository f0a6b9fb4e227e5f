/**
 * The npm package as a user gets it (issue 13): `npm pack` the project (which runs `prepare`, the full build), check
 * what the tarball holds, install it into a scratch app in a temporary directory, and from there run
 * (a) a plain Node ESM app and (b) a TypeScript app checked and compiled with `tsc` — both host apps that use effect
 * themselves (effect 3.22.4 is the app's own dependency; Trellis only names it as a peer) and embed a program whose
 * tool needs a `Context.Tag` the host defines and provides — and the CLI from the package (`--version`, and `run`
 * with a `--tools` module of the app's that imports from "trellis").
 * One shared install for both apps: each is a host app with `trellis` and `effect` as its dependencies, which is
 * what both need, so sharing it changes nothing either app sees. Needs npm and its registry (or npm's cache);
 * skips with one line when npm is not installed.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { root } from "../support/cli.js"

interface Ran {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs a command without blocking the worker; killed (and reported as such) after `timeoutMs`. */
const run = (command: string, args: ReadonlyArray<string>, cwd: string, timeoutMs: number): Promise<Ran> =>
  new Promise((resolve, reject) => {
    // Without the npm_config_* variables of the npm that runs this suite: a scratch app has its own npm settings.
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith("npm_config_"))
    )
    const p = spawn(command, [...args], { cwd, env: { ...env, npm_config_update_notifier: "false" } })
    let stdout = ""
    let stderr = ""
    p.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d))
    p.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d))
    const timer = setTimeout(() => {
      stderr += `\n[killed after ${timeoutMs} ms]`
      p.kill("SIGKILL")
    }, timeoutMs)
    p.on("error", reject)
    p.on("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
    p.stdin.end()
  })

const ok = (r: Ran, what: string): Ran => {
  if (r.code !== 0) {
    throw new Error(`${what} failed (exit ${r.code}):\n${r.stderr.slice(-4000)}\n${r.stdout.slice(-2000)}`)
  }
  return r
}

// Asynchronously, like every child process here: a worker blocked in spawnSync misses vitest's heartbeats.
const npmAvailable = await run("npm", ["--version"], root, 60_000).then((r) => r.code === 0, () => false)
if (!npmAvailable) console.warn("test/package/pack: skipped, npm is not available on PATH")

/** Every installed package named `name` under `dir` (nested node_modules included). */
const installedCopies = (dir: string, name: string): Array<string> => {
  const out: Array<string> = []
  const walk = (modules: string) => {
    if (!fs.existsSync(modules)) return
    for (const entry of fs.readdirSync(modules, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue
      const scoped = entry.name.startsWith("@")
      const packages = scoped
        ? fs.readdirSync(path.join(modules, entry.name)).map((n) => path.join(modules, entry.name, n))
        : [path.join(modules, entry.name)]
      for (const pkg of packages) {
        const manifest = path.join(pkg, "package.json")
        if (
          fs.existsSync(manifest) && (JSON.parse(fs.readFileSync(manifest, "utf8")) as { name?: string }).name === name
        ) {
          out.push(pkg)
        }
        walk(path.join(pkg, "node_modules"))
      }
    }
  }
  walk(path.join(dir, "node_modules"))
  return out
}

const version = (JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { version: string }).version

// The host's service, its tool and the program: the same in both apps.
const PROGRAM = `program main(who: string) {
  g = tool host.greet(name: who)
  return { greeting: g }
}`

const PLAIN_APP = `import { Context, Effect, Layer, Schema } from "effect"
import { Program, Runtime, Tool } from "trellis"

class Greeting extends Context.Tag("host/Greeting")() {}

const greet = Tool.make({
  name: "host.greet",
  description: "Greets through the host's Greeting service.",
  input: Schema.Struct({ name: Schema.String }),
  output: Schema.String,
  handler: ({ name }) => Effect.map(Greeting, (g) => g.prefix + ", " + name)
})

const tools = new Map([...Tool.builtinTools, greet].map((t) => [t.name, t.spec]))
const checked = Program.check(${JSON.stringify(PROGRAM)}, { tools })
if (checked.normalized === undefined) throw new Error(JSON.stringify(checked.diagnostics))

const result = await Effect.runPromise(
  Runtime.run(checked.normalized, { who: "Ada" }).pipe(
    Effect.provide(Runtime.layerMemoryWith([greet])),
    Effect.provide(Layer.succeed(Greeting, { prefix: "Hello from the host" }))
  )
)
console.log(JSON.stringify(result.output))
`

const TS_APP = `import { Context, Effect, Layer, Schema } from "effect"
import { Program, Runtime, Tool } from "trellis"

class Greeting extends Context.Tag("host/Greeting")<Greeting, { readonly prefix: string }>() {}

const greet = Tool.make({
  name: "host.greet",
  description: "Greets through the host's Greeting service.",
  input: Schema.Struct({ name: Schema.String }),
  output: Schema.String,
  handler: ({ name }) => Effect.map(Greeting, (g) => \`\${g.prefix}, \${name}\`)
})

const tools = new Map([...Tool.builtinTools, greet].map((t) => [t.name, t.spec] as const))
const checked = Program.check(${JSON.stringify(PROGRAM)}, { tools })
if (checked.normalized === undefined) throw new Error(JSON.stringify(checked.diagnostics))
const program = checked.normalized

// The tool's requirement reaches the types: running without the host's layer does not type-check.
export const missingGreeting = () =>
  // @ts-expect-error Greeting is not provided
  Effect.runPromise(Runtime.run(program, { who: "Ada" }).pipe(Effect.provide(Runtime.layerMemoryWith([greet]))))

const main: Effect.Effect<Runtime.RunResult, Runtime.RunError | Tool.ToolRegistryError> = Runtime.run(
  program,
  { who: "Grace" }
).pipe(
  Effect.provide(Runtime.layerMemoryWith([greet])),
  Effect.provide(Layer.succeed(Greeting, { prefix: "Typed hello" }))
)

Effect.runPromise(main).then((result) => console.log(JSON.stringify(result.output)))
`

const TS_CONFIG = {
  compilerOptions: {
    target: "ES2022",
    module: "NodeNext",
    moduleResolution: "NodeNext",
    strict: true,
    exactOptionalPropertyTypes: true,
    skipLibCheck: true,
    types: ["node"],
    outDir: "build",
    rootDir: "src"
  },
  include: ["src"]
}

const TOOLS_MODULE = `import { Effect, Schema } from "effect"
import { Tool } from "trellis"

export const tools = [
  Tool.make({
    name: "app.shout",
    description: "Upper-cases a text.",
    input: Schema.Struct({ text: Schema.String }),
    output: Schema.String,
    handler: ({ text }) => Effect.succeed(text.toUpperCase() + "!")
  })
]
`

describe.skipIf(!npmAvailable)("the npm package (npm pack, installed into scratch apps)", () => {
  let scratch = ""
  let app = ""
  let packedFiles: Array<string> = []

  beforeAll(async () => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), "trellis-pack-"))
    // `npm pack` runs `prepare`: the tarball holds what a fresh build makes.
    const packed = ok(await run("npm", ["pack", "--json", "--pack-destination", scratch], root, 600_000), "npm pack")
    const report = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as Array<
      { filename: string; files: Array<{ path: string }> }
    >
    const tarball = report[0]!
    packedFiles = tarball.files.map((f) => f.path)

    app = path.join(scratch, "app")
    fs.mkdirSync(path.join(app, "src"), { recursive: true })
    const manifest = {
      name: "host-app",
      private: true,
      type: "module",
      dependencies: { trellis: `file:../${tarball.filename}`, effect: "3.22.4" },
      devDependencies: { "@types/node": "20.19.43" }
    }
    fs.writeFileSync(path.join(app, "package.json"), JSON.stringify(manifest, null, 2))
    fs.writeFileSync(path.join(app, "main.mjs"), PLAIN_APP)
    fs.writeFileSync(path.join(app, "src", "main.ts"), TS_APP)
    fs.writeFileSync(path.join(app, "tsconfig.json"), JSON.stringify(TS_CONFIG, null, 2))
    fs.writeFileSync(path.join(app, "tools.mjs"), TOOLS_MODULE)
    fs.writeFileSync(path.join(app, "tools.ts"), TOOLS_MODULE)
    fs.writeFileSync(
      path.join(app, "shout.tr"),
      `program main(t: string) {\n  s = tool app.shout(text: t)\n  return s\n}\n`
    )
    ok(
      // No install scripts: nothing the apps use builds anything at install (optional native addons stay unbuilt).
      // The lean install (no optional packages: PDF, OCR, ONNX): the apps below run without them.
      await run(
        "npm",
        [
          "install",
          "--prefer-offline",
          "--omit=optional",
          "--no-audit",
          "--no-fund",
          "--ignore-scripts",
          "--loglevel=error"
        ],
        app,
        600_000
      ),
      "npm install"
    )
  }, 1_200_000)

  afterAll(async () => {
    if (scratch !== "") await fs.promises.rm(scratch, { recursive: true, force: true })
  }, 300_000)

  it("the tarball holds the builds, the bin and the types, and no sources or tests", () => {
    for (
      const f of [
        "package.json",
        "bin/trellis.mjs",
        "dist/trellis.mjs",
        "dist/pgliteWorker.mjs",
        "dist/web/index.html",
        "dist/lib/index.js",
        "dist/lib/index.d.ts",
        "dist/lib/index.js.map",
        "dist/lib/cli/main.js",
        "dist/lib/store/pgliteWorker.mjs",
        "retrieval-thresholds.json"
      ]
    ) expect(packedFiles, f).toContain(f)
    // The CLI's chunks (what commands import on demand) ship next to dist/trellis.mjs.
    expect(packedFiles.some((f) => /^dist\/trellis-chunk-[^/]+\.mjs$/.test(f))).toBe(true)
    expect(packedFiles.filter((f) => f.startsWith("src/") || f.startsWith("test/") || f.startsWith("scripts/")))
      .toEqual([])
    expect(packedFiles.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))).toEqual([])
    expect(packedFiles.filter((f) => f.includes("tsbuildinfo"))).toEqual([])
  })

  it("installs with one copy of effect, shared by the app and Trellis, and without tsx", async () => {
    expect(installedCopies(app, "effect")).toEqual([path.join(app, "node_modules", "effect")])
    // Node resolves `effect` from inside the installed package to the app's own copy.
    const fromTrellis = ok(
      await run(
        process.execPath,
        [
          "-e",
          "console.log(require('node:module').createRequire(process.argv[1]).resolve('effect/package.json'))",
          path.join(app, "node_modules", "trellis", "dist", "lib", "index.js")
        ],
        app,
        60_000
      ),
      "resolving effect from the installed package"
    )
    expect(fs.realpathSync(fromTrellis.stdout.trim())).toBe(
      fs.realpathSync(path.join(app, "node_modules", "effect", "package.json"))
    )
    expect(fs.existsSync(path.join(app, "node_modules", "tsx"))).toBe(false)
  }, 120_000)

  it("(a) a plain Node ESM app: a tool needing the host's Context.Tag runs in Trellis's runtime", async () => {
    const r = ok(await run(process.execPath, ["main.mjs"], app, 120_000), "node main.mjs")
    expect(JSON.parse(r.stdout.trim())).toEqual({ greeting: "Hello from the host, Ada" })
  }, 180_000)

  it("(b) a TypeScript app: tsc checks it against the shipped .d.ts, and the compiled app runs", async () => {
    const tsc = path.join(root, "node_modules", "typescript", "bin", "tsc")
    ok(await run(process.execPath, [tsc, "-p", "tsconfig.json"], app, 300_000), "tsc -p tsconfig.json")
    const r = ok(await run(process.execPath, [path.join("build", "main.js")], app, 120_000), "node build/main.js")
    expect(JSON.parse(r.stdout.trim())).toEqual({ greeting: "Typed hello, Grace" })
  }, 420_000)

  it("the CLI from the package: --version, and run with the app's --tools module", async () => {
    const v = ok(await run("npx", ["--no-install", "trellis", "--version"], app, 120_000), "npx trellis --version")
    expect(v.stdout.trim()).toBe(version)
    const r = ok(
      await run(
        "npx",
        ["--no-install", "trellis", "run", "shout.tr", "--tools", "tools.mjs", "--input", "t=hi", "--json"],
        app,
        120_000
      ),
      "npx trellis run --tools tools.mjs"
    )
    expect(JSON.parse(r.stdout).output).toBe("HI!")
  }, 240_000)

  it("a TypeScript --tools module without tsx installed: one clear line, exit 1", async () => {
    const r = await run(
      "npx",
      ["--no-install", "trellis", "run", "shout.tr", "--tools", "tools.ts", "--input", "t=hi"],
      app,
      120_000
    )
    expect(r.code).toBe(1)
    expect(r.stderr.trim()).toBe(
      "error: --tools tools.ts is TypeScript: install tsx in your project (npm install --save-dev tsx) " +
        "or pass the compiled JavaScript module"
    )
  }, 180_000)
})
