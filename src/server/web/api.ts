/**
 * What the trace viewer needs beyond the runs API: `GET /v1/runs/:id/program`,
 * the program a run ran (its JSON IR, by the hash the run recorded) and its
 * DAG as the viewer draws it (`graph.ts`). Workspace-scoped like every run
 * endpoint: another workspace's run is a 404.
 */
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { Authorization } from "../api/auth.js"
import { NotFound, Unavailable } from "../api/errors.js"
import { GraphViewSchema } from "./graph.js"

/** The program of a run: hash, entry name, JSON IR and its DAG. */
export const RunProgramView = Schema.Struct({
  runId: Schema.String,
  programHash: Schema.String,
  programName: Schema.String,
  program: Schema.Unknown,
  graph: GraphViewSchema
})
export type RunProgramView = typeof RunProgramView.Type

/** The viewer's endpoints. */
export class ViewerGroup extends HttpApiGroup.make("viewer")
  .add(
    HttpApiEndpoint.get("runProgram", "/v1/runs/:id/program")
      .setPath(Schema.Struct({ id: Schema.String }))
      .addSuccess(RunProgramView)
      .addError(NotFound)
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "The program a run ran and its DAG")
  )
  .middleware(Authorization)
{}
