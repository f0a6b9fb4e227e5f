/**
 * Secret redaction for log lines (and anything else written out): a
 * process-wide registry of secret values — values of secret environment
 * variables, `TRELLIS_API_KEYS` keys, anything given to `registerSecret` —
 * and `redact(text)`, which replaces every registered value (and its
 * JSON-escaped form) with `[REDACTED]`.
 */
import { Redacted } from "effect"
import { globalValue } from "effect/GlobalValue"

/** What a secret is replaced with. */
export const REDACTED = "[REDACTED]"

/** Environment variables whose values are secrets by their name. */
const SECRET_NAME = /(API_?KEYS?|SECRET|TOKEN|PASSWORD|PASSWD|PRIVATE_KEY|CREDENTIALS?)$/i

/** Environment variables holding database URLs (their password is a secret). */
const URL_VARS = ["TRELLIS_DATABASE_URL", "DATABASE_URL", "TRELLIS_TEST_DATABASE_URL"]

/** Values found by name heuristics shorter than this are not treated as secrets (they would garble every line). */
const MIN_GUESSED_LENGTH = 4

const registry = globalValue("trellis/observability/secrets", () => ({
  values: new Set<string>(),
  /** Longest first, with JSON-escaped forms; rebuilt after a change. */
  patterns: undefined as ReadonlyArray<string> | undefined
}))

/** Registers a secret value: it never appears in a redacted text. Empty values are ignored. */
export const registerSecret = (value: string | Redacted.Redacted<string>): void => {
  const text = Redacted.isRedacted(value) ? Redacted.value(value) : value
  if (text.length === 0 || registry.values.has(text)) return
  registry.values.add(text)
  registry.patterns = undefined
}

/** Registers the values of the named environment variables (e.g. a provider's `apiKeyEnv`) as secrets. */
export const registerSecretEnv = (names: Iterable<string>, env: NodeJS.ProcessEnv = process.env): void => {
  for (const name of names) {
    const value = env[name]
    if (value !== undefined) registerSecret(value)
  }
}

/** The keys of a `TRELLIS_API_KEYS` value (`acme=key1,beta=key2`). */
export const apiKeysOf = (value: string): ReadonlyArray<string> =>
  value
    .split(",")
    .map((part) => {
      const eq = part.indexOf("=")
      return (eq < 0 ? part : part.slice(eq + 1)).trim()
    })
    .filter((key) => key.length > 0)

/**
 * Registers the secrets the environment is known to hold: every
 * `TRELLIS_API_KEYS` key, the values of variables named like secrets
 * (`*_API_KEY`, `*_SECRET`, `*_TOKEN`, `*_PASSWORD`, …, at least 4
 * characters long), and the password of a database URL.
 */
export const registerSecretsFromEnv = (env: NodeJS.ProcessEnv = process.env): void => {
  const keys = env["TRELLIS_API_KEYS"]
  if (keys !== undefined) { for (const key of apiKeysOf(keys)) registerSecret(key) }
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && value.length >= MIN_GUESSED_LENGTH && SECRET_NAME.test(name)) registerSecret(value)
  }
  for (const name of URL_VARS) {
    const value = env[name]
    if (value === undefined) continue
    try {
      const password = decodeURIComponent(new URL(value).password)
      if (password.length > 0) registerSecret(password)
    } catch {
      // Not a URL: nothing to take from it.
    }
  }
}

/** Forgets every registered secret (tests). */
export const clearSecrets = (): void => {
  registry.values.clear()
  registry.patterns = undefined
}

const patterns = (): ReadonlyArray<string> => {
  if (registry.patterns === undefined) {
    const all = new Set<string>()
    for (const value of registry.values) {
      all.add(value)
      // The form the value takes inside a JSON string.
      all.add(JSON.stringify(value).slice(1, -1))
    }
    registry.patterns = [...all].sort((a, b) => b.length - a.length)
  }
  return registry.patterns
}

/** `text` with every registered secret replaced by `[REDACTED]`. */
export const redact = (text: string): string => {
  let out = text
  for (const secret of patterns()) if (out.includes(secret)) out = out.split(secret).join(REDACTED)
  return out
}
