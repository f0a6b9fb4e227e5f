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
import type { GraphView } from "./graph.js"

const RUN_ID = /^[A-Za-z0-9_-]{1,128}$/

const unavailable = (e: { readonly message: string }) => new Unavailable({ message: `the store failed: ${e.message}` })

/** How many programs' graphs a server keeps drawn (a program's hash names its content, so they never go stale). */
const GRAPH_CACHE = 64

/** Graphs by program hash, the least recently asked dropped first. */
type GraphCache = Map<string, GraphView>

/** `GET /v1/runs/:id/program`: the run's program and its DAG (drawn once per program, then kept in `cache`). */
const runProgram = (id: string, cache: GraphCache) =>
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
    let graph = cache.get(run.programHash)
    if (graph === undefined) {
      const program = decodeProgram(stored.value)
      if (Either.isLeft(program)) {
        return yield* new Unavailable({
          message: `the stored program ${run.programHash} does not decode: ${program.left.message}`
        })
      }
      const drawn = graphOf(program.right)
      if (Either.isLeft(drawn)) {
        return yield* new Unavailable({
          message: `the stored program ${run.programHash} cannot be planned: ${drawn.left}`
        })
      }
      graph = drawn.right
      if (cache.size >= GRAPH_CACHE) cache.delete(cache.keys().next().value!)
    } else cache.delete(run.programHash)
    cache.set(run.programHash, graph)
    return {
      runId: run.runId,
      programHash: run.programHash,
      programName: run.programName,
      program: stored.value,
      graph
    }
  })

/** The handlers of the `viewer` group. */
export const layerViewerApi = HttpApiBuilder.group(
  Api,
  "viewer",
  (handlers) => {
    const cache: GraphCache = new Map()
    return handlers.handle("runProgram", ({ path }) => runProgram(path.id, cache))
  }
)
