/**
 * `layerTracing` exports spans over OTLP/HTTP to the endpoint named by
 * OTEL_EXPORTER_OTLP_ENDPOINT (a local receiver on 127.0.0.1 here), with
 * the service name, and flushes them when the layer is released; without
 * the variable it installs nothing.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Option } from "effect"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { layerTracing, otlpTracesUrl } from "../../../src/server/observability/tracing.js"

const fromEnv = (env: Record<string, string>) => ConfigProvider.fromMap(new Map(Object.entries(env)))

describe("layerTracing", () => {
  const urlWith = (env: Record<string, string>) =>
    Effect.runSync(Effect.map(Effect.withConfigProvider(otlpTracesUrl, fromEnv(env)), Option.getOrUndefined))

  it("derives the traces URL from the settings", () => {
    expect(urlWith({})).toBeUndefined()
    expect(urlWith({ OTEL_EXPORTER_OTLP_ENDPOINT: " " })).toBeUndefined()
    expect(urlWith({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318/" })).toBe("http://c:4318/v1/traces")
    expect(urlWith({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://t/x" }))
      .toBe("http://t/x")
  })

  it.effect("installs no tracer without an endpoint", () =>
    Effect.gen(function*() {
      const before = yield* Effect.tracer
      const during = yield* Effect.tracer.pipe(Effect.provide(layerTracing()), Effect.withConfigProvider(fromEnv({})))
      expect(during).toBe(before)
    }))

  it.live("sends the spans of a traced effect to the OTLP endpoint when the layer is released", () =>
    Effect.gen(function*() {
      const bodies: Array<{ readonly path: string; readonly body: string }> = []
      const receiver = createServer((req, res) => {
        let body = ""
        req.on("data", (c: Buffer) => (body += c.toString("utf8")))
        req.on("end", () => {
          bodies.push({ path: req.url ?? "", body })
          res.writeHead(200, { "content-type": "application/json" })
          res.end("{}")
        })
      })
      yield* Effect.acquireRelease(
        Effect.async<void>((resume) => {
          receiver.listen(0, "127.0.0.1", () => resume(Effect.void))
        }),
        () => Effect.sync(() => receiver.close())
      )
      const port = (receiver.address() as AddressInfo).port
      const env = { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_SERVICE_NAME: "trellis-otlp-test" }
      yield* Effect.scoped(
        Effect.void.pipe(
          Effect.withSpan("inner-span"),
          Effect.withSpan("outer-span", { attributes: { "trellis.run_id": "run-otlp" } }),
          Effect.provide(layerTracing()),
          Effect.withConfigProvider(fromEnv(env))
        )
      )
      expect(bodies.map((b) => b.path)).toEqual(["/v1/traces"])
      const body = bodies[0]!.body
      expect(body).toContain("\"inner-span\"")
      expect(body).toContain("\"outer-span\"")
      expect(body).toContain("run-otlp")
      expect(body).toContain("trellis-otlp-test")
    }).pipe(Effect.scoped))
})
