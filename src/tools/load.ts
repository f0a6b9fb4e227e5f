/**
 * Loading user tools from a module (`trellis run prog.tr --tools ./my-tools.ts`).
 * Node edge: a dynamic import. `.ts` modules need a TypeScript loader
 * registered (the CLI runs under tsx).
 */
import { Effect, Schema } from "effect"
import { resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { isTool } from "./tool.js"
import type { AnyTool } from "./tool.js"

/** A tools module could not be imported or does not export valid tools. */
export class ToolModuleError extends Schema.TaggedError<ToolModuleError>()("ToolModuleError", {
  path: Schema.String,
  message: Schema.String
}) {}

const describe = (u: unknown): string => {
  if (u === null) return "null"
  if (Array.isArray(u)) return "an array"
  if (typeof u === "object") return "a plain object"
  return `a ${typeof u}`
}

/**
 * The tools exported by a module namespace as `tools` (an array or a record
 * of tools made with `Tool.make`); `default.tools` is accepted for CommonJS
 * modules. Pure: the checks of `loadToolsModule` without the import.
 */
export const toolsOfModule = (
  path: string,
  namespace: unknown
): Effect.Effect<ReadonlyArray<AnyTool>, ToolModuleError> => {
  const fail = (message: string) => Effect.fail(new ToolModuleError({ path, message: `${path}: ${message}` }))
  const ns = typeof namespace === "object" && namespace !== null ? (namespace as Record<string, unknown>) : {}
  const fallback = ns["default"]
  const tools = "tools" in ns
    ? ns["tools"]
    : typeof fallback === "object" && fallback !== null && "tools" in fallback
    ? (fallback as Record<string, unknown>)["tools"]
    : undefined
  if (tools === undefined) return fail("export `tools` is missing")
  const entries: ReadonlyArray<readonly [string, unknown]> = Array.isArray(tools)
    ? tools.map((t, i) => [`tools[${i}]`, t] as const)
    : typeof tools === "object" && tools !== null
    ? Object.entries(tools).map(([k, t]) => [`tools.${k}`, t] as const)
    : []
  if (!Array.isArray(tools) && (typeof tools !== "object" || tools === null)) {
    return fail(`export \`tools\` must be an array or a record of tools, got ${describe(tools)}`)
  }
  const out: Array<AnyTool> = []
  for (const [where, t] of entries) {
    if (!isTool(t)) return fail(`${where} is not a Tool (made with Tool.make), got ${describe(t)}`)
    // A module's tools must carry no requirements: the CLI has nothing to provide them with.
    out.push(t as AnyTool)
  }
  return Effect.succeed(out)
}

/**
 * Imports a module (path relative to the working directory) and returns the
 * tools it exports as `tools`; fails with `ToolModuleError` naming the path
 * and what is wrong.
 */
export const loadToolsModule = (path: string): Effect.Effect<ReadonlyArray<AnyTool>, ToolModuleError> =>
  Effect.tryPromise({
    try: (): Promise<unknown> => import(pathToFileURL(resolve(path)).href),
    catch: (e) =>
      new ToolModuleError({ path, message: `${path}: cannot import: ${e instanceof Error ? e.message : String(e)}` })
  }).pipe(Effect.flatMap((namespace) => toolsOfModule(path, namespace)))
