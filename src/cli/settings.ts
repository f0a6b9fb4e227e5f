/**
 * Every environment setting of the CLI itself, read through effect's
 * `Config` (documented in `docs/configuration.md`). The API key stays
 * `Redacted` until it becomes a request header.
 */
import { Config, Option, Redacted } from "effect"

/**
 * `TRELLIS_API_KEY`: the key the CLI sends when a keyed `trellis serve`
 * holds the store and commands go through its HTTP API (secret).
 */
export const apiKey: Config.Config<Option.Option<Redacted.Redacted<string>>> = Config.option(
  Config.redacted("TRELLIS_API_KEY")
).pipe(Config.map(Option.filter((key) => Redacted.value(key).trim() !== "")))

/** Every CLI setting at once (what `docs/configuration.md` must list). */
export const CliSettings = Config.all({ apiKey })
