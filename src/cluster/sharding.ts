/**
 * The `@effect/cluster` runner of a replica: `Sharding` over SQL runner and
 * message storage (the tables `@effect/cluster` creates for itself, in the
 * store's PostgreSQL database), runners talking over TCP sockets (msgpack),
 * health checked by ping. Built from `ClusterSettings` only (the library's
 * environment variables are not read).
 */
import type * as MessageStorage from "@effect/cluster/MessageStorage"
import * as RunnerAddress from "@effect/cluster/RunnerAddress"
import * as RunnerHealth from "@effect/cluster/RunnerHealth"
import * as Runners from "@effect/cluster/Runners"
import * as RunnerStorage from "@effect/cluster/RunnerStorage"
import type * as Sharding from "@effect/cluster/Sharding"
import * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as SocketRunner from "@effect/cluster/SocketRunner"
import * as SqlMessageStorage from "@effect/cluster/SqlMessageStorage"
import * as SqlRunnerStorage from "@effect/cluster/SqlRunnerStorage"
import { layerClientProtocol, layerSocketServer } from "@effect/platform-node/NodeClusterSocket"
import * as RpcSerialization from "@effect/rpc/RpcSerialization"
import type { SqlClient } from "@effect/sql/SqlClient"
import { Duration, Effect, Equal, Layer, Option, Schedule, Schema } from "effect"
import type { ClusterSettings } from "./config.js"

/** The runner could not start (its port is taken, its storage failed). */
export class ClusterError extends Schema.TaggedError<ClusterError>()("ClusterError", {
  message: Schema.String
}) {}

/** The `ShardingConfig` of a runner's settings. */
export const shardingConfig = (settings: ClusterSettings): ShardingConfig.ShardingConfig["Type"] => ({
  ...ShardingConfig.defaults,
  runnerAddress: Option.some(RunnerAddress.make(settings.runnerHost, settings.runnerPort)),
  runnerListenAddress: Option.some(RunnerAddress.make(settings.listenHost, settings.runnerPort)),
  shardsPerGroup: settings.shards,
  shardLockExpiration: Duration.millis(settings.lockExpirationMs),
  shardLockRefreshInterval: Duration.millis(Math.max(100, Math.floor(settings.lockExpirationMs / 3))),
  runnerHealthCheckInterval: Duration.millis(settings.healthCheckMs),
  refreshAssignmentsInterval: Duration.millis(settings.refreshMs),
  entityMessagePollInterval: Duration.millis(settings.messagePollMs),
  // Runs are long-lived requests: an entity with a request in flight is never idle.
  entityMaxIdleTime: Duration.minutes(1),
  entityTerminationTimeout: Duration.seconds(15),
  // Local messages skip the msgpack round trip.
  simulateRemoteSerialization: false
})

/** `Sharding` (with its message storage) of a runner; needs the store's SQL client (PostgreSQL). */
export const layer = (
  settings: ClusterSettings
): Layer.Layer<Sharding.Sharding | MessageStorage.MessageStorage, ClusterError, SqlClient> => {
  const config = Layer.succeed(ShardingConfig.ShardingConfig, shardingConfig(settings))
  const health = RunnerHealth.layerPing.pipe(Layer.provide(Runners.layerRpc), Layer.provide(layerClientProtocol))
  // One storage and one health checker (layers are shared by reference) for the runner and its watchdog.
  const storage = Layer.orDie(SqlRunnerStorage.layer)
  return Layer.merge(SocketRunner.layer, watchdog(settings)).pipe(
    Layer.provide([layerSocketServer, layerClientProtocol]),
    Layer.provide(health),
    Layer.provideMerge(Layer.orDie(SqlMessageStorage.layer)),
    Layer.provide(storage),
    Layer.provide(config),
    Layer.provide(RpcSerialization.layerMsgPack),
    Layer.mapError((e) =>
      new ClusterError({
        message: `cannot start the cluster runner on ${settings.listenHost}:${settings.runnerPort}: ${
          describe(e.cause)
        }`
      })
    )
  )
}

/**
 * Every runner checks the others every `healthCheckMs` and marks a runner that does not answer its pings
 * unhealthy in the runner storage, so the live runners take its shards at once.
 *
 * `@effect/cluster` runs its own health check as a singleton, on one runner. When that runner is the one that
 * died, nobody checks until the dead runner's heartbeat expires (`lockExpirationMs`): the takeover took 3 s or 28 s
 * depending on which replica was killed. With a check on every runner, it no longer depends on it.
 *
 * A runner marks others only while it is itself healthy in the storage, and never the last healthy one; the
 * library's singleton marks a runner that answers again healthy (and a restarted runner registers healthy).
 */
const watchdog = (settings: ClusterSettings) =>
  Layer.scopedDiscard(Effect.gen(function*() {
    const storage = yield* RunnerStorage.RunnerStorage
    const health = yield* RunnerHealth.RunnerHealth
    const self = RunnerAddress.make(settings.runnerHost, settings.runnerPort)
    const check = Effect.gen(function*() {
      const runners = yield* storage.getRunners
      const healthy = runners.filter(([, ok]) => ok).map(([runner]) => runner.address)
      if (!healthy.some((a) => Equal.equals(a, self))) return
      let left = healthy.length
      for (const address of healthy) {
        if (Equal.equals(address, self)) continue
        if (yield* health.isAlive(address)) continue
        if (left <= 1) return
        left -= 1
        yield* storage.setRunnerHealth(address, false)
        yield* Effect.logInfo(`runner ${address.toString()} does not answer: marked unhealthy, its shards move`)
      }
    })
    yield* check.pipe(
      Effect.catchAllCause((cause) => Effect.logDebug("runner watchdog check failed", cause)),
      Effect.repeat(Schedule.spaced(Duration.millis(settings.healthCheckMs))),
      Effect.forkScoped
    )
  }))

const describe = (cause: unknown): string => {
  const code = (cause as { readonly code?: unknown } | undefined)?.code
  if (typeof code === "string") return code
  return cause instanceof Error ? cause.message : String(cause)
}
