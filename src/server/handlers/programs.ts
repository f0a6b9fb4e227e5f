/** Handler of `POST /v1/programs/check`: violations, or the normal form and its hash. */
import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { encodeProgram } from "../../ir/json.js"
import { ToolRegistry } from "../../tools/registry.js"
import { Api } from "../api/index.js"
import { checkInput, violationsOf } from "./program.js"

/** The `programs` group. */
export const layerPrograms = HttpApiBuilder.group(Api, "programs", (handlers) =>
  handlers.handle("check", ({ payload }) =>
    Effect.gen(function*() {
      const registry = yield* ToolRegistry
      const checked = yield* checkInput(payload, registry.table)
      const ok = checked.diagnostics.length === 0 && checked.normalized !== undefined
      return {
        ok,
        format: checked.format,
        violations: violationsOf(checked),
        ...(checked.normalized === undefined ? {} : { normalized: JSON.parse(encodeProgram(checked.normalized)) as unknown }),
        ...(checked.hash === undefined ? {} : { hash: checked.hash })
      }
    })))
