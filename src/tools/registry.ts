/**
 * The tool registry service: the tools a run may call, by name, plus the
 * ToolTable the validator checks programs against.
 */
import { Context, Effect, Either, Exit, Layer, Schema } from "effect"
import type { ToolTable } from "../validate/context.js"
import { builtinTools } from "./builtin/index.js"
import type { AnyTool, Tool, ToolRequirements, UnknownTool } from "./tool.js"

/** Building a registry failed: two tools share a name (or a user tool shadows a built-in). */
export class ToolRegistryError extends Schema.TaggedError<ToolRegistryError>()("ToolRegistryError", {
  message: Schema.String,
  names: Schema.Array(Schema.String)
}) {}

/** The registry's interface. */
export interface ToolRegistryService {
  /** The tool of that name, if registered. */
  readonly get: (name: string) => AnyTool | undefined
  /** Every registered tool, in registration order. */
  readonly list: ReadonlyArray<AnyTool>
  /** The specs of every tool, for the validator. */
  readonly table: ToolTable
}

/** Builds a registry service from tools whose requirements are already provided; duplicate names are an error. */
export const makeRegistry = (
  tools: ReadonlyArray<AnyTool>,
  builtinNames: ReadonlySet<string> = new Set()
): Either.Either<ToolRegistryService, ToolRegistryError> => {
  const byName = new Map<string, AnyTool>()
  const duplicates: Array<string> = []
  const shadowing: Array<string> = []
  for (const tool of tools) {
    if (byName.has(tool.name)) {
      if (builtinNames.has(tool.name)) shadowing.push(tool.name)
      else duplicates.push(tool.name)
    } else {
      byName.set(tool.name, tool)
    }
  }
  if (shadowing.length > 0 || duplicates.length > 0) {
    const parts: Array<string> = []
    if (shadowing.length > 0) parts.push(`user tools shadow built-in tools: ${shadowing.join(", ")}`)
    if (duplicates.length > 0) parts.push(`duplicate tool names: ${duplicates.join(", ")}`)
    return Either.left(new ToolRegistryError({ message: parts.join("; "), names: [...shadowing, ...duplicates] }))
  }
  const list = [...byName.values()]
  const table: ToolTable = new Map(list.map((t) => [t.name, t.spec] as const))
  return Either.right({ get: (name) => byName.get(name), list, table })
}

/**
 * Binds a tool's handler requirements to a captured context, giving a tool
 * with none. The captured services win over the call site's for the same tag.
 */
export const provideTool = <I, O, R>(tool: Tool<I, O, R>, context: Context.Context<R>): Tool<I, O, never> => {
  // An already-completed result (an Exit) needs no context: return it as it is, which keeps the
  // runtime's no-fiber fast path for synchronous handlers.
  const withContext = <A, E>(eff: Effect.Effect<A, E, R>): Effect.Effect<A, E> =>
    Exit.isExit(eff)
      ? (eff as Exit.Exit<A, E>)
      : Effect.mapInputContext(eff, (current: Context.Context<never>) => Context.merge(current, context))
  const { batchHandler, handler, ...rest } = tool
  const provided: Tool<I, O, never> = { ...rest, handler: (args, ctx) => withContext(handler(args, ctx)) }
  return batchHandler === undefined
    ? provided
    : { ...provided, batchHandler: (args, ctx) => withContext(batchHandler(args, ctx)) }
}

const builtinNameSet: ReadonlySet<string> = new Set(builtinTools.map((t) => t.name))

const build = <T extends UnknownTool>(
  tools: ReadonlyArray<T>,
  withBuiltins: boolean
): Layer.Layer<ToolRegistry, ToolRegistryError, ToolRequirements<T>> =>
  Layer.effect(
    ToolRegistry,
    Effect.gen(function*() {
      const context = yield* Effect.context<ToolRequirements<T>>()
      const user = tools.map((t) => provideTool(t as Tool<unknown, unknown, ToolRequirements<T>>, context))
      const all = withBuiltins ? [...builtinTools, ...user] : user
      return yield* makeRegistry(all, withBuiltins ? builtinNameSet : new Set())
    })
  )

/** The tool registry: the tools a run may call. */
export class ToolRegistry extends Context.Tag("trellis/ToolRegistry")<ToolRegistry, ToolRegistryService>() {
  /** Exactly the given tools (their requirements come from the layer's context). */
  static readonly layer = <T extends UnknownTool>(
    tools: ReadonlyArray<T>
  ): Layer.Layer<ToolRegistry, ToolRegistryError, ToolRequirements<T>> => build(tools, false)

  /** The built-in tools only. */
  static readonly layerBuiltins: Layer.Layer<ToolRegistry> = Layer.succeed(
    ToolRegistry,
    Either.getOrThrow(makeRegistry(builtinTools))
  )

  /** The built-in tools plus the given ones; a user tool with a built-in's name fails the layer. */
  static readonly layerWith = <T extends UnknownTool>(
    tools: ReadonlyArray<T>
  ): Layer.Layer<ToolRegistry, ToolRegistryError, ToolRequirements<T>> => build(tools, true)
}
