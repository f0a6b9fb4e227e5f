/**
 * `POST /v1/programs/check`: a program (DSL text or JSON IR) → its violations, normal form and hash.
 * `POST /v1/programs/plan`: a task → a program from a model that passes check (the planner), or 422 with the last violations.
 */
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { Authorization } from "./auth.js"
import {
  BadRequest,
  PayloadTooLarge,
  strict,
  TooManyRequests,
  Unavailable,
  UnsupportedMediaType,
  Violation
} from "./errors.js"

/** A program given as DSL text (`source`) or JSON IR (`program`): exactly one of them. */
export const ProgramInput = strict(Schema.Struct({
  source: Schema.optionalWith(Schema.String, { exact: true }),
  program: Schema.optionalWith(Schema.Unknown, { exact: true })
}))

/** What a check found. */
export const CheckResult = Schema.Struct({
  ok: Schema.Boolean,
  format: Schema.Literal("dsl", "json"),
  violations: Schema.Array(Violation),
  normalized: Schema.optionalWith(Schema.Unknown, { exact: true }),
  hash: Schema.optionalWith(Schema.String, { exact: true })
})

/** What to plan: the task, the model to ask, and the rounds (the first answer included). */
export const PlanRequest = strict(Schema.Struct({
  task: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(20_000)),
  model: Schema.String.pipe(Schema.minLength(1)),
  /** @default 3 */
  rounds: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 10)), { exact: true })
}))

/** A planned program: normalized IR, DSL text, hash, rounds used. */
export const PlanResponse = Schema.Struct({
  program: Schema.Unknown,
  source: Schema.String,
  hash: Schema.String,
  rounds: Schema.Int
})

/** 422: the model never produced a program that passes check; the last answer's violations. */
export class PlanInvalid extends Schema.TaggedError<PlanInvalid>()("PlanInvalid", {
  message: Schema.String,
  rounds: Schema.Int,
  violations: Schema.Array(Violation)
}, HttpApiSchema.annotations({ status: 422 })) {}

/** Checking programs. */
export class ProgramsGroup extends HttpApiGroup.make("programs")
  .add(
    HttpApiEndpoint.post("check", "/v1/programs/check")
      .setPayload(ProgramInput)
      .addSuccess(CheckResult)
      .addError(BadRequest)
      .addError(UnsupportedMediaType)
      .annotate(OpenApi.Summary, "Check a program")
  )
  .add(
    HttpApiEndpoint.post("plan", "/v1/programs/plan")
      .setPayload(PlanRequest)
      .addSuccess(PlanResponse)
      .addError(BadRequest)
      .addError(PlanInvalid)
      .addError(UnsupportedMediaType)
      .addError(TooManyRequests)
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "Plan a program for a task with a model")
  )
  .addError(PayloadTooLarge)
  .middleware(Authorization)
{}
