/**
 * The environment settings of the LLM gateway, read through effect's
 * `Config` (documented in `docs/configuration.md`): a provider's API key is in
 * the variable its config names (`apiKeyEnv`), read as a secret and kept
 * `Redacted` until the request is made.
 */
import { Config, Option, Redacted } from "effect"

/** The API key in the variable `name` (a provider's `apiKeyEnv`); none when unset or empty. */
export const providerApiKey = (name: string): Config.Config<Option.Option<Redacted.Redacted<string>>> =>
  Config.option(Config.redacted(name)).pipe(Config.map(Option.filter((key) => Redacted.value(key) !== "")))
