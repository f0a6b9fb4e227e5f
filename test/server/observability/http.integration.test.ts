/**
 * Observability end to end over real HTTP on 127.0.0.1: a small router app
 * behind `observeHttp` runs a durable program whose tools are an async
 * tool and `http.get` to a second local server. The in-memory exporter
 * shows one trace server → run → node → tool → http.client, continuing the
 * caller's `traceparent`; the downstream server receives a `traceparent`
 * naming that trace; JSON log lines carry requestId, runId, traceId and
 * spanId and never the canary secret; the request id is echoed (also on a
 * 404); request latency is recorded under the matched route.
 */
import {
  HttpApi,
  HttpApiBuilder,
  HttpApiEndpoint,
  HttpApiGroup,
  HttpMiddleware,
  HttpRouter,
  HttpServer,
  HttpServerResponse
} from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { SpanKind } from "@opentelemetry/api"
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base"
import { Effect, Layer, ManagedRuntime, Schema } from "effect"
import { createServer } from "node:http"
import type { IncomingHttpHeaders, Server } from "node:http"
import type { AddressInfo } from "node:net"
import * as Durable from "../../../src/runtime/durable.js"
import { RunStore } from "../../../src/runtime/runStore.js"
import { layerJson } from "../../../src/server/observability/logging.js"
import { observeEvents, renderMetrics } from "../../../src/server/observability/metrics.js"
import { observeHttp, routesOf, setWorkspace } from "../../../src/server/observability/middleware.js"
import { clearSecrets, registerSecret } from "../../../src/server/observability/redact.js"
import { layerInMemory, SpanRecorder, traceparentHeader } from "../../../src/server/observability/tracing.js"
import { HttpAllowlist } from "../../../src/tools/builtin/httpGuard.js"
import { make } from "../../../src/tools/index.js"
import type { AnyTool } from "../../../src/tools/index.js"
import { compileProgram, testLayer } from "../../support/runtime.js"

const CANARY = "canary-7f3a9c-secret"
const CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"
const CALLER_SPAN = "b7ad6b7169203331"

const wait = make({
  name: "t.wait",
  description: "Sleeps a millisecond (a real fiber), logs, returns x + 1.",
  input: Schema.Struct({ x: Schema.Number }),
  output: Schema.Number,
  idempotent: true,
  handler: (args) =>
    Effect.sleep("1 millis").pipe(
      Effect.zipRight(Effect.logInfo(`waited; the key is ${CANARY}`)),
      Effect.as(args.x + 1)
    )
})
const tools = [wait] as unknown as ReadonlyArray<AnyTool>
const program = compileProgram(
  `program main(url: string) {
    a = tool t.wait(x: 1)
    page = tool http.get(url: url) with { after: [a] }
    return { a: a, status: page.status, body: page.body }
  }`,
  tools
)

/** The downstream server: answers "ok" and keeps the headers of every request. */
const received: Array<IncomingHttpHeaders> = []
let downstream: Server
let downstreamUrl = ""

const lines: Array<string> = []

const app = HttpRouter.empty.pipe(
  HttpRouter.post(
    "/v1/runs/:name",
    Effect.gen(function*() {
      yield* setWorkspace("acme")
      const result = yield* Durable.start(program, { url: downstreamUrl }, { workspace: "acme" })
      return yield* HttpServerResponse.json(result)
    })
  )
)

const services = Layer.mergeAll(
  Layer.provideMerge(observeEvents, Layer.merge(testLayer(tools), RunStore.layerMemory)),
  Layer.succeed(HttpAllowlist, ["127.0.0.1"])
)

const serverLayer = HttpServer.serve(
  app,
  (inner) => observeHttp({ routes: ["/v1/runs/:name"] })(HttpMiddleware.logger(inner))
).pipe(
  Layer.provide(services),
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
  Layer.provideMerge(
    Layer.merge(layerInMemory(), layerJson({ write: (line) => lines.push(line), secretsFromEnv: false }))
  )
)

let runtime: ManagedRuntime.ManagedRuntime<SpanRecorder | HttpServer.HttpServer, unknown>
let base = ""

beforeAll(async () => {
  registerSecret(CANARY)
  downstream = createServer((req, res) => {
    received.push(req.headers)
    res.writeHead(200, { "content-type": "text/plain" })
    res.end("ok")
  })
  await new Promise<void>((resolve) => downstream.listen(0, "127.0.0.1", resolve))
  downstreamUrl = `http://127.0.0.1:${(downstream.address() as AddressInfo).port}/page`
  runtime = ManagedRuntime.make(serverLayer)
  const server = await runtime.runPromise(HttpServer.HttpServer)
  const address = server.address
  if (address._tag !== "TcpAddress") throw new Error("expected a TCP address")
  base = `http://127.0.0.1:${address.port}`
})

afterAll(async () => {
  await runtime.dispose()
  await new Promise<void>((resolve) => downstream.close(() => resolve()))
  clearSecrets()
})

const spans = () => runtime.runPromise(Effect.flatMap(SpanRecorder, (r) => r.spans))
const idOf = (s: ReadableSpan) => s.spanContext().spanId
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId

describe("observability over HTTP", () => {
  let response: Response
  let body: unknown

  beforeAll(async () => {
    response = await fetch(`${base}/v1/runs/demo`, {
      method: "POST",
      headers: { "x-request-id": "req-42", traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` }
    })
    body = await response.json()
  })

  it("runs the program and echoes the request id", () => {
    expect(response.status).toBe(200)
    expect(body).toMatchObject({ status: "completed", output: { a: 2, status: 200, body: "ok" } })
    expect(response.headers.get("x-request-id")).toBe("req-42")
  })

  it("records one trace server → run → node → tool → http.client under the caller's trace", async () => {
    const all = await spans()
    const trace = all.filter((s) => s.spanContext().traceId === CALLER_TRACE)
    const one = (pred: (s: ReadableSpan) => boolean, what: string): ReadableSpan => {
      const found = trace.filter(pred)
      expect(found.map((s) => s.name), what).toHaveLength(1)
      return found[0]!
    }
    const server = one((s) => s.kind === SpanKind.SERVER, "server span")
    expect(parentOf(server)).toBe(CALLER_SPAN)
    expect(server.attributes["http.request_id"]).toBe("req-42")
    expect(server.attributes["http.route"]).toBe("/v1/runs/:name")
    expect(server.attributes["trellis.workspace"]).toBe("acme")
    const run = one((s) => s.name === "run", "run span")
    expect(parentOf(run)).toBe(idOf(server))
    expect(run.attributes["trellis.program"]).toBe("main")
    expect(run.attributes["trellis.workspace"]).toBe("acme")
    const runId = (body as { runId: string }).runId
    expect(run.attributes["trellis.run_id"]).toBe(runId)
    const nodes = trace.filter((s) => s.name === "node")
    expect(nodes.map((s) => s.attributes["trellis.tool"]).sort()).toEqual(["http.get", "t.wait"])
    for (const n of nodes) expect(parentOf(n)).toBe(idOf(run))
    const nodeOf = (tool: string) => nodes.find((n) => n.attributes["trellis.tool"] === tool)!
    const waitSpan = one((s) => s.name === "tool t.wait", "t.wait span")
    expect(parentOf(waitSpan)).toBe(idOf(nodeOf("t.wait")))
    expect(waitSpan.kind).toBe(SpanKind.CLIENT)
    const getSpan = one((s) => s.name === "tool http.get", "http.get span")
    expect(parentOf(getSpan)).toBe(idOf(nodeOf("http.get")))
    const client = one((s) => s.kind === SpanKind.CLIENT && s.name.startsWith("http.client"), "http.client span")
    expect(parentOf(client)).toBe(idOf(getSpan))
    // Every span of the request is in this one trace.
    expect(all.filter((s) => s.spanContext().traceId !== CALLER_TRACE).map((s) => s.name)).toEqual([])
    // The downstream server got the trace, with the outgoing call as parent.
    expect(received).toHaveLength(1)
    expect(received[0]!["traceparent"]).toBe(`00-${CALLER_TRACE}-${idOf(client)}-01`)
  })

  it("writes JSON log lines with requestId, runId, traceId, spanId and no secret", () => {
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>)
    const toolLine = records.find((r) => typeof r["message"] === "string" && r["message"].startsWith("waited"))
    expect(toolLine).toMatchObject({
      level: "info",
      message: "waited; the key is [REDACTED]",
      requestId: "req-42",
      runId: (body as { runId: string }).runId,
      workspace: "acme",
      traceId: CALLER_TRACE
    })
    expect(toolLine!["spanId"]).toMatch(/^[0-9a-f]{16}$/)
    expect(typeof toolLine!["time"]).toBe("string")
    const sent = records.find((r) => r["message"] === "Sent HTTP response")
    expect(sent).toMatchObject({ requestId: "req-42", "http.status": 200, traceId: CALLER_TRACE })
    for (const line of lines) expect(line).not.toContain(CANARY)
  })

  it("echoes a generated request id on a 404 and refuses a malformed one", async () => {
    const missing = await fetch(`${base}/nope/${encodeURIComponent("a b")}`, {
      headers: { "x-request-id": "bad id, too long ".repeat(20) }
    })
    expect(missing.status).toBe(404)
    expect(missing.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/)
  })

  it("records request latency under the matched route, unmatched paths under one label", async () => {
    const text = await runtime.runPromise(renderMetrics)
    expect(text).toMatch(
      /^trellis_http_request_duration_seconds_count\{method="POST",route="\/v1\/runs\/:name",status="200",workspace="acme"\} 1$/m
    )
    expect(text).toMatch(
      /^trellis_http_request_duration_seconds_count\{method="GET",route="unmatched",status="404",workspace="none"\} 1$/m
    )
    expect(text).not.toContain("/nope")
    expect(text).toMatch(/^trellis_runs_total\{status="completed",workspace="acme"\} 1$/m)
  })

  it("traceparentHeader gives the current span in W3C form, none outside a span", async () => {
    const inside = await runtime.runPromise(Effect.withSpan(traceparentHeader, "probe"))
    expect(inside._tag).toBe("Some")
    expect(inside._tag === "Some" ? inside.value : "").toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
    const outside = await runtime.runPromise(traceparentHeader)
    expect(outside._tag).toBe("None")
  })
})

describe("observeHttp on an HttpApi app (as the server applies it)", () => {
  class Api extends HttpApi.make("obs-test").add(
    HttpApiGroup.make("items").add(
      HttpApiEndpoint.get("getItem", "/v1/items/:id").setPath(Schema.Struct({ id: Schema.String })).addSuccess(
        Schema.Struct({ id: Schema.String })
      )
    )
  ) {}
  const ItemsLive = HttpApiBuilder.group(
    Api,
    "items",
    (handlers) => handlers.handle("getItem", ({ path }) => Effect.as(setWorkspace("beta"), { id: path.id }))
  )
  const ApiLive = HttpApiBuilder.api(Api).pipe(Layer.provide(ItemsLive))
  const live = HttpApiBuilder.serve(observeHttp({ routes: routesOf(Api) })).pipe(
    Layer.provide(ApiLive),
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
  )

  it("lists the API's routes, echoes request ids and labels latency with the route pattern", async () => {
    expect(routesOf(Api)).toEqual(["/v1/items/:id"])
    const rt = ManagedRuntime.make(live)
    try {
      const server = await rt.runPromise(HttpServer.HttpServer)
      const port = server.address._tag === "TcpAddress" ? server.address.port : 0
      const ok = await fetch(`http://127.0.0.1:${port}/v1/items/item-77`, { headers: { "x-request-id": "api-1" } })
      expect(ok.status).toBe(200)
      expect(await ok.json()).toEqual({ id: "item-77" })
      expect(ok.headers.get("x-request-id")).toBe("api-1")
      const missing = await fetch(`http://127.0.0.1:${port}/v1/nothing`, { headers: { "x-request-id": "api-2" } })
      expect(missing.status).toBe(404)
      expect(missing.headers.get("x-request-id")).toBe("api-2")
      const text = await rt.runPromise(renderMetrics)
      expect(text).toMatch(
        /^trellis_http_request_duration_seconds_count\{method="GET",route="\/v1\/items\/:id",status="200",workspace="beta"\} 1$/m
      )
      expect(text).not.toContain("item-77")
    } finally {
      await rt.dispose()
    }
  })
})
