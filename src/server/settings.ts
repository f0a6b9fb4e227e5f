/**
 * Every environment setting of the server (and `trellis serve`), read through
 * effect's `Config` (documented in `docs/configuration.md`). API keys stay
 * `Redacted` until they are hashed.
 */
import { Config, Option, Redacted } from "effect"

const nonEmpty = (config: Config.Config<string>): Config.Config<Option.Option<string>> =>
  Config.option(config).pipe(Config.map(Option.filter((value) => value.trim() !== "")))

/** `TRELLIS_CONFIG`: the JSON config file (when `--config` is not given). */
export const configFile: Config.Config<Option.Option<string>> = nonEmpty(Config.string("TRELLIS_CONFIG"))

/** `TRELLIS_API_KEYS`: development API keys, `workspace=key,…` (secret). */
export const apiKeys: Config.Config<Option.Option<Redacted.Redacted<string>>> = Config.option(
  Config.redacted("TRELLIS_API_KEYS")
).pipe(Config.map(Option.filter((keys) => Redacted.value(keys).trim() !== "")))

/** `TRELLIS_WEB_DIR`: where the built trace viewer is (else next to the CLI bundle, else `dist/web/`). */
export const webDir: Config.Config<Option.Option<string>> = nonEmpty(Config.string("TRELLIS_WEB_DIR"))

/** `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`: the OTLP/HTTP traces URL, as given. */
export const otlpTracesEndpoint: Config.Config<Option.Option<string>> = nonEmpty(
  Config.string("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
).pipe(Config.map(Option.map((url) => url.trim())))

/** `OTEL_EXPORTER_OTLP_ENDPOINT`: the OTLP/HTTP base URL (`/v1/traces` is appended). */
export const otlpEndpoint: Config.Config<Option.Option<string>> = nonEmpty(
  Config.string("OTEL_EXPORTER_OTLP_ENDPOINT")
).pipe(Config.map(Option.map((url) => url.trim())))

/** `OTEL_SERVICE_NAME`: the `service.name` of exported spans. */
export const otelServiceName: Config.Config<Option.Option<string>> = Config.option(Config.string("OTEL_SERVICE_NAME"))

/** The OTLP/HTTP traces URL: the traces endpoint as given, else the base endpoint + `/v1/traces`, else none. */
export const otlpTracesUrl: Config.Config<Option.Option<string>> = Config.all([otlpTracesEndpoint, otlpEndpoint]).pipe(
  Config.map(([traces, base]) =>
    Option.orElse(traces, () => Option.map(base, (url) => `${url.replace(/\/+$/, "")}/v1/traces`))
  )
)

/** Every server setting at once (what `docs/configuration.md` must list). */
export const ServerSettings = Config.all({
  configFile,
  apiKeys,
  webDir,
  otlpTracesEndpoint,
  otlpEndpoint,
  otelServiceName
})
