/**
 * Handlers of the deployment and flag endpoints: programs are checked like a
 * run submission and stored by hash (`RunStore.putProgram`); a deployment run
 * is routed (`optimize/rollout/service.ts`), submitted through the
 * `RunPlacement` like `POST /v1/runs`, and recorded with its role for the
 * canary. Before routing, a deployment with a canary is judged (at most once
 * per `CANARY_CHECK_INTERVAL_MS`), so a worse candidate is rolled back — and a
 * better one promoted — by the traffic itself. Every read and change is
 * filtered by the caller's workspace. Store failures are 503s.
 */
import { HttpApiBuilder, HttpApp, HttpServerResponse } from "@effect/platform"
import { Clock, Effect, Either, Option } from "effect"
import { createHash } from "node:crypto"
import { canonicalJson } from "../../ir/canonical.js"
import type { Json } from "../../ir/eval.js"
import { decodeProgram, encodeProgram } from "../../ir/json.js"
import type { Program } from "../../ir/schema.js"
import type { RolloutError } from "../../optimize/rollout/errors.js"
import * as Flags from "../../optimize/rollout/flags.js"
import type { Deployment, Version } from "../../optimize/rollout/model.js"
import * as Rollout from "../../optimize/rollout/service.js"
import { sharedPolicy } from "../../runtime/bandit/store.js"
import { bindParams } from "../../runtime/inputs.js"
import { RunStore } from "../../runtime/runStore.js"
import { plan } from "../../runtime/runtime.js"
import { ToolRegistry } from "../../tools/registry.js"
import { CurrentWorkspace } from "../api/auth.js"
import { BadRequest, Conflict, NotFound, TooManyRequests, Unavailable } from "../api/errors.js"
import { Api } from "../api/index.js"
import { ServerContext } from "../context.js"
import { RunPlacement } from "../placement.js"
import type { ManagerError } from "../runManager.js"
import { checkInput, violationsOf } from "./program.js"

/** The least time between two automatic canary checks of one deployment (ms). */
export const CANARY_CHECK_INTERVAL_MS = 250

/** A rollout error as the API answers it. */
const toHttp = (e: RolloutError): BadRequest | NotFound | Conflict | Unavailable => {
  switch (e.reason) {
    case "not-found":
      return new NotFound({ message: e.message })
    case "conflict":
    case "refused":
      return new Conflict({ message: e.message })
    case "store":
      return new Unavailable({ message: e.message })
    case "invalid":
      return new BadRequest({ message: e.message })
  }
}

const unavailable = (e: { readonly message: string }) => new Unavailable({ message: `the store failed: ${e.message}` })

/** A deployment as the API shows it. */
const viewOf = (d: Deployment) => d

/** Checks a program of a request (DSL or IR), stores its normal form by hash, and returns its version. */
const versionOf = (input: { readonly source?: string; readonly program?: unknown }, field: string) =>
  Effect.gen(function*() {
    const registry = yield* ToolRegistry
    const checked = yield* checkInput(input, registry.table).pipe(
      Effect.mapError((e) => new BadRequest({ message: `${field}: ${e.message}` }))
    )
    if (checked.program === undefined || checked.diagnostics.length > 0) {
      return yield* new BadRequest({
        message: `${field}: the program has ${checked.diagnostics.length} problem(s)`,
        violations: violationsOf(checked)
      })
    }
    const program = checked.normalized ?? checked.program
    const planned = plan(program)
    if (Either.isLeft(planned)) return yield* new BadRequest({ message: `${field}: ${planned.left.message}` })
    const store = yield* RunStore
    yield* store.putProgram(planned.right.hash, JSON.parse(encodeProgram(program)) as Json).pipe(
      Effect.mapError(unavailable)
    )
    return { hash: planned.right.hash, name: planned.right.entry.name } satisfies Version
  })

const rejected = (e: ManagerError) =>
  Effect.gen(function*() {
    if (e.reason === "idempotency-conflict") return yield* new Conflict({ message: e.message })
    if (e.reason === "shutting-down" || e.reason === "unavailable") {
      return yield* new Unavailable({ message: e.message })
    }
    const retryAfter = e.retryAfter ?? 1
    yield* HttpApp.appendPreResponseHandler((_req, response) =>
      Effect.succeed(HttpServerResponse.setHeader(response, "retry-after", String(retryAfter)))
    )
    return yield* new TooManyRequests({ message: e.message, retryAfter })
  })

/** The handlers of the `deployments` group (with one cache of decoded programs by hash per server). */
export const layerDeployments = HttpApiBuilder.group(Api, "deployments", (handlers) => {
  const programs = new Map<string, Program>()
  const lastCheck = new Map<string, number>()
  /** The program stored under `hash`, decoded (cached). */
  const programOf = (hash: string) =>
    Effect.gen(function*() {
      const known = programs.get(hash)
      if (known !== undefined) return known
      const store = yield* RunStore
      const json = yield* store.getProgram(hash).pipe(Effect.mapError(unavailable))
      if (Option.isNone(json)) return yield* new Unavailable({ message: `the store has no program ${hash}` })
      const decoded = decodeProgram(json.value)
      if (Either.isLeft(decoded)) {
        return yield* new Unavailable({
          message: `the stored program ${hash} does not decode: ${decoded.left.message}`
        })
      }
      if (programs.size > 256) programs.clear()
      programs.set(hash, decoded.right)
      return decoded.right
    })
  /** Judges the canary when it is due; its decision (if any) is recorded by the service. */
  const autoCanary = (workspace: string, d: Deployment) =>
    Effect.gen(function*() {
      if (d.candidate === null || d.canary === null) return d
      const now = yield* Clock.currentTimeMillis
      const key = JSON.stringify([workspace, d.name])
      if (now - (lastCheck.get(key) ?? 0) < CANARY_CHECK_INTERVAL_MS) return d
      lastCheck.set(key, now)
      const checked = yield* Effect.either(Rollout.checkCanary(workspace, d.name))
      // Another request's decision won, or the store hiccuped: route by what is stored now.
      return Either.isRight(checked) ? checked.right.deployment : yield* Rollout.getDeployment(workspace, d.name)
    })
  return handlers
    .handle("put", ({ path, payload }) =>
      Effect.gen(function*() {
        const ws = yield* CurrentWorkspace
        const hasCurrent = payload.source !== undefined || payload.program !== undefined
        const current = hasCurrent
          ? yield* versionOf({
            ...(payload.source === undefined ? {} : { source: payload.source }),
            ...(payload.program === undefined ? {} : { program: payload.program })
          }, "program")
          : undefined
        const candidate = payload.candidate === undefined
          ? undefined
          : payload.candidate === null
          ? null
          : yield* versionOf(payload.candidate, "candidate")
        const d = yield* Rollout.putDeployment(ws.name, path.name, {
          ...(current === undefined ? {} : { current }),
          ...(candidate === undefined ? {} : { candidate }),
          ...(payload.percent === undefined ? {} : { percent: payload.percent }),
          ...(payload.sticky === undefined ? {} : { sticky: payload.sticky }),
          ...(payload.canary === undefined ? {} : { canary: payload.canary }),
          ...(payload.rule === undefined ? {} : { rule: payload.rule })
        }).pipe(Effect.mapError(toHttp))
        return viewOf(d)
      }))
    .handle("list", () =>
      Effect.gen(function*() {
        const ws = yield* CurrentWorkspace
        const all = yield* Rollout.listDeployments(ws.name).pipe(Effect.mapError(toHttp))
        return { deployments: all.map(viewOf) }
      }))
    .handle("get", ({ path }) =>
      Effect.gen(function*() {
        const ws = yield* CurrentWorkspace
        return viewOf(yield* Rollout.getDeployment(ws.name, path.name).pipe(Effect.mapError(toHttp)))
      }))
    .handle("run", ({ headers, path, payload, request }) =>
      Effect.gen(function*() {
        const ws = yield* CurrentWorkspace
        const ctx = yield* ServerContext
        const stored = yield* Rollout.getDeployment(ws.name, path.name).pipe(Effect.mapError(toHttp))
        const deployment = yield* autoCanary(ws.name, stored).pipe(
          Effect.locally(sharedPolicy, ctx.config.file.bandit?.shared === true),
          Effect.mapError(toHttp)
        )
        const inputs: Record<string, Json> = { ...(payload.inputs ?? {}) as Record<string, Json> }
        const key = Rollout.stickyKeyOf(deployment.sticky, request.headers, inputs)
        const routed = yield* Rollout.routeRequest(deployment, key)
        const program = yield* programOf(routed.version.hash)
        const planned = plan(program)
        if (Either.isLeft(planned)) return yield* new BadRequest({ message: planned.left.message })
        const entry = planned.right.entry
        // A program with a `flags` parameter reads the workspace's flags, evaluated for this request's key.
        if (entry.params.some((p) => p.name === "flags") && !Object.prototype.hasOwnProperty.call(inputs, "flags")) {
          inputs["flags"] = yield* Flags.evaluateFlags(ws.name, key).pipe(Effect.mapError(toHttp))
        }
        const bound = bindParams(entry.params, inputs, `program "${entry.name}"`)
        if (Either.isLeft(bound)) return yield* new BadRequest({ message: bound.left })
        const idem = headers["idempotency-key"]
        if (idem !== undefined && (idem.length === 0 || idem.length > 255)) {
          return yield* new BadRequest({ message: "Idempotency-Key must be 1-255 characters" })
        }
        const placement = yield* RunPlacement
        const accepted = yield* placement.submit({
          workspace: ws.name,
          quotas: ws.quotas,
          program,
          programHash: routed.version.hash,
          programName: routed.version.name,
          inputs,
          ...(payload.seed === undefined ? {} : { seed: payload.seed }),
          ...(idem === undefined ? {} : {
            idempotency: {
              key: idem,
              bodyHash: createHash("sha256").update(canonicalJson({ deployment: path.name, ...payload })).digest(
                "hex"
              )
            }
          })
        }).pipe(Effect.catchAll(rejected))
        yield* Rollout.recordRun(ws.name, deployment.name, accepted.runId, routed.role, routed.version.hash).pipe(
          Effect.mapError(toHttp)
        )
        return {
          runId: accepted.runId,
          deployment: deployment.name,
          role: routed.role,
          programHash: routed.version.hash
        }
      }))
    .handle("history", ({ path, urlParams }) =>
      Effect.gen(function*() {
        const ws = yield* CurrentWorkspace
        const events = yield* Rollout.history(ws.name, path.name, urlParams.limit ?? 100, urlParams.before).pipe(
          Effect.mapError(toHttp)
        )
        return { events }
      }))
    .handle("canary", ({ path }) =>
      Effect.gen(function*() {
        const ws = yield* CurrentWorkspace
        const ctx = yield* ServerContext
        return yield* Rollout.checkCanary(ws.name, path.name, { record: true }).pipe(
          Effect.locally(sharedPolicy, ctx.config.file.bandit?.shared === true),
          Effect.mapError(toHttp)
        )
      }))
    .handle("promote", ({ path, payload }) =>
      Effect.gen(function*() {
        const ws = yield* CurrentWorkspace
        return yield* Rollout.promote(ws.name, path.name, payload).pipe(Effect.mapError(toHttp))
      }))
    .handle("rollback", ({ path, payload }) =>
      Effect.gen(function*() {
        const ws = yield* CurrentWorkspace
        return viewOf(yield* Rollout.rollback(ws.name, path.name, payload.reason ?? "").pipe(Effect.mapError(toHttp)))
      }))
    .handle("putFlag", ({ path, payload }) =>
      Effect.gen(function*() {
        const ws = yield* CurrentWorkspace
        return yield* Flags.putFlag(ws.name, path.name, payload).pipe(Effect.mapError(toHttp))
      }))
    .handle("listFlags", ({ urlParams }) =>
      Effect.gen(function*() {
        const ws = yield* CurrentWorkspace
        const flags = yield* Flags.listFlags(ws.name).pipe(Effect.mapError(toHttp))
        if (urlParams.key === undefined) return { flags }
        const evaluated = yield* Flags.evaluateFlags(ws.name, urlParams.key).pipe(Effect.mapError(toHttp))
        return { flags, evaluated }
      }))
    .handle("deleteFlag", ({ path }) =>
      Effect.gen(function*() {
        const ws = yield* CurrentWorkspace
        const deleted = yield* Flags.deleteFlag(ws.name, path.name).pipe(Effect.mapError(toHttp))
        if (!deleted) return yield* new NotFound({ message: `no flag ${path.name.slice(0, 128)}` })
        return { deleted }
      }))
})
