/** Settings of cluster mode read from the environment (docs/configuration.md). */
import { Config } from "effect"

/** `TRELLIS_REDIS_URL`: the Redis of the cluster-wide limits (overrides the config's `cluster.redisUrl`). */
export const redisUrl = Config.option(Config.redacted("TRELLIS_REDIS_URL"))
