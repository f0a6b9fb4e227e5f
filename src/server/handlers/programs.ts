/** Handlers of `POST /v1/programs/check` (violations, or the normal form and its hash) and `POST /v1/programs/plan` (the planner). */
import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { encodeProgram } from "../../ir/json.js"
import { plan } from "../../llm/planner.js"
import type { PlanError } from "../../llm/planner.js"
import { ToolRegistry } from "../../tools/registry.js"
import { CurrentWorkspace } from "../api/auth.js"
import { BadRequest, TooManyRequests, Unavailable } from "../api/errors.js"
import { Api } from "../api/index.js"
import { PlanInvalid } from "../api/programs.js"
import { checkInput, violationsOf } from "./program.js"

/** The API error of a planner failure: the request's fault (400), a rate limit (429), or the model's (503). */
const planFailure = (e: PlanError): BadRequest | TooManyRequests | Unavailable => {
  switch (e.llmReason) {
    case "RateLimited":
    case "QuotaExceeded":
      return new TooManyRequests({ message: `plan: ${e.message}`, retryAfter: 1 })
    case "UnknownModel":
    case "CapabilityMissing":
    case "BadRequest":
      return new BadRequest({ message: `plan: ${e.message}` })
    default:
      return e.reason === "BadOptions"
        ? new BadRequest({ message: `plan: ${e.message}` })
        : new Unavailable({ message: `plan: ${e.message}` })
  }
}

/** The `programs` group. */
export const layerPrograms = HttpApiBuilder.group(
  Api,
  "programs",
  (handlers) =>
    handlers.handle("check", ({ payload }) =>
      Effect.gen(function*() {
        const registry = yield* ToolRegistry
        const checked = yield* checkInput(payload, registry.table)
        const ok = checked.diagnostics.length === 0 && checked.normalized !== undefined
        return {
          ok,
          format: checked.format,
          violations: violationsOf(checked),
          ...(checked.normalized === undefined
            ? {}
            : { normalized: JSON.parse(encodeProgram(checked.normalized)) as unknown }),
          ...(checked.hash === undefined ? {} : { hash: checked.hash })
        }
      })).handle("plan", ({ payload }) =>
        Effect.gen(function*() {
          const registry = yield* ToolRegistry
          const ws = yield* CurrentWorkspace
          const result = yield* plan(payload.task, {
            model: payload.model,
            tools: registry.table,
            workspace: ws.name,
            ...(payload.rounds === undefined ? {} : { rounds: payload.rounds })
          }).pipe(Effect.mapError(planFailure))
          if (result._tag === "Invalid") {
            return yield* new PlanInvalid({
              message: `no valid program after ${result.rounds} round${result.rounds === 1 ? "" : "s"}`,
              rounds: result.rounds,
              violations: result.violations.map((v) => ({
                code: v.code,
                message: v.message,
                ...(v.path === undefined ? {} : { path: [...v.path] })
              }))
            })
          }
          return {
            program: JSON.parse(encodeProgram(result.program)) as unknown,
            source: result.source,
            hash: result.hash,
            rounds: result.rounds
          }
        }))
)
