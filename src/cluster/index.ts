/** The cluster adapter's surface (see README.md). */
export { layerRedis as layerBreakersRedis } from "./breakers.js"
export { ClusterConfig, DEFAULTS, resolve, RUNNER_PORT_OFFSET } from "./config.js"
export type { ClusterSettings } from "./config.js"
export { HeldRun, RunEntity, RunHost } from "./entity.js"
export type { Outcome, PlacedRun } from "./entity.js"
export {
  fromSettings as sharedLimits,
  layerMemory as layerLimitsMemory,
  layerRedis as layerLimitsRedis
} from "./limits.js"
export { collectMessages, startMessageGc } from "./messageGc.js"
export type { MessageGcReport } from "./messageGc.js"
export { ClusterRuns, layer } from "./placement.js"
export { ClusterError } from "./sharding.js"
