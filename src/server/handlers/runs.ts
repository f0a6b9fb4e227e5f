/**
 * Handlers of the run endpoints: submission through the `RunManager`, reads
 * from the `RunStore` (always filtered by the caller's workspace, so another
 * workspace's run is a 404), SSE from the `EventLog`, cancel, feedback and
 * replay. Store failures are 503s; nothing here answers 500 for bad input.
 */
import { HttpApiBuilder, HttpApp, HttpServerResponse } from "@effect/platform"
import { Effect, Either, Option } from "effect"
import { createHash } from "node:crypto"
import { canonicalJson } from "../../ir/canonical.js"
import type { Json } from "../../ir/eval.js"
import { sharedPolicy } from "../../runtime/bandit/store.js"
import * as Durable from "../../runtime/durable.js"
import { bindParams } from "../../runtime/inputs.js"
import { currentWorkspace } from "../../runtime/llm.js"
import { RunStore } from "../../runtime/runStore.js"
import type { RunRecord } from "../../runtime/runStore.js"
import { feedback, plan } from "../../runtime/runtime.js"
import { ToolRegistry } from "../../tools/registry.js"
import { EventLog } from "../../trace/events.js"
import { CurrentWorkspace } from "../api/auth.js"
import { BadRequest, Conflict, NotFound, TooManyRequests, Unavailable } from "../api/errors.js"
import { Api } from "../api/index.js"
import type { RunView } from "../api/runs.js"
import { ServerContext } from "../context.js"
import { RunPlacement } from "../placement.js"
import { ProgramCache } from "../programCache.js"
import { RunManager } from "../runManager.js"
import type { ManagedRun, ManagerError } from "../runManager.js"
import { endedResponse, parseLastEventId, sseResponse } from "../sse.js"
import { checkInput, violationsOf } from "./program.js"
import { runsOfSchedule, withSchedules } from "./scheduleRuns.js"

/** Run ids the API accepts; anything else is simply not found (never reaches the store). */
const RUN_ID = /^[A-Za-z0-9_-]{1,128}$/
const CURSOR = /^\d{1,16}:[A-Za-z0-9_-]{1,128}$/
/** Statuses after the terminal event. */
const ENDED = new Set<string>(["completed", "failed", "cancelled"])

const unavailable = (e: { readonly message: string }) => new Unavailable({ message: `the store failed: ${e.message}` })
const notFound = (id: string) => new NotFound({ message: `no run ${id.length > 128 ? id.slice(0, 128) + "…" : id}` })

/** JSON text of a value, or undefined when it has none (too deep, a cycle): such a program is not cached. */
const safeJson = (value: unknown): string | undefined => {
  try {
    return JSON.stringify(value)
  } catch {
    return undefined
  }
}

/** A record as the API shows it. */
const viewOfRecord = (r: RunRecord): RunView => ({
  runId: r.runId,
  status: r.status,
  ...(r.output === undefined ? {} : { output: r.output }),
  ...(r.error === undefined ? {} : { error: r.error }),
  programHash: r.programHash,
  programName: r.programName,
  inputs: r.inputs,
  seed: r.seed,
  createdAt: r.createdAt,
  updatedAt: r.updatedAt,
  endedAt: r.endedAt,
  ...costOf(r.state)
})

/** The `cost` of a run's recorded state (its trace summary), when it has one. */
const costOf = (state: unknown): { readonly cost?: number } => {
  const cost = typeof state === "object" && state !== null ? (state as { readonly cost?: unknown }).cost : undefined
  return typeof cost === "number" && Number.isFinite(cost) ? { cost } : {}
}

const viewOfManaged = (m: ManagedRun): RunView => ({
  runId: m.runId,
  status: m.state,
  programHash: m.programHash,
  programName: m.programName,
  inputs: m.inputs,
  seed: m.seed,
  createdAt: m.createdAt,
  updatedAt: m.createdAt,
  endedAt: null
})

/** The run `id` of the caller's workspace: its record, or what the manager holds, or 404. */
const findRun = (id: string) =>
  Effect.gen(function*() {
    if (!RUN_ID.test(id)) return yield* notFound(id)
    const ws = yield* CurrentWorkspace
    const placement = yield* RunPlacement
    // A queued run is recorded when accepted (status `running` in the store): the manager says it is still queued.
    const local = (yield* RunManager).peek(id, ws.name)
    if (local !== undefined && local.state === "queued") return viewOfManaged(local)
    const store = yield* RunStore
    const record = yield* store.get(id, ws.name).pipe(Effect.mapError(unavailable))
    if (Option.isSome(record)) return viewOfRecord(record.value)
    const managed = yield* placement.peek(id, ws.name)
    if (managed !== undefined) return viewOfManaged(managed)
    return yield* notFound(id)
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

/** The handlers of the `runs` group (with one program cache per server). */
export const layerRuns = HttpApiBuilder.group(Api, "runs", (handlers) => {
  const programs = new ProgramCache()
  /** The program of a request, checked and planned, from the cache when this text passed before. */
  const checkCached = (payload: { readonly source?: string; readonly program?: unknown }) =>
    Effect.gen(function*() {
      const text = payload.source ?? (payload.program === undefined ? undefined : safeJson(payload.program))
      const key = text === undefined || (payload.source !== undefined && payload.program !== undefined)
        ? undefined
        : ProgramCache.keyOf(payload.source === undefined ? "json" : "dsl", text)
      const known = key === undefined ? undefined : programs.get(key)
      if (known !== undefined) return known
      const registry = yield* ToolRegistry
      const checked = yield* checkInput(payload, registry.table)
      if (checked.program === undefined || checked.diagnostics.length > 0) {
        return yield* new BadRequest({
          message: `the program has ${checked.diagnostics.length} problem(s)`,
          violations: violationsOf(checked)
        })
      }
      // Like `trellis run`: the normal form runs.
      const program = checked.normalized ?? checked.program
      const planned = plan(program)
      if (Either.isLeft(planned)) return yield* new BadRequest({ message: planned.left.message })
      const ready = { program, hash: planned.right.hash, name: planned.right.entry.name }
      if (key !== undefined) programs.set(key, ready)
      return ready
    })
  return handlers
    .handle("create", ({ headers, payload }) =>
      Effect.gen(function*() {
        const ws = yield* CurrentWorkspace
        const checked = yield* checkCached(payload)
        const inputs = (payload.inputs ?? {}) as { readonly [name: string]: Json }
        const params = plan(checked.program)
        if (Either.isLeft(params)) return yield* new BadRequest({ message: params.left.message })
        const bound = bindParams(params.right.entry.params, inputs, `program "${checked.name}"`)
        if (Either.isLeft(bound)) return yield* new BadRequest({ message: bound.left })
        const key = headers["idempotency-key"]
        if (key !== undefined && (key.length === 0 || key.length > 255)) {
          return yield* new BadRequest({ message: "Idempotency-Key must be 1-255 characters" })
        }
        const placement = yield* RunPlacement
        const accepted = yield* placement.submit({
          workspace: ws.name,
          quotas: ws.quotas,
          program: checked.program,
          programHash: checked.hash,
          programName: checked.name,
          inputs,
          ...(payload.seed === undefined ? {} : { seed: payload.seed }),
          ...(key === undefined
            ? {}
            : { idempotency: { key, bodyHash: createHash("sha256").update(canonicalJson(payload)).digest("hex") } })
        }).pipe(Effect.catchAll(rejected))
        return { runId: accepted.runId }
      }))
    .handle("list", ({ urlParams }) =>
      Effect.gen(function*() {
        const ws = yield* CurrentWorkspace
        const manager = yield* RunManager
        const limit = urlParams.limit ?? 50
        if (urlParams.cursor !== undefined && !CURSOR.test(urlParams.cursor)) {
          return yield* new BadRequest({
            message: "cursor: not a cursor of this API (use the `next` of a previous page)"
          })
        }
        if (urlParams.scheduleId !== undefined) {
          return yield* runsOfSchedule(urlParams.scheduleId, viewOfRecord, viewOfManaged, {
            limit,
            ...(urlParams.cursor === undefined ? {} : { cursor: urlParams.cursor }),
            ...(urlParams.status === undefined ? {} : { status: urlParams.status })
          })
        }
        const program = urlParams.programHash
        const queuedOf = () =>
          manager.queuedOf(ws.name).filter((m) => program === undefined || m.programHash === program)
        if (urlParams.status === "queued") {
          return { runs: yield* withSchedules(queuedOf().slice(0, limit).map(viewOfManaged)) }
        }
        const store = yield* RunStore
        const page = yield* store.list({
          workspace: ws.name,
          limit,
          ...(urlParams.status === undefined ? {} : { status: urlParams.status }),
          ...(urlParams.cursor === undefined ? {} : { cursor: urlParams.cursor }),
          ...(program === undefined ? {} : { programHash: program })
        }).pipe(Effect.mapError(unavailable))
        const queued = urlParams.status === undefined && urlParams.cursor === undefined ? [...queuedOf()].reverse() : []
        // Queued runs are recorded as `running` when accepted: listed as queued (first page), never as running.
        const waiting = new Set(queuedOf().map((m) => m.runId))
        const recorded = page.runs.filter((r) => !waiting.has(r.runId))
        return {
          runs: yield* withSchedules([...queued.map(viewOfManaged), ...recorded.map(viewOfRecord)]),
          ...(page.next === undefined ? {} : { next: page.next })
        }
      }))
    .handle(
      "get",
      ({ path }) =>
        findRun(path.id).pipe(Effect.flatMap((run) => withSchedules([run])), Effect.map((views) => views[0]!))
    )
    .handleRaw("events", ({ path, request }) =>
      Effect.gen(function*() {
        // A run this server holds is live: its events come from memory after one read of the past (no record read).
        const ws = yield* CurrentWorkspace
        const held = RUN_ID.test(path.id) ? (yield* RunManager).peek(path.id, ws.name) : undefined
        const run = held === undefined ? yield* findRun(path.id) : viewOfManaged(held)
        const ctx = yield* ServerContext
        const after = parseLastEventId(request.headers["last-event-id"])
        if (after >= 0 && ENDED.has(run.status)) {
          // An ended run's log is complete: nothing after `after` means the client has the terminal event.
          const log = yield* EventLog
          const events = yield* log.events(run.runId).pipe(Effect.mapError(unavailable))
          if (!events.some((e) => e.seq > after)) return endedResponse()
        }
        return yield* sseResponse(path.id, {
          after,
          heartbeatMs: ctx.config.limits.sseHeartbeatMs,
          gauge: ctx.sse,
          local: held !== undefined
        })
      }))
    .handle("cancel", ({ path }) =>
      Effect.gen(function*() {
        const ws = yield* CurrentWorkspace
        const run = yield* findRun(path.id)
        const placement = yield* RunPlacement
        const held = yield* placement.cancel(run.runId, ws.name)
        if (!held) {
          return yield* new Conflict({
            message: run.status === "running"
              ? `run ${run.runId} is not executing in this server`
              : `run ${run.runId} is already ${run.status}`
          })
        }
        const after = yield* findRun(run.runId)
        return { runId: run.runId, status: after.status }
      }))
    .handle("feedback", ({ path, payload }) =>
      Effect.gen(function*() {
        const run = yield* findRun(path.id)
        const ctx = yield* ServerContext
        const ws = yield* CurrentWorkspace
        const rewarded = yield* feedback(run.runId, payload.key, payload.reward).pipe(
          Effect.catchTags({
            RunError: (e) => Effect.fail(new BadRequest({ message: e.message })),
            StoreError: (e) => Effect.fail(unavailable(e))
          }),
          // The run's workspace's bandit state (issue 14), or the shared one when the config says so.
          Effect.locally(currentWorkspace, ws.name),
          Effect.locally(sharedPolicy, ctx.config.file.bandit?.shared === true)
        )
        return { rewarded }
      }))
    .handle("replay", ({ path, payload }) =>
      Effect.gen(function*() {
        const run = yield* findRun(path.id)
        if (run.status === "queued" || run.status === "running") {
          return yield* new Conflict({ message: `run ${run.runId} is ${run.status}; only ended runs replay` })
        }
        const report = yield* Durable.replay({ _tag: "Stored", runId: run.runId }, {
          live: payload.live === true,
          allowVersionChange: payload.allowVersionChange === true
        }).pipe(
          // InvalidProgram: the record no longer fits what the server has (a tool's version changed
          // incompatibly, the program is missing): a conflict, with the refusal's own message.
          Effect.mapError((e): BadRequest | Conflict | Unavailable =>
            e.kind === "StoreUnavailable"
              ? unavailable(e)
              : e.kind === "InvalidProgram"
              ? new Conflict({ message: e.message })
              : new BadRequest({ message: e.message })
          )
        )
        return {
          runId: report.runId,
          exact: report.exact,
          ...(report.divergence === undefined
            ? {}
            : { divergence: JSON.parse(JSON.stringify(report.divergence)) as unknown }),
          status: report.status,
          ...(report.output === undefined ? {} : { output: report.output }),
          ...(report.error === undefined ? {} : { error: report.error }),
          recordedEvents: report.recordedEvents,
          replayedEvents: report.replayedEvents
        }
      }))
})
