/** `POST /v1/programs/check`: a program (DSL text or JSON IR) → its violations, normal form and hash. */
import { HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
import { Schema } from "effect"
import { Authorization } from "./auth.js"
import { BadRequest, Violation } from "./errors.js"

/** A program given as DSL text (`source`) or JSON IR (`program`): exactly one of them. */
export const ProgramInput = Schema.Struct({
  source: Schema.optionalWith(Schema.String, { exact: true }),
  program: Schema.optionalWith(Schema.Unknown, { exact: true })
})

/** What a check found. */
export const CheckResult = Schema.Struct({
  ok: Schema.Boolean,
  format: Schema.Literal("dsl", "json"),
  violations: Schema.Array(Violation),
  normalized: Schema.optionalWith(Schema.Unknown, { exact: true }),
  hash: Schema.optionalWith(Schema.String, { exact: true })
})

/** Checking programs. */
export class ProgramsGroup extends HttpApiGroup.make("programs")
  .add(
    HttpApiEndpoint.post("check", "/v1/programs/check")
      .setPayload(ProgramInput)
      .addSuccess(CheckResult)
      .addError(BadRequest)
  )
  .middleware(Authorization)
{}
