/**
 * The tools surface, exported from the package as `Tool`
 * (`Tool.make`, `Tool.ToolRegistry`, `Tool.toOpenAITool`, …).
 */
export {
  fromAnthropicTool,
  fromAnthropicToolUse,
  fromOpenAITool,
  fromOpenAIToolCall,
  fromProviderName,
  toAnthropicTool,
  toAnthropicToolUse,
  ToolAdapterError,
  toolDefinition,
  toOpenAITool,
  toOpenAIToolCall,
  toProviderName
} from "./adapters.js"
export type {
  AnthropicToolDefinition,
  AnthropicToolUse,
  OpenAIToolCall,
  OpenAIToolDefinition,
  ToolCall,
  ToolDefinition
} from "./adapters.js"
export { BREAKER_DEFAULTS, breakerProblems, countsAgainstBreaker, resolveBreaker } from "./breaker.js"
export type { BreakerConfig, ResolvedBreaker } from "./breaker.js"
export { HttpGetConfig, parseRetryAfter } from "./builtin/httpGet.js"
export type { HttpGetOptions } from "./builtin/httpGet.js"
export {
  blockedReason,
  checkHost,
  HttpAllowlist,
  HttpResolver,
  isAllowlisted,
  parseAllowlist,
  systemResolver
} from "./builtin/httpGuard.js"
export type { Resolver } from "./builtin/httpGuard.js"
export { builtinTools, echo, fail, httpGet, jsonParse, sleep, textChunk, textHash } from "./builtin/index.js"
export { chunkText } from "./builtin/textChunk.js"
export {
  BudgetExceeded,
  Cancelled,
  CircuitOpen,
  DEFAULT_RETRY_ON,
  Defect,
  errorKind,
  fromKind,
  isToolError,
  Permanent,
  RateLimited,
  Timeout,
  ToolError,
  Transient
} from "./errors.js"
export { jsonSchemaOf, toolJsonSchema } from "./jsonSchema.js"
export type { ToolJsonSchema } from "./jsonSchema.js"
export { loadToolsModule, ToolModuleError, toolsOfModule } from "./load.js"
export { makeRegistry, provideTool, ToolRegistry, ToolRegistryError } from "./registry.js"
export type { ToolRegistryService } from "./registry.js"
export {
  configProblems,
  decodeArgs,
  encodeOutput,
  invoke,
  isTool,
  make,
  makeContext,
  MAX_PROVIDER_NAME,
  toJson,
  TOOL_NAME
} from "./tool.js"
export type {
  AnyTool,
  BatchConfig,
  EffectToolConfig,
  PromiseToolConfig,
  Tool,
  ToolConfig,
  ToolConfigBase,
  ToolContext,
  ToolContextOptions,
  ToolLimits,
  ToolRequirements,
  ToolSchema,
  UnknownTool
} from "./tool.js"
