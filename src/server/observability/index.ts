/**
 * Observability of the server (SPEC §8): metrics in the Prometheus text
 * format, JSON logs with secret redaction, OpenTelemetry tracing, and the
 * HTTP middleware that ties a request to all three.
 */
export { formatLine, jsonLogger, layerJson, toRecord } from "./logging.js"
export type { JsonLoggerOptions } from "./logging.js"
export {
  CONTENT_TYPE,
  errorsTotal,
  httpRequestDuration,
  NO_WORKSPACE,
  observeEvents,
  observeEventsWith,
  recordError,
  recordEvents,
  recordRequest,
  renderMetrics,
  renderMetricsFor,
  renderPairs,
  runQueueDepth,
  runsExecuting,
  runsTotal,
  setQueueDepth,
  setRunsExecuting,
  tokensTotal,
  toolLatency
} from "./metrics.js"
export type { ObserveOptions, RenderOptions } from "./metrics.js"
export {
  currentRequest,
  currentRequestId,
  observeHttp,
  routeMatcher,
  routesOf,
  setRoute,
  setWorkspace,
  UNMATCHED
} from "./middleware.js"
export type { ObserveHttpOptions, RequestInfo } from "./middleware.js"
export {
  apiKeysOf,
  clearSecrets,
  redact,
  REDACTED,
  registerSecret,
  registerSecretEnv,
  registerSecretsFromEnv
} from "./redact.js"
export {
  layerInMemory,
  layerTracing,
  otlpTracesUrl,
  SpanRecorder,
  traceparentHeader,
  traceparentOf
} from "./tracing.js"
export type { TracingOptions } from "./tracing.js"
