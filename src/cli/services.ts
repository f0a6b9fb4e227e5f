/**
 * The Layers the CLI runs programs with: the durable store of the
 * environment (PGlite under `TRELLIS_HOME`, default `./.trellis`, or
 * PostgreSQL at `TRELLIS_DATABASE_URL`) or everything in memory
 * (`--memory`), plus the tool registry: the built-ins, the retrieval tools
 * (`retrieval.ingest`, `retrieval.search`, on the store's own database
 * connection, set up only when a program uses them) and `--tools`.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as FileSystem from "@effect/platform/FileSystem"
import { Effect, Either, Layer } from "effect"
import * as Ocr from "../documents/ocr/index.js"
import { documentTools } from "../documents/tool.js"
import * as Router from "../llm/router.js"
import * as StepRunner from "../llm/stepRunner.js"
import { RetrievalError } from "../retrieval/errors.js"
import { layerDefault, Retrieval } from "../retrieval/service.js"
import type { RetrievalShape } from "../retrieval/service.js"
import { toolsOf } from "../retrieval/tools.js"
import type { LlmRunner } from "../runtime/llm.js"
import { RunStore } from "../runtime/runStore.js"
import * as Runtime from "../runtime/runtime.js"
import type { RunRequirements } from "../runtime/runtime.js"
import { loadConfig } from "../server/config.js"
import { Store } from "../store/index.js"
import * as StoredCache from "../store/resultCache.js"
import { layerPglite, MEMORY } from "../store/sql.js"
import { builtinTools, loadToolsModule, makeRegistry, ToolRegistry } from "../tools/index.js"
import type { AnyTool } from "../tools/index.js"
import type { EventLog } from "../trace/events.js"
import { CliError } from "./io.js"

/** Every service a durable run needs. */
export type CliServices = RunRequirements | RunStore | EventLog

const unconnected = (): never => {
  throw new RetrievalError({ reason: "bad-config", message: "retrieval is not connected" })
}

/** The retrieval tools' specs (names, Schemas) without a database: what programs are checked against. */
const retrievalSpecs: ReadonlyArray<AnyTool> = toolsOf({
  get settings(): never {
    return unconnected()
  },
  get embedder(): never {
    return unconnected()
  },
  vectorAvailable: false,
  ingest: unconnected,
  search: unconnected,
  searchModes: unconnected,
  stats: Effect.die("retrieval is not connected")
} as RetrievalShape)

/**
 * `doc.ocr` on the Tesseract backend (loaded on its first call); under the CLI it also reads local files (`path`),
 * under the server (`localFiles: false`) only `base64`.
 */
const ocrTools = (localFiles: boolean): ReadonlyArray<AnyTool> => [
  Ocr.makeOcrTool(
    Ocr.make(),
    localFiles
      ? {
        readFile: (path) =>
          Effect.flatMap(FileSystem.FileSystem, (fs) => fs.readFile(path)).pipe(Effect.provide(NodeFileSystem.layer))
      }
      : {}
  ) as AnyTool
]

/** The built-in tools of the CLI: the standard ones, the retrieval tools, `doc.pdf` and `doc.ocr`. */
const cliBuiltins: ReadonlyArray<AnyTool> = [...builtinTools, ...retrievalSpecs, ...documentTools, ...ocrTools(true)]

/** Whether a program (by the tools it names) uses retrieval. */
export const usesRetrieval = (tools: Iterable<string>): boolean => {
  for (const t of tools) if (t.startsWith("retrieval.")) return true
  return false
}

/**
 * Loads `--tools` (when given) and builds the registry of built-ins plus those tools; `localFiles: false` (the
 * server) gives tools no access to local files.
 */
export const loadRegistry = (
  toolsModule: string | undefined,
  extraTools: ReadonlyArray<AnyTool> = [],
  options: { readonly localFiles?: boolean } = {}
) =>
  Effect.gen(function*() {
    const builtins = options.localFiles === false
      ? [...builtinTools, ...retrievalSpecs, ...documentTools, ...ocrTools(false)]
      : cliBuiltins
    const userTools: ReadonlyArray<AnyTool> = toolsModule === undefined
      ? extraTools
      : [
        ...extraTools,
        ...yield* loadToolsModule(toolsModule).pipe(Effect.mapError((e) => new CliError({ message: e.message })))
      ]
    const registry = makeRegistry([...builtins, ...userTools], new Set(builtins.map((t) => t.name)))
    if (Either.isLeft(registry)) return yield* new CliError({ message: registry.left.message })
    return { userTools, registry: registry.right }
  })

/**
 * The runner of llm steps: the router of the config file's `providers`
 * (`path`, else `TRELLIS_CONFIG`; `local/echo` is always served) and its
 * `steps` settings; with no config file, `local/echo` only.
 */
const llmLayer = (path: string | undefined): Layer.Layer<LlmRunner, CliError, FileSystem.FileSystem> =>
  Layer.unwrapEffect(
    Effect.map(
      loadConfig(path),
      (cfg) => StepRunner.layer(cfg.file.steps ?? {}).pipe(Layer.provide(Router.layer(cfg.file)))
    )
  ).pipe(Layer.mapError((e) => new CliError({ message: e.message })))

/** The store of the environment, or an error saying which store could not be opened and why. */
export const storeLayer = Store.layerFromEnv.pipe(
  Layer.mapError((e) => new CliError({ message: `cannot open the store: ${e.message}` }))
)

/** The registry with the retrieval tools bound to a live `Retrieval` service. */
const registryWithRetrieval = (userTools: ReadonlyArray<AnyTool>) =>
  Layer.effect(
    ToolRegistry,
    Effect.gen(function*() {
      const retrieval = yield* Retrieval
      const made = makeRegistry([
        ...builtinTools,
        ...toolsOf(retrieval),
        ...documentTools,
        ...ocrTools(true),
        ...userTools
      ])
      if (Either.isLeft(made)) return yield* new CliError({ message: made.left.message })
      return made.right
    })
  )

const retrievalError = (e: unknown) =>
  new CliError({
    message: `cannot set up retrieval: ${
      e instanceof Error ? e.message : String((e as { message?: unknown }).message ?? e)
    }`
  })

/**
 * Run services: the durable store (default) or memory, with `registry` as
 * the tools; with `retrieval`, the retrieval tools run on the store's
 * database (or an in-memory one with `memory`).
 */
export const servicesLayer = (
  registry: ToolRegistry["Type"],
  options: {
    readonly memory: boolean
    readonly retrieval?: { readonly userTools: ReadonlyArray<AnyTool> }
    /** The config file of the LLM providers (else `TRELLIS_CONFIG`); `false`: no step runner (the server brings its own). */
    readonly config?: string | false | undefined
  }
): Layer.Layer<CliServices, CliError, FileSystem.FileSystem> => {
  const base = options.memory ? Layer.mergeAll(Runtime.layerServices, RunStore.layerMemory) : Layer.mergeAll(
    storeLayer,
    // The result cache lives in the store (shared by every process on it), with an in-process front.
    Layer.provide(StoredCache.layer(), storeLayer),
    Runtime.ToolLimiter.layer
  )
  // Provided after the base services, so the step runner overrides the runtime's default (no LLM layer).
  const store = options.config === false ? base : Layer.provideMerge(llmLayer(options.config), base)
  if (options.retrieval === undefined) return Layer.merge(store, Layer.succeed(ToolRegistry, registry))
  // One database connection: the store's client layer is the same value in both places, so it is built once.
  const sql = options.memory ? layerPglite(MEMORY).pipe(Layer.mapError(retrievalError)) : storeLayer
  const tools = registryWithRetrieval(options.retrieval.userTools).pipe(
    Layer.provide(layerDefault(sql).pipe(Layer.mapError(retrievalError)))
  )
  return Layer.merge(store, tools)
}
