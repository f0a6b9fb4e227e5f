/** Loading user tools from a module. */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { invoke, loadToolsModule, ToolModuleError, toolsOfModule } from "../../src/tools/index.js"

const dir = "test/fixtures/tools"

describe("loadToolsModule", () => {
  it.effect("loads an array of tools from a TypeScript module", () =>
    Effect.gen(function*() {
      const tools = yield* loadToolsModule(`${dir}/good.ts`)
      expect(tools.map((t) => t.name)).toEqual(["fixture.upper", "fixture.length"])
      expect(yield* invoke(tools[0]!, { text: "abc" })).toBe("ABC")
    }))

  it.effect("loads a record of tools", () =>
    Effect.gen(function*() {
      const tools = yield* loadToolsModule(`${dir}/record.ts`)
      expect(tools.map((t) => t.name)).toEqual(["fixture.reverse"])
    }))

  it.effect("loads a JavaScript module", () =>
    Effect.gen(function*() {
      const tools = yield* loadToolsModule(`${dir}/plain.js`)
      expect(yield* invoke(tools[0]!, { n: 1 })).toBe(2)
    }))

  it.effect("says what is wrong, naming the path", () =>
    Effect.gen(function*() {
      const error = (file: string) => Effect.flip(loadToolsModule(`${dir}/${file}`))
      expect(yield* error("missing.ts")).toEqual(
        new ToolModuleError({ path: `${dir}/missing.ts`, message: `${dir}/missing.ts: export \`tools\` is missing` })
      )
      expect(yield* error("notATool.ts")).toEqual(
        new ToolModuleError({
          path: `${dir}/notATool.ts`,
          message: `${dir}/notATool.ts: tools[2] is not a Tool (made with Tool.make), got a plain object`
        })
      )
      expect(yield* error("notAList.ts")).toEqual(
        new ToolModuleError({
          path: `${dir}/notAList.ts`,
          message: `${dir}/notAList.ts: export \`tools\` must be an array or a record of tools, got a string`
        })
      )
      const thrown = yield* error("throws.ts")
      expect(thrown.message).toMatch(/^test\/fixtures\/tools\/throws\.ts: cannot import: .*fixture exploded/)
      const absent = yield* error("nope.ts")
      expect(absent.path).toBe(`${dir}/nope.ts`)
      expect(absent.message).toMatch(/^test\/fixtures\/tools\/nope\.ts: cannot import: /)
    }))
})

describe("toolsOfModule", () => {
  it.effect("accepts `default.tools` (CommonJS) and names record keys in errors", () =>
    Effect.gen(function*() {
      expect(yield* toolsOfModule("m.cjs", { default: { tools: [] } })).toEqual([])
      expect(yield* Effect.flip(toolsOfModule("m.js", { tools: { good: 1 } }))).toEqual(
        new ToolModuleError({
          path: "m.js",
          message: "m.js: tools.good is not a Tool (made with Tool.make), got a number"
        })
      )
      expect((yield* Effect.flip(toolsOfModule("m.js", null))).message).toBe("m.js: export `tools` is missing")
    }))
})
