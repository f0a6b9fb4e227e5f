/**
 * The Trellis HTTP API as a value (SPEC §8): every group, the API-level
 * errors (413 for an oversized body), OpenAPI info. Handlers live in
 * `../handlers/`; the derived `HttpApiClient.make(Api, …)` is a typed client.
 */
import { HttpApi, OpenApi } from "@effect/platform"
import { PayloadTooLarge } from "./errors.js"
import { LlmGroup } from "./llm.js"
import { ProgramsGroup } from "./programs.js"
import { RunsGroup } from "./runs.js"
import { HealthGroup, SystemGroup } from "./system.js"
import { ViewerGroup } from "../web/api.js"

/** The API. */
export class Api extends HttpApi.make("trellis")
  .add(HealthGroup)
  .add(SystemGroup)
  .add(ProgramsGroup)
  .add(RunsGroup)
  .add(LlmGroup)
  .add(ViewerGroup)
  .addError(PayloadTooLarge)
  .annotate(OpenApi.Title, "Trellis")
  .annotate(OpenApi.Description, "Run agent and tool-orchestration programs: submit, follow live over SSE, cancel, replay.")
{}

export * from "./auth.js"
export * from "./errors.js"
export { CheckResult, ProgramInput } from "./programs.js"
export { CreateRun, ReplayView, RunPageView, RunStatus, RunView } from "./runs.js"
export { Health, ToolInfo } from "./system.js"
