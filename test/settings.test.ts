/**
 * Every setting is declared through effect's `Config` in one module per area
 * and documented in docs/configuration.md: the variables are listed from the
 * declarations themselves (a provider that records every variable looked up),
 * plus every `Config.<kind>("NAME")` literal in src/. Also: src/ reads no
 * `process.env` and imports no `node:fs` outside the few files allowed to.
 */
import type { Config } from "effect"
import { ConfigError, ConfigProvider, Effect, HashSet } from "effect"
import * as PathPatch from "effect/ConfigProviderPathPatch"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { describe, expect, it } from "vitest"
import { CliSettings } from "../src/cli/settings.js"
import { RetrievalSettings } from "../src/retrieval/settings.js"
import { ServerSettings } from "../src/server/settings.js"
import { StoreSettings } from "../src/store/settings.js"

const root = Path.resolve(import.meta.dirname, "..")
const docs = Fs.readFileSync(Path.join(root, "docs", "configuration.md"), "utf8")

/** The variables a config looks up (each path joined with `_`, as the environment provider does). */
const variablesOf = (config: Config.Config<unknown>): ReadonlyArray<string> => {
  const seen = new Set<string>()
  const recorder = ConfigProvider.fromFlat(ConfigProvider.makeFlat({
    load: (path) => {
      seen.add(path.join("_"))
      return Effect.fail(ConfigError.MissingData([...path], "recorded"))
    },
    enumerateChildren: () => Effect.succeed(HashSet.empty()),
    patch: PathPatch.empty
  }))
  Effect.runSync(Effect.either(Effect.withConfigProvider(config, recorder)))
  return [...seen].sort()
}

const sourceFiles = (dir: string): Array<string> =>
  Fs.readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => /\.(ts|mts|mjs)$/.test(f) && !f.includes(`${Path.sep}app${Path.sep}`))
    .map((f) => Path.join(dir, f))

const documented = (name: string) => docs.includes(`\`${name}\``)

describe("settings", () => {
  it("lists the variables of each area from its declarations", () => {
    expect(variablesOf(StoreSettings)).toEqual([
      "TRELLIS_BLOB_DIR",
      "TRELLIS_BLOB_S3_BUCKET",
      "TRELLIS_BLOB_S3_ENDPOINT",
      "TRELLIS_BLOB_S3_PREFIX",
      "TRELLIS_BLOB_S3_REGION",
      "TRELLIS_BLOB_STORE",
      "TRELLIS_BLOB_THRESHOLD_BYTES",
      "TRELLIS_CACHE_FRONT_ENTRIES",
      "TRELLIS_CACHE_MAX_ENTRIES",
      "TRELLIS_DATABASE_URL",
      "TRELLIS_GC_INTERVAL_MS",
      "TRELLIS_HOME",
      "TRELLIS_PGLITE_TEMPLATE",
      "TRELLIS_PGLITE_THREAD",
      "TRELLIS_STORE_COMMIT_LINGER_MS",
      "TRELLIS_STORE_COMMIT_MAX_BATCH"
    ])
    expect(variablesOf(CliSettings)).toEqual(["TRELLIS_API_KEY"])
    expect(variablesOf(ServerSettings)).toEqual([
      "OTEL_EXPORTER_OTLP_ENDPOINT",
      "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
      "OTEL_SERVICE_NAME",
      "TRELLIS_API_KEYS",
      "TRELLIS_CONFIG",
      "TRELLIS_WEB_DIR"
    ])
    expect(variablesOf(RetrievalSettings)).toEqual([
      "OPENAI_API_KEY",
      "OPENAI_BASE_URL",
      "TRELLIS_EMBEDDER",
      "TRELLIS_EMBEDDER_BATCH",
      "TRELLIS_EMBEDDINGS_API_KEY",
      "TRELLIS_EMBEDDINGS_DIMENSION",
      "TRELLIS_EMBEDDINGS_MODEL",
      "TRELLIS_EMBEDDINGS_URL",
      "TRELLIS_MODEL_HUB",
      "TRELLIS_ONNX_THREADS",
      "TRELLIS_RERANKER"
    ])
  })

  it("documents every declared variable in docs/configuration.md", () => {
    const declared = [StoreSettings, ServerSettings, RetrievalSettings, CliSettings].flatMap(variablesOf)
    const literals = sourceFiles(Path.join(root, "src")).flatMap((file) =>
      [
        ...Fs.readFileSync(file, "utf8").matchAll(
          /Config\.(?:string|redacted|integer|number|boolean|nonEmptyString|literal|duration|url|secret)\(\s*"([A-Z][A-Z0-9_]*)"/g
        )
      ]
        .map((m) => m[1]!)
    )
    // The scan sees the declarations (it would miss them if they moved out of src/).
    expect(literals).toEqual(
      expect.arrayContaining(["TRELLIS_HOME", "TRELLIS_HTTP_ALLOW", "TRELLIS_EMBEDDINGS_DIMENSION"])
    )
    const missing = [...new Set([...declared, ...literals])].filter((name) => !documented(name))
    expect(missing).toEqual([])
    expect(documented("TRELLIS_NOT_A_SETTING")).toBe(false)
  })

  it("src/ reads no process.env and no node:fs but where allowed", () => {
    const allowedEnv = new Set([
      // The redaction registry scans every variable by name (owned by the log redaction).
      "server/observability/redact.ts",
      // NO_COLOR and the TTY decide how the CLI prints before any Effect runs (the process's edge).
      "cli/main.ts"
    ])
    // The PGlite worker (plain JavaScript on its own thread) reads the template file next to PGlite.
    const allowedFs = new Set(["store/lock.ts", "store/pgliteThread.ts", "store/pgliteWorker.mjs"])
    const src = Path.join(root, "src")
    const offenders: Array<string> = []
    for (const file of sourceFiles(src)) {
      const rel = Path.relative(src, file).split(Path.sep).join("/")
      const text = Fs.readFileSync(file, "utf8").split("\n").filter((l) => !/^\s*(\*|\/\/)/.test(l)).join("\n")
      if (/process\.env\b/.test(text) && !allowedEnv.has(rel)) offenders.push(`${rel}: process.env`)
      if (/from "(node:)?fs(\/promises)?"/.test(text) && !allowedFs.has(rel)) offenders.push(`${rel}: node:fs`)
    }
    expect(offenders).toEqual([])
  })
})
