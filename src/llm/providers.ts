/**
 * A provider's backend by kind, all speaking the chat-completions wire format
 * (the router's lingua franca, so policies apply once):
 * - `openai-compatible`: our chat-completions client (`chatCompletions.ts`),
 *   the request passed through with only `model` replaced (tools and
 *   parameters stay exact);
 * - `openai`: `@effect/ai-openai` (the Responses API) through its
 *   `LanguageModel`; `anthropic`: `@effect/ai-anthropic` likewise
 *   (`effectAiProviders.ts`, loaded only when a config names one of them).
 *   Both convert messages to an `@effect/ai` prompt; they support text,
 *   streaming and structured output (`response_format: json_schema`), not
 *   tools (the config refuses "tools" for these kinds — use
 *   `openai-compatible`, which OpenAI's own API also is, for tool calls);
 * - `local`: `local/echo` (`echo.ts`).
 */
import type { HttpClient } from "@effect/platform"
import { Effect } from "effect"
import type { Scope, Stream } from "effect"
import type { ChatChunk, ChatCompletion, ChatRequest } from "./chatCompletions.js"
import { makeChatClient } from "./chatCompletions.js"
import type { ResolvedProvider } from "./config.js"
import * as Echo from "./echo.js"
import type { LlmError } from "./service.js"

/** What a provider does with a chat request whose `model` is already the upstream model name. */
export interface ProviderBackend {
  readonly complete: (request: ChatRequest) => Effect.Effect<ChatCompletion, LlmError>
  readonly stream: (request: ChatRequest) => Stream.Stream<ChatChunk, LlmError>
}

// A dynamic import: the `@effect/ai-*` packages load only for a config that uses them.
const effectAi = Effect.promise(() => import("./effectAiProviders.js"))

/** Builds the backend of a provider. */
export const makeBackend = (
  provider: ResolvedProvider
): Effect.Effect<ProviderBackend, never, HttpClient.HttpClient | Scope.Scope> => {
  switch (provider.kind) {
    case "local":
      return Effect.succeed({ complete: Echo.complete, stream: Echo.stream })
    case "openai-compatible":
      return makeChatClient({ provider: provider.name, baseUrl: provider.baseUrl ?? "", apiKey: provider.apiKey })
    case "openai":
      return Effect.flatMap(effectAi, (m) => m.makeOpenAi(provider))
    case "anthropic":
      return Effect.flatMap(effectAi, (m) => m.makeAnthropic(provider))
  }
}
