/**
 * Handler of `POST /v1/runs/:id/signals/:name` (SPEC §11): the signal is
 * stored through `Durable.signal` (checked against the run's program, in
 * the caller's workspace, deduplicated by `signalId`), then the run is
 * woken through `RunPlacement` (in cluster mode on the owner of its
 * shard, from any replica): a `waiting` run resumes there; a live one
 * hears it at once (the inbox's doorbell), or is woken again if it parks.
 */
import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import type { Json } from "../../ir/eval.js"
import * as Durable from "../../runtime/durable.js"
import { CurrentWorkspace } from "../api/auth.js"
import { BadRequest, Conflict, NotFound, Unavailable } from "../api/errors.js"
import { Api } from "../api/index.js"
import { RunPlacement } from "../placement.js"

const RUN_ID = /^[A-Za-z0-9_-]{1,128}$/

/** The handlers of the `signals` group. */
export const layerSignals = HttpApiBuilder.group(
  Api,
  "signals",
  (handlers) =>
    handlers.handle("send", ({ path, payload }) =>
      Effect.gen(function*() {
        if (!RUN_ID.test(path.id)) return yield* new NotFound({ message: `no run ${path.id.slice(0, 128)}` })
        if (path.name.length === 0 || path.name.length > 200) {
          return yield* new BadRequest({ message: "a signal name is 1 to 200 characters" })
        }
        const ws = yield* CurrentWorkspace
        const receipt = yield* Durable.signal(path.id, path.name, (payload.payload ?? null) as Json, {
          workspace: ws.name,
          ...(payload.signalId === undefined ? {} : { signalId: payload.signalId })
        }).pipe(
          Effect.mapError((e): NotFound | Unavailable | Conflict | BadRequest => {
            if (e.kind === "NotFound") return new NotFound({ message: e.message })
            if (e.kind === "StoreUnavailable") return new Unavailable({ message: e.message })
            if (e.message.startsWith("ended:")) {
              return new Conflict({ message: e.message.slice("ended:".length).trim() })
            }
            return new BadRequest({ message: e.message })
          })
        )
        if (receipt.accepted) yield* Effect.flatMap(RunPlacement, (p) => p.wake(path.id, receipt.signalId))
        return { runId: receipt.runId, name: receipt.name, signalId: receipt.signalId, accepted: receipt.accepted }
      }))
)
