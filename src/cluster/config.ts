/**
 * The `cluster` block of the config file and its resolution into the
 * settings a runner starts with. Every field is optional: with only
 * `--cluster` and `--port` a replica derives its runner port from its HTTP
 * port (`port + 10000`), so three replicas on one machine need nothing else.
 */
import { Either, Schema } from "effect"

const PositiveInt = Schema.Int.pipe(Schema.positive())
const opt = <S extends Schema.Schema.Any>(s: S) => Schema.optionalWith(s, { exact: true })

/** The `cluster` block of the config file. */
export const ClusterConfig = Schema.Struct({
  /** Run as a cluster replica (same as `--cluster`). @default false */
  enabled: opt(Schema.Boolean),
  /** The host other runners reach this runner at. @default "127.0.0.1" */
  runnerHost: opt(Schema.String.pipe(Schema.minLength(1))),
  /** The port of this runner (cluster messages between replicas). @default the HTTP port + 10000 */
  runnerPort: opt(Schema.Int.pipe(Schema.between(1, 65535))),
  /** The address the runner listens on. @default runnerHost */
  listenHost: opt(Schema.String.pipe(Schema.minLength(1))),
  /** Shards runs are spread over; every replica of a cluster must use the same number. @default 300 */
  shards: opt(PositiveInt),
  /** A silent runner's shard locks (and its place among the runners) expire after this long. @default 10000 */
  lockExpirationMs: opt(Schema.Int.pipe(Schema.greaterThanOrEqualTo(1000))),
  /** How often runners ping each other; an unreachable runner's shards move. @default 5000 */
  healthCheckMs: opt(Schema.Int.pipe(Schema.greaterThanOrEqualTo(500))),
  /** How often a runner re-reads the runner list and the shard assignments. @default 1000 */
  refreshMs: opt(Schema.Int.pipe(Schema.greaterThanOrEqualTo(100))),
  /** How often a runner looks for messages stored for its shards (a safety net; new messages are pushed). @default 1000 */
  messagePollMs: opt(Schema.Int.pipe(Schema.greaterThanOrEqualTo(100))),
  /** Redis of the cluster-wide limits (`redis://host:port[/db]`); `TRELLIS_REDIS_URL` wins. @default none: per replica */
  redisUrl: opt(Schema.String.pipe(Schema.minLength(1)))
})
export type ClusterConfig = typeof ClusterConfig.Type

/** Settings of a runner, defaults applied. */
export interface ClusterSettings {
  readonly runnerHost: string
  readonly runnerPort: number
  readonly listenHost: string
  readonly shards: number
  readonly lockExpirationMs: number
  readonly healthCheckMs: number
  readonly refreshMs: number
  readonly messagePollMs: number
}

/** The distance between a replica's HTTP port and its derived runner port. */
export const RUNNER_PORT_OFFSET = 10_000

/** The defaults of the `cluster` block (besides the ports). */
export const DEFAULTS = {
  runnerHost: "127.0.0.1",
  shards: 300,
  lockExpirationMs: 10_000,
  healthCheckMs: 5_000,
  refreshMs: 1_000,
  messagePollMs: 1_000
} as const

/**
 * The settings of a runner from the config block and the HTTP port; a message
 * naming the problem when the runner port cannot be derived.
 */
export const resolve = (config: ClusterConfig, httpPort: number): Either.Either<ClusterSettings, string> => {
  let runnerPort = config.runnerPort
  if (runnerPort === undefined) {
    if (httpPort <= 0) {
      return Either.left("cluster mode needs a fixed --port (or cluster.runnerPort in the config file), not port 0")
    }
    runnerPort = httpPort + RUNNER_PORT_OFFSET
    if (runnerPort > 65535) {
      return Either.left(
        `cluster mode: the derived runner port ${runnerPort} (--port + ${RUNNER_PORT_OFFSET}) is over 65535; set cluster.runnerPort`
      )
    }
  }
  const runnerHost = config.runnerHost ?? DEFAULTS.runnerHost
  return Either.right({
    runnerHost,
    runnerPort,
    listenHost: config.listenHost ?? runnerHost,
    shards: config.shards ?? DEFAULTS.shards,
    lockExpirationMs: config.lockExpirationMs ?? DEFAULTS.lockExpirationMs,
    healthCheckMs: config.healthCheckMs ?? DEFAULTS.healthCheckMs,
    refreshMs: config.refreshMs ?? DEFAULTS.refreshMs,
    messagePollMs: config.messagePollMs ?? DEFAULTS.messagePollMs
  })
}
