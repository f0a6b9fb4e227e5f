/** The ToolRegistry service and its layers. */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Schema } from "effect"
import { builtinTools, invoke, make, ToolRegistry, ToolRegistryError } from "../../src/tools/index.js"

class Greeting extends Context.Tag("test/Greeting")<Greeting, { readonly word: string }>() {}

const greet = make({
  name: "greet",
  description: "Greets someone.",
  input: Schema.Struct({ who: Schema.String }),
  output: Schema.String,
  handler: (args) => Effect.map(Greeting, (g) => `${g.word}, ${args.who}`)
})

const plain = make({
  name: "team.plain",
  description: "",
  input: Schema.Struct({}),
  output: Schema.Number,
  handler: () => Effect.succeed(1)
})

const registry = <E, R>(layer: Layer.Layer<ToolRegistry, E, R>, provide: Layer.Layer<R>) =>
  Effect.runSyncExit(Effect.provide(ToolRegistry, Layer.provide(layer, provide)))

describe("ToolRegistry", () => {
  it("layer: exactly the given tools, with their specs in the table", () => {
    const exit = registry(ToolRegistry.layer([plain]), Layer.empty)
    expect(Exit.isSuccess(exit)).toBe(true)
    if (!Exit.isSuccess(exit)) return
    const reg = exit.value
    expect(reg.list.map((t) => t.name)).toEqual(["team.plain"])
    expect(reg.get("team.plain")?.name).toBe("team.plain")
    expect(reg.get("std.echo")).toBeUndefined()
    expect([...reg.table.keys()]).toEqual(["team.plain"])
    expect(reg.table.get("team.plain")).toBe(plain.spec)
  })

  it("layerBuiltins: the built-ins only", () => {
    const names = Effect.runSync(
      Effect.provide(Effect.map(ToolRegistry, (r) => r.list.map((t) => t.name)), ToolRegistry.layerBuiltins)
    )
    expect(names).toEqual(builtinTools.map((t) => t.name))
  })

  it("layerWith: built-ins plus user tools", () => {
    const exit = registry(ToolRegistry.layerWith([plain]), Layer.empty)
    expect(Exit.isSuccess(exit) && exit.value.list.map((t) => t.name)).toEqual([
      ...builtinTools.map((t) => t.name),
      "team.plain"
    ])
  })

  it("captures the handlers' requirements from the layer's context", () => {
    const program = Effect.gen(function*() {
      const reg = yield* ToolRegistry
      return yield* invoke(reg.get("greet")!, { who: "Ada" })
    })
    const layer = ToolRegistry.layer([greet, plain]).pipe(Layer.provide(Layer.succeed(Greeting, { word: "Hello" })))
    expect(Effect.runSync(Effect.provide(program, layer))).toBe("Hello, Ada")
  })

  it("a user tool shadowing a built-in fails the layer", () => {
    const shadow = make({
      name: "std.echo",
      description: "",
      input: Schema.Struct({}),
      output: Schema.Number,
      handler: () => Effect.succeed(2)
    })
    const exit = registry(ToolRegistry.layerWith([shadow]), Layer.empty)
    expect(exit).toEqual(
      Exit.fail(new ToolRegistryError({ message: "user tools shadow built-in tools: std.echo", names: ["std.echo"] }))
    )
  })

  it("duplicate names fail the layer", () => {
    const exit = registry(ToolRegistry.layer([plain, greet, plain]), Layer.succeed(Greeting, { word: "Hi" }))
    expect(exit).toEqual(
      Exit.fail(new ToolRegistryError({ message: "duplicate tool names: team.plain", names: ["team.plain"] }))
    )
  })
})
