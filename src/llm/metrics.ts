/**
 * LLM metrics as Effect `Metric`s (rendered by the server's `/metrics` with
 * every other metric of the registry): requests by route and outcome,
 * tokens and cost by provider, model and workspace, fallbacks taken. Series
 * carry a `workspace` label so `/metrics` can keep other workspaces' series out.
 */
import { Metric, MetricLabel } from "effect"

/** LLM requests; labels `provider`, `model`, `workspace`, `outcome` (`ok`, `cached`, an `LlmError` reason). */
const llmRequestsTotal = Metric.counter("trellis_llm_requests_total", {
  description: "LLM requests by provider, model, workspace and outcome (ok, cached, or the error reason)."
})

/** Tokens; labels `provider`, `model`, `workspace`, `type` (`input`, `output`). */
const llmTokensTotal = Metric.counter("trellis_llm_tokens_total", {
  description: "LLM tokens by provider, model, workspace and type (input, output)."
})

/** Cost in USD (from the provider's `pricing`); labels `provider`, `model`, `workspace`. */
const llmCostTotal = Metric.counter("trellis_llm_cost_usd_total", {
  description: "LLM cost in USD by provider, model and workspace (providers with pricing only)."
})

/** Fallbacks taken; labels `from`, `to` (routes), `workspace`. */
const llmFallbacksTotal = Metric.counter("trellis_llm_fallbacks_total", {
  description: "Requests answered by a fallback route, by first-choice route, answering route and workspace."
})

const labels = (pairs: Record<string, string>): ReadonlyArray<MetricLabel.MetricLabel> =>
  Object.entries(pairs).map(([k, v]) => MetricLabel.make(k, v))

/** Records one request's outcome. */
export const recordOutcome = (provider: string, model: string, workspace: string, outcome: string): void =>
  llmRequestsTotal.unsafeUpdate(1, labels({ provider, model, workspace, outcome }))

/** Records tokens and cost. */
export const recordUsage = (
  provider: string,
  model: string,
  workspace: string,
  input: number,
  output: number,
  cost: number | undefined
): void => {
  if (input > 0) llmTokensTotal.unsafeUpdate(input, labels({ provider, model, workspace, type: "input" }))
  if (output > 0) llmTokensTotal.unsafeUpdate(output, labels({ provider, model, workspace, type: "output" }))
  if (cost !== undefined && cost > 0) llmCostTotal.unsafeUpdate(cost, labels({ provider, model, workspace }))
}

/** Records a fallback. */
export const recordFallback = (from: string, to: string, workspace: string): void =>
  llmFallbacksTotal.unsafeUpdate(1, labels({ from, to, workspace }))
