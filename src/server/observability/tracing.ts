/**
 * Tracing: OpenTelemetry through `@effect/opentelemetry`. `layerTracing`
 * installs the OpenTelemetry tracer with a batching OTLP/HTTP exporter when
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is
 * set, and nothing otherwise (Effect's own tracer stays). `layerInMemory`
 * records finished spans in memory for tests (read them inside the layer's
 * scope: releasing it shuts the exporter down and empties it).
 * `traceparentHeader` is the W3C `traceparent` of the current span.
 */
import { NodeSdk } from "@effect/opentelemetry"
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http"
import { BatchSpanProcessor, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base"
import { Config, Context, Effect, Layer, Option } from "effect"
import type { ConfigError, Tracer } from "effect"
import * as Settings from "../settings.js"

/** Options of the tracing layers. */
export interface TracingOptions {
  /** The `service.name` resource attribute (`OTEL_SERVICE_NAME` wins when set). @default "trellis" */
  readonly serviceName?: string
}

/**
 * The OTLP/HTTP traces URL configured in the environment, if any (a `Config`,
 * see `../settings.ts`): `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as given, else
 * `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`.
 */
export const otlpTracesUrl: Config.Config<Option.Option<string>> = Settings.otlpTracesUrl

/**
 * OpenTelemetry tracing exported over OTLP/HTTP (batched) when
 * `OTEL_EXPORTER_OTLP_ENDPOINT` is set; otherwise an empty layer (Effect's
 * default tracer). Settings are read through `Config` when the layer is
 * built. Spans go to `otlpTracesUrl` as OTLP JSON; the exporter reads
 * `OTEL_EXPORTER_OTLP_HEADERS` / `_TIMEOUT` itself. Spans still buffered are
 * flushed when the layer is released.
 */
export const layerTracing = (options: TracingOptions = {}): Layer.Layer<never, ConfigError.ConfigError> =>
  Layer.unwrapEffect(
    Effect.map(Config.all([otlpTracesUrl, Settings.otelServiceName]), ([url, name]) => {
      if (Option.isNone(url)) return Layer.empty
      const serviceName = Option.getOrElse(name, () => options.serviceName ?? "trellis")
      return Layer.discard(
        NodeSdk.layer(() => ({
          resource: { serviceName },
          spanProcessor: new BatchSpanProcessor(new OTLPTraceExporter({ url: url.value }))
        }))
      )
    })
  )

/** The spans recorded by `layerInMemory`. */
export class SpanRecorder extends Context.Tag("trellis/SpanRecorder")<
  SpanRecorder,
  {
    /** Every span finished so far, in the order they ended. */
    readonly spans: Effect.Effect<ReadonlyArray<ReadableSpan>>
    /** Forgets the spans recorded so far. */
    readonly reset: Effect.Effect<void>
  }
>() {}

/** OpenTelemetry tracing into an in-memory exporter (one `SimpleSpanProcessor`), with `SpanRecorder` to read it. */
export const layerInMemory = (options: { readonly serviceName?: string } = {}): Layer.Layer<SpanRecorder> =>
  Layer.unwrapEffect(
    Effect.sync(() => {
      const exporter = new InMemorySpanExporter()
      const sdk = NodeSdk.layer(() => ({
        resource: { serviceName: options.serviceName ?? "trellis-test" },
        spanProcessor: new SimpleSpanProcessor(exporter)
      }))
      const recorder = Layer.succeed(SpanRecorder, {
        spans: Effect.sync(() => exporter.getFinishedSpans()),
        reset: Effect.sync(() => exporter.reset())
      })
      return Layer.merge(Layer.discard(sdk), recorder)
    })
  )

/** The W3C `traceparent` of a span: `00-<trace id>-<span id>-<flags>`. */
export const traceparentOf = (span: Tracer.AnySpan): string =>
  `00-${span.traceId}-${span.spanId}-${span.sampled ? "01" : "00"}`

/** The W3C `traceparent` header value of the current span, if there is one. */
export const traceparentHeader: Effect.Effect<Option.Option<string>> = Effect.map(
  Effect.option(Effect.currentSpan),
  Option.map(traceparentOf)
)
