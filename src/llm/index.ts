/**
 * The LLM layer as the library exports it (`Llm` in `src/index.ts`):
 *
 * ```ts
 * import { Llm, Runtime } from "trellis"
 * const router = Llm.Router.layer(configFile)            // or Llm.Router.layerLocal (local/echo only)
 * const { model } = yield* Effect.flatMap(Llm.LlmRouter, (r) => r.resolve("local/echo", { workspace: "w", needs: [] }))
 * const steps = Llm.StepRunner.layer({ defaultModel: "vllm/qwen" }).pipe(Layer.provide(router))
 * const planned = yield* Llm.plan("fetch a page and summarize it", { model: "vllm/qwen", tools })
 * ```
 */
import { Schema } from "effect"
import { FallbacksConfig, ProviderConfig } from "./config.js"
import { StepsConfig } from "./stepRunner.js"

export { Capability, LlmError, LlmErrorReason, LlmRouter } from "./service.js"
export type { LlmRouterService, RequestContext, ResolvedModel } from "./service.js"
/** The router: `layer(configFile)` (API keys through `Config`), `layerLocal`, `layerResolved`, the `LlmGateway` tag. */
export * as Router from "./router.js"
/** llm steps in programs: `layer(config)` is the runtime's `LlmRunner` over the `LlmRouter`. */
export {
  FallbacksConfig,
  LlmConfigError,
  loadLlmConfig,
  PricingConfig,
  ProviderConfig,
  ProviderKind,
  RateLimitConfig,
  readApiKeys,
  resolveLlmConfig,
  RetryConfig
} from "./config.js"
export type { LlmConfig, LlmConfigFile, ResolvedProvider, ResolveOptions } from "./config.js"
export { DEFAULT_PLAN_ROUNDS, MAX_PLAN_ROUNDS, plan, PlanError } from "./planner.js"
export type { PlanOptions, PlanResult, PlanViolation } from "./planner.js"
export * as StepRunner from "./stepRunner.js"
export { StepsConfig } from "./stepRunner.js"
export type { StepMode, StepRunnerConfig } from "./stepRunner.js"

/**
 * The LLM sections of the config file (`providers`, `fallbacks`, `steps`),
 * as `trellis serve` and `trellis run --config` read them; decode a file with
 * it and hand the result to `Router.layer`.
 */
export const ConfigFile = Schema.Struct({
  providers: Schema.optionalWith(Schema.Array(ProviderConfig), { exact: true }),
  fallbacks: Schema.optionalWith(FallbacksConfig, { exact: true }),
  steps: Schema.optionalWith(StepsConfig, { exact: true })
})
export type ConfigFile = typeof ConfigFile.Type
