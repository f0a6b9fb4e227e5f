/**
 * The Trellis HTTP API as a value (SPEC §8): every group, OpenAPI info
 * (its version is the server's), the document's finishing touches
 * (`openapi.ts`). Handlers live in
 * `../handlers/`; the derived `HttpApiClient.make(Api, …)` is a typed client.
 */
import { HttpApi, OpenApi } from "@effect/platform"
import { VERSION } from "../context.js"
import { ViewerGroup } from "../web/api.js"
import { DeploymentsGroup } from "./deployments.js"
import { EvalsGroup } from "./evals.js"
import { LlmGroup } from "./llm.js"
import { finishSpec } from "./openapi.js"
import { ProgramsGroup } from "./programs.js"
import { RunsGroup } from "./runs.js"
import { SchedulesGroup } from "./schedules.js"
import { SignalsGroup } from "./signals.js"
import { HealthGroup, SystemGroup } from "./system.js"

/** The API. */
export class Api extends HttpApi.make("trellis")
  .add(HealthGroup)
  .add(SystemGroup)
  .add(ProgramsGroup)
  .add(RunsGroup)
  .add(SchedulesGroup)
  .add(SignalsGroup)
  .add(EvalsGroup)
  .add(LlmGroup)
  .add(ViewerGroup)
  .add(DeploymentsGroup)
  .annotate(OpenApi.Title, "Trellis")
  .annotate(OpenApi.Version, VERSION)
  .annotate(OpenApi.Transform, finishSpec)
  .annotate(
    OpenApi.Description,
    "Run agent and tool-orchestration programs: submit, follow live over SSE, cancel, replay."
  )
{}

export * from "./auth.js"
export { DeploymentRunView, DeploymentView, PutDeployment } from "./deployments.js"
export * from "./errors.js"
export { CreateEval, EvalListView, EvalStatus, EvalView } from "./evals.js"
export { CheckResult, ProgramInput } from "./programs.js"
export { CreateRun, ReplayView, RunPageView, RunStatus, RunView } from "./runs.js"
export { CreateSchedule, SchedulePageView, ScheduleView } from "./schedules.js"
export { SignalReceiptView, SignalRequest } from "./signals.js"
export { Health, ToolInfo } from "./system.js"
