/**
 * The Layers the CLI runs programs with: the durable store of the
 * environment (PGlite under `TRELLIS_HOME`, default `./.trellis`, or
 * PostgreSQL at `TRELLIS_DATABASE_URL`) or everything in memory
 * (`--memory`), plus the tool registry (built-ins and `--tools`).
 */
import { Effect, Either, Layer } from "effect"
import type { EventLog } from "../trace/events.js"
import * as Runtime from "../runtime/runtime.js"
import type { RunRequirements } from "../runtime/runtime.js"
import { RunStore } from "../runtime/runStore.js"
import { Store } from "../store/index.js"
import { builtinTools, loadToolsModule, makeRegistry, ToolRegistry } from "../tools/index.js"
import type { AnyTool } from "../tools/index.js"
import { CliError } from "./io.js"

/** Every service a durable run needs. */
export type CliServices = RunRequirements | RunStore | EventLog

/** Loads `--tools` (when given) and builds the registry of built-ins plus those tools. */
export const loadRegistry = (toolsModule: string | undefined) =>
  Effect.gen(function*() {
    const userTools: ReadonlyArray<AnyTool> = toolsModule === undefined
      ? []
      : yield* loadToolsModule(toolsModule).pipe(Effect.mapError((e) => new CliError({ message: e.message })))
    const registry = makeRegistry([...builtinTools, ...userTools], new Set(builtinTools.map((t) => t.name)))
    if (Either.isLeft(registry)) return yield* new CliError({ message: registry.left.message })
    return { userTools, registry: registry.right }
  })

/** The store of the environment, or an error saying which store could not be opened and why. */
export const storeLayer = Store.layerFromEnv.pipe(
  Layer.mapError((e) => new CliError({ message: `cannot open the store: ${e.message}` }))
)

/** Run services: the durable store (default) or memory, with `registry` as the tools. */
export const servicesLayer = (
  registry: ToolRegistry["Type"],
  options: { readonly memory: boolean }
): Layer.Layer<CliServices, CliError> => {
  const tools = Layer.succeed(ToolRegistry, registry)
  if (options.memory) return Layer.mergeAll(Runtime.layerServices, RunStore.layerMemory, tools)
  return Layer.mergeAll(storeLayer, Runtime.ResultCache.layerMemory, Runtime.ToolLimiter.layer, tools)
}
