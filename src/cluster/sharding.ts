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
import type * as Sharding from "@effect/cluster/Sharding"
import * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as SocketRunner from "@effect/cluster/SocketRunner"
import * as SqlMessageStorage from "@effect/cluster/SqlMessageStorage"
import * as SqlRunnerStorage from "@effect/cluster/SqlRunnerStorage"
import { layerClientProtocol, layerSocketServer } from "@effect/platform-node/NodeClusterSocket"
import * as RpcSerialization from "@effect/rpc/RpcSerialization"
import type { SqlClient } from "@effect/sql/SqlClient"
import { Duration, Layer, Option, Schema } from "effect"
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
  return SocketRunner.layer.pipe(
    Layer.provide([layerSocketServer, layerClientProtocol]),
    Layer.provide(health),
    Layer.provideMerge(Layer.orDie(SqlMessageStorage.layer)),
    Layer.provide(Layer.orDie(SqlRunnerStorage.layer)),
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

const describe = (cause: unknown): string => {
  const code = (cause as { readonly code?: unknown } | undefined)?.code
  if (typeof code === "string") return code
  return cause instanceof Error ? cause.message : String(cause)
}
