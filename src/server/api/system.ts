/**
 * Endpoints about the server itself: `GET /healthz` (no key needed),
 * `GET /metrics` (Prometheus text), `GET /v1/tools` (the JSON Schema of each
 * tool), `GET /v1/schema/program` (the JSON Schema of the IR).
 */
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { Authorization } from "./auth.js"

/** What `/healthz` answers. */
export const Health = Schema.Struct({
  status: Schema.Literal("ok", "draining"),
  version: Schema.String,
  /** Runs waiting for a slot, runs executing, SSE clients connected. */
  queued: Schema.Int,
  running: Schema.Int,
  sseClients: Schema.Int
})

/** Liveness, unauthenticated. */
export class HealthGroup extends HttpApiGroup.make("health").add(
  HttpApiEndpoint.get("healthz", "/healthz").addSuccess(Health).annotate(
    OpenApi.Summary,
    "Liveness, version and gauges"
  )
) {}

/** A tool as a model sees it. */
export const ToolInfo = Schema.Struct({
  name: Schema.String,
  description: Schema.String,
  parameters: Schema.Unknown,
  output: Schema.Unknown
})

/** Metrics, tools and the IR schema (authenticated). */
export class SystemGroup extends HttpApiGroup.make("system")
  .add(
    HttpApiEndpoint.get("metrics", "/metrics")
      .addSuccess(
        Schema.String.pipe(HttpApiSchema.withEncoding({ kind: "Text", contentType: "text/plain; version=0.0.4" }))
      )
      .annotate(OpenApi.Summary, "Prometheus metrics (text format 0.0.4)")
  )
  .add(
    HttpApiEndpoint.get("tools", "/v1/tools")
      .addSuccess(Schema.Struct({ tools: Schema.Array(ToolInfo) }))
      .annotate(OpenApi.Summary, "The server's tools as JSON Schema")
  )
  .add(
    HttpApiEndpoint.get("programSchema", "/v1/schema/program")
      .addSuccess(Schema.Unknown)
      .annotate(OpenApi.Summary, "The JSON Schema of the program IR")
  )
  .middleware(Authorization)
{}
