/**
 * The server's configuration (SPEC §8): the JSON config file (`--config` or
 * `TRELLIS_CONFIG`) decoded with Schema at start, plus development API keys
 * from `TRELLIS_API_KEYS="acme=key1,beta=key2"`. A bad config is one
 * `ConfigError` naming the field. Keys are only ever kept hashed
 * (`sha256:<hex>`); with no workspace configured the server is "open": one
 * `default` workspace, loopback only.
 */
import type { PlatformError } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import { Effect, Either, Option, ParseResult, Redacted, Schema } from "effect"
import { createHash } from "node:crypto"
import { ClusterConfig } from "../cluster/index.js"
import { ProviderConfig } from "../llm/config.js"
import { StepsConfig } from "../llm/stepRunner.js"
import { BanditStrategy } from "../runtime/bandit/state.js"
import { RetentionPolicy } from "../store/retention.js"
import * as Settings from "./settings.js"

/** The configuration could not be read or is invalid. */
export class ConfigError extends Schema.TaggedError<ConfigError>()("ConfigError", {
  message: Schema.String
}) {}

const PositiveInt = Schema.Int.pipe(Schema.positive())
const opt = <S extends Schema.Schema.Any>(s: S) => Schema.optionalWith(s, { exact: true })

/** A workspace's quotas (absent: unlimited). */
export const Quotas = Schema.Struct({
  runsPerMinute: opt(PositiveInt),
  concurrentRuns: opt(PositiveInt),
  tokensPerMinute: opt(PositiveInt)
})
export type Quotas = typeof Quotas.Type

/** A workspace: its name, the sha256 hashes of its API keys, its quotas. */
export const Workspace = Schema.Struct({
  name: Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9_.-]{1,64}$/, {
    message: () => "a workspace name is 1-64 letters, digits, '_', '.' or '-'"
  })),
  keyHashes: Schema.Array(Schema.String.pipe(Schema.pattern(/^sha256:[0-9a-f]{64}$/, {
    message: () => "a key hash is \"sha256:\" followed by 64 lowercase hex digits"
  }))),
  quotas: opt(Quotas),
  /** Which ended runs `trellis gc` and the server's collector compact (docs/operations.md). */
  retention: opt(RetentionPolicy)
})
export type Workspace = typeof Workspace.Type

/** An LLM provider (the LLM gateway's schema, `src/llm/config.ts`). */
export const Provider = ProviderConfig

/** Server limits. */
export const Limits = Schema.Struct({
  /** Largest request body. @default 1048576 */
  maxBodyBytes: opt(PositiveInt),
  /** Runs waiting for a slot before submissions get 429. @default 1000 */
  runQueue: opt(PositiveInt),
  /** Runs executing at once, over all workspaces. @default 64 */
  concurrentRuns: opt(PositiveInt),
  /** How long a shutdown waits for runs to finish before leaving them resumable. @default 10000 */
  drainMs: opt(Schema.Int.pipe(Schema.nonNegative())),
  /** Interval of SSE heartbeat comments. @default 15000 */
  sseHeartbeatMs: opt(PositiveInt),
  /** How long an Idempotency-Key is remembered. @default 86400000 (24 h) */
  idempotencyTtlMs: opt(PositiveInt),
  /** Runs one workspace may execute at once (fair share of `concurrentRuns`). @default half of concurrentRuns, at least 1 */
  workspaceRuns: opt(PositiveInt),
  /** Longest wall time of a run; beyond it the run fails with ResourceExhausted. @default 3600000 (1 h) */
  maxRunMs: opt(PositiveInt),
  /** Most node executions of a run (map items count each); beyond it the run fails with ResourceExhausted. @default 200000 */
  maxRunNodes: opt(PositiveInt),
  /** How long a request body may take to arrive; slower ones get 408. @default 10000 */
  bodyReadMs: opt(PositiveInt),
  /** Quotas of workspaces that declare none (every `TRELLIS_API_KEYS` workspace). @default 600 runs/min, 200 concurrent */
  defaultQuotas: opt(Quotas)
})

/** The config file. */
export const ConfigFile = Schema.Struct({
  workspaces: opt(Schema.Array(Workspace)),
  providers: opt(Schema.Array(Provider)),
  fallbacks: opt(Schema.Record({ key: Schema.String, value: Schema.Array(Schema.String) })),
  limits: opt(Limits),
  /** Settings of llm steps in programs (`src/llm/stepRunner.ts`). */
  steps: opt(StepsConfig),
  /** Bandit state of `choose` steps: per workspace, unless `shared` (every workspace learns from every other). */
  bandit: opt(Schema.Struct({
    /** Share one bandit policy per choose key across workspaces (deliberate; isolation is lost). @default false */
    shared: opt(Schema.Boolean),
    /**
     * The strategy of choose keys, by key (e.g. `{ "tone": { "kind": "linucb", "features": { … } } }`); keys not
     * listed use epsilon-greedy (ε 0.1). @default {}
     */
    strategies: opt(Schema.Record({ key: Schema.String, value: BanditStrategy }))
  })),
  /** Cluster mode (`--cluster`): runner address, shards, takeover timings (`src/cluster/config.ts`, docs/cluster.md). */
  cluster: opt(ClusterConfig)
})
export type ConfigFile = typeof ConfigFile.Type

/** Resolved limits, defaults applied. */
export interface ResolvedLimits {
  readonly maxBodyBytes: number
  readonly runQueue: number
  readonly concurrentRuns: number
  readonly drainMs: number
  readonly sseHeartbeatMs: number
  readonly idempotencyTtlMs: number
  /** 0: half of `concurrentRuns` (at least 1). */
  readonly workspaceRuns: number
  readonly maxRunMs: number
  readonly maxRunNodes: number
  readonly defaultQuotas: Quotas
  readonly bodyReadMs: number
}

/** The defaults of `limits`. */
const DEFAULT_LIMITS: ResolvedLimits = {
  maxBodyBytes: 1_048_576,
  runQueue: 1000,
  concurrentRuns: 64,
  drainMs: 10_000,
  sseHeartbeatMs: 15_000,
  idempotencyTtlMs: 86_400_000,
  workspaceRuns: 0,
  maxRunMs: 3_600_000,
  maxRunNodes: 200_000,
  defaultQuotas: { runsPerMinute: 600, concurrentRuns: 200 },
  bodyReadMs: 10_000
}

/** The configuration the server runs with. */
export interface ServerConfig {
  /** Configured workspaces; empty means open mode (one `default` workspace, no key). */
  readonly workspaces: ReadonlyArray<Workspace>
  readonly limits: ResolvedLimits
  /** The decoded file (providers, fallbacks) for other parts (the LLM gateway). */
  readonly file: ConfigFile
}

/** True when no workspace is configured: one open `default` workspace. */
export const isOpen = (config: ServerConfig): boolean => config.workspaces.length === 0

/** `sha256:<hex>` of an API key. */
export const hashKey = (key: string): string => `sha256:${createHash("sha256").update(key, "utf8").digest("hex")}`

/** The workspaces of `TRELLIS_API_KEYS` ("acme=key1,beta=key2"), keys hashed at once. */
export const parseApiKeys = (text: string): Either.Either<ReadonlyArray<Workspace>, string> => {
  const byName = new Map<string, Array<string>>()
  for (const raw of text.split(",")) {
    const item = raw.trim()
    if (item === "") continue
    const eq = item.indexOf("=")
    const name = eq < 0 ? "" : item.slice(0, eq).trim()
    const key = eq < 0 ? "" : item.slice(eq + 1).trim()
    // Never echo the item: it holds a key.
    if (name === "" || key === "") {
      return Either.left("TRELLIS_API_KEYS: each entry is workspace=key (an entry lacks one of them)")
    }
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) {
      return Either.left(
        `TRELLIS_API_KEYS: workspace name "${name.slice(0, 64)}" must be 1-64 letters, digits, '_', '.' or '-'`
      )
    }
    const list = byName.get(name) ?? []
    list.push(hashKey(key))
    byName.set(name, list)
  }
  return Either.right([...byName].map(([name, keyHashes]) => ({ name, keyHashes })))
}

const formatIssues = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    .map((i) =>
      `${
        i.path.length === 0
          ? "(root)"
          : i.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("").replace(/^\./, "")
      }: ${i.message}`
    )
    .join("; ")

/** Decodes a config file's text; `source` names it in errors. */
export const decodeConfig = (text: string, source: string): Either.Either<ConfigFile, ConfigError> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    return Either.left(
      new ConfigError({ message: `config ${source}: not JSON (${e instanceof Error ? e.message : String(e)})` })
    )
  }
  return Schema.decodeUnknownEither(ConfigFile, { errors: "all", onExcessProperty: "error" })(json).pipe(
    Either.mapLeft((e) => new ConfigError({ message: `config ${source}: ${formatIssues(e)}` }))
  )
}

/** Merges a decoded file with the development keys and applies defaults. */
export const resolveConfig = (
  file: ConfigFile,
  devWorkspaces: ReadonlyArray<Workspace> = [],
  overrides: Partial<ResolvedLimits> = {}
): Either.Either<ServerConfig, ConfigError> => {
  const merged = new Map<string, Workspace>()
  for (const w of [...(file.workspaces ?? []), ...devWorkspaces]) {
    const known = merged.get(w.name)
    merged.set(w.name, known === undefined ? w : { ...known, keyHashes: [...known.keyHashes, ...w.keyHashes] })
  }
  const owners = new Map<string, string>()
  for (const w of merged.values()) {
    for (const h of w.keyHashes) {
      const other = owners.get(h)
      if (other !== undefined && other !== w.name) {
        return Either.left(
          new ConfigError({ message: `config: the same key belongs to workspaces "${other}" and "${w.name}"` })
        )
      }
      owners.set(h, w.name)
    }
  }
  const limits: ResolvedLimits = { ...DEFAULT_LIMITS, ...(file.limits ?? {}), ...overrides }
  // A workspace that declares no quotas gets the default ones (issue 14: a key is not a licence to take the server).
  const workspaces = [...merged.values()].map((
    w
  ) => (w.quotas === undefined ? { ...w, quotas: limits.defaultQuotas } : w))
  return Either.right({ workspaces, limits, file })
}

/** The errno code of a failed file operation (`ENOENT`), else its kind. */
const errorCode = (e: PlatformError): string =>
  e._tag === "SystemError"
    ? (e.cause instanceof Error && "code" in e.cause ? String(e.cause.code) : e.reason)
    : "bad argument"

/** A `Config` failure (it names the variable) as this module's `ConfigError`. */
const settingError = (e: unknown): ConfigError => new ConfigError({ message: `invalid setting: ${String(e)}` })

/**
 * Loads the configuration: the file at `path` (or `TRELLIS_CONFIG`), then
 * `TRELLIS_API_KEYS` (settings through `Config`, see `settings.ts`; the file
 * through `FileSystem`). No file and no keys: open mode.
 */
export const loadConfig = (
  path: string | undefined,
  overrides: Partial<ResolvedLimits> = {}
): Effect.Effect<ServerConfig, ConfigError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const file = path ?? Option.getOrUndefined(yield* Effect.mapError(Settings.configFile, settingError))
    let decoded: ConfigFile = {}
    if (file !== undefined) {
      const fs = yield* FileSystem.FileSystem
      const text = yield* fs.readFileString(file, "utf8").pipe(
        Effect.mapError((e) => new ConfigError({ message: `config ${file}: cannot read (${errorCode(e)})` }))
      )
      decoded = yield* decodeConfig(text, file)
    }
    const keys = yield* Effect.mapError(Settings.apiKeys, settingError)
    const dev = Option.isNone(keys)
      ? []
      : yield* Either.mapLeft(parseApiKeys(Redacted.value(keys.value)), (message) => new ConfigError({ message }))
    return yield* resolveConfig(decoded, dev, overrides)
  })
