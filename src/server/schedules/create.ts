/**
 * A new schedule from what a caller gave (pure; shared by `POST
 * /v1/schedules` and `trellis schedules create`): the cron expression in its
 * time zone, the checked program (its normal form), inputs that must fit the
 * program's parameters now rather than at the first fire, and the policies.
 * A problem names the field it is about.
 */
import { Either } from "effect"
import type { Json } from "../../ir/eval.js"
import { encodeProgram } from "../../ir/json.js"
import type { Program } from "../../ir/schema.js"
import { bindParams } from "../../runtime/inputs.js"
import { plan } from "../../runtime/runtime.js"
import type { MissedPolicy, OverlapPolicy, ScheduleRecord } from "../../store/schedules.js"
import { nextAfter, parse } from "./cron.js"

/** What a schedule is made of. */
export interface ScheduleRequest {
  readonly scheduleId: string
  readonly workspace: string
  readonly cron: string
  /** @default "UTC" */
  readonly timezone?: string
  /** The checked program (its normal form). */
  readonly program: Program
  readonly inputs?: { readonly [name: string]: Json }
  readonly seed?: number
  /** @default "skip" */
  readonly overlap?: OverlapPolicy
  /** @default { policy: "skip" } */
  readonly missed?: MissedPolicy
  /** @default false */
  readonly paused?: boolean
  /** Now (Effect's Clock), in milliseconds. */
  readonly now: number
}

/** Why a schedule was refused: the field (`["cron"]`, `["missed", "max"]`…), a code and a message. */
export interface ScheduleProblem {
  readonly path: ReadonlyArray<string>
  readonly code: string
  readonly message: string
}

const problem = (path: ReadonlyArray<string>, code: string, message: string): ScheduleProblem => ({
  path,
  code,
  message
})

/** The record of a new schedule, or the first problem found. */
export const makeSchedule = (r: ScheduleRequest): Either.Either<ScheduleRecord, ScheduleProblem> => {
  const timezone = r.timezone ?? "UTC"
  const spec = parse(r.cron, timezone)
  if (Either.isLeft(spec)) {
    return Either.left(problem([spec.left.field], `schedule.${spec.left.field}`, spec.left.message))
  }
  const missed: MissedPolicy = r.missed ?? { policy: "skip" }
  if (missed.max !== undefined && missed.policy !== "catch-up") {
    return Either.left(problem(["missed", "max"], "schedule.missed", "missed.max applies to the catch-up policy only"))
  }
  if (missed.max !== undefined && (!Number.isInteger(missed.max) || missed.max < 1 || missed.max > 100)) {
    return Either.left(problem(["missed", "max"], "schedule.missed", "missed.max is an integer from 1 to 100"))
  }
  const planned = plan(r.program)
  if (Either.isLeft(planned)) return Either.left(problem(["program"], "schedule.program", planned.left.message))
  const inputs = r.inputs ?? {}
  const bound = bindParams(planned.right.entry.params, inputs, `program "${planned.right.entry.name}"`)
  if (Either.isLeft(bound)) return Either.left(problem(["inputs"], "schedule.inputs", bound.left))
  const paused = r.paused === true
  return Either.right({
    scheduleId: r.scheduleId,
    workspace: r.workspace,
    cron: spec.right.expression,
    timezone,
    program: JSON.parse(encodeProgram(r.program)) as Json,
    programHash: planned.right.hash,
    programName: planned.right.entry.name,
    inputs,
    seed: r.seed ?? null,
    overlap: r.overlap ?? "skip",
    missed,
    paused,
    nextFireAt: paused ? null : nextAfter(spec.right, r.now),
    pending: [],
    lastFireAt: null,
    lastRunId: null,
    createdAt: r.now,
    updatedAt: r.now
  })
}
