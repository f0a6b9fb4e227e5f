/** Handlers of `/healthz`, `/metrics`, `/v1/tools` and `/v1/schema/program`. */
import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { programJsonSchema } from "../../ir/jsonSchema.js"
import { toolJsonSchema } from "../../tools/jsonSchema.js"
import { ToolRegistry } from "../../tools/registry.js"
import { CurrentWorkspace } from "../api/auth.js"
import { Api } from "../api/index.js"
import { ServerContext, VERSION } from "../context.js"
import { renderMetricsFor, setQueueDepth, setRunsExecuting } from "../observability/metrics.js"
import { RunManager } from "../runManager.js"

/** `/healthz`: liveness and gauges. */
export const layerHealth = HttpApiBuilder.group(
  Api,
  "health",
  (handlers) =>
    handlers.handle("healthz", () =>
      Effect.gen(function*() {
        const manager = yield* RunManager
        const ctx = yield* ServerContext
        const s = manager.stats()
        return {
          status: s.closing ? "draining" as const : "ok" as const,
          version: VERSION,
          queued: s.queued,
          running: s.running,
          sseClients: ctx.sse.clients
        }
      }))
)

/** Metrics, tools, IR schema. */
export const layerSystem = HttpApiBuilder.group(Api, "system", (handlers) =>
  handlers
    .handle("metrics", () =>
      Effect.gen(function*() {
        const ws = yield* CurrentWorkspace
        const s = (yield* RunManager).stats()
        yield* setQueueDepth(s.queued)
        yield* setRunsExecuting(s.running)
        return yield* renderMetricsFor(ws.name)
      }))
    .handle("tools", () =>
      Effect.map(ToolRegistry, (registry) => ({
        tools: registry.list.map((t) => {
          const s = toolJsonSchema(t)
          return { name: s.name, description: s.description, parameters: s.parameters, output: s.output }
        })
      })))
    .handle("programSchema", () => Effect.sync(() => programJsonSchema())))
