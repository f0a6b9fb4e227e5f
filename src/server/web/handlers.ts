/** Handlers of the viewer's endpoints (`api.ts`). */
import { HttpApiBuilder } from "@effect/platform"
import { Effect, Either, Option } from "effect"
import { decodeProgram } from "../../ir/json.js"
import { RunStore } from "../../runtime/runStore.js"
import { CurrentWorkspace } from "../api/auth.js"
import { NotFound, Unavailable } from "../api/errors.js"
import { Api } from "../api/index.js"
import { RunManager } from "../runManager.js"
import { graphOf } from "./graph.js"

const RUN_ID = /^[A-Za-z0-9_-]{1,128}$/

const unavailable = (e: { readonly message: string }) => new Unavailable({ message: `the store failed: ${e.message}` })

/** `GET /v1/runs/:id/program`: the run's program and its DAG. */
const runProgram = (id: string) =>
  Effect.gen(function*() {
    const shown = id.length > 128 ? id.slice(0, 128) + "…" : id
    if (!RUN_ID.test(id)) return yield* new NotFound({ message: `no run ${shown}` })
    const ws = yield* CurrentWorkspace
    const store = yield* RunStore
    const record = yield* store.get(id, ws.name).pipe(Effect.mapError(unavailable))
    if (Option.isNone(record)) {
      const queued = (yield* RunManager).peek(id, ws.name)
      return yield* new NotFound({
        message: queued === undefined
          ? `no run ${shown}`
          : `run ${id} is queued; its program is recorded when it starts`
      })
    }
    const run = record.value
    const stored = yield* store.getProgram(run.programHash).pipe(Effect.mapError(unavailable))
    if (Option.isNone(stored)) {
      return yield* new NotFound({ message: `the program ${run.programHash} of run ${id} is not in the store` })
    }
    const program = decodeProgram(stored.value)
    if (Either.isLeft(program)) {
      return yield* new Unavailable({
        message: `the stored program ${run.programHash} does not decode: ${program.left.message}`
      })
    }
    const graph = graphOf(program.right)
    if (Either.isLeft(graph)) {
      return yield* new Unavailable({
        message: `the stored program ${run.programHash} cannot be planned: ${graph.left}`
      })
    }
    return {
      runId: run.runId,
      programHash: run.programHash,
      programName: run.programName,
      program: stored.value,
      graph: graph.right
    }
  })

/** The handlers of the `viewer` group. */
export const layerViewerApi = HttpApiBuilder.group(
  Api,
  "viewer",
  (handlers) => handlers.handle("runProgram", ({ path }) => runProgram(path.id))
)
