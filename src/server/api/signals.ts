/**
 * Signals of durable waits (SPEC §11): `POST /v1/runs/:id/signals/:name`
 * with `{ "payload": <json>, "signalId"?: "<dedupe id>" }` answers 202;
 * an unknown (or another workspace's) run is a 404, a run that has ended a
 * 409 (nothing changes), a payload that fits no declared answer type or a
 * name no wait of the program waits for a 400.
 */
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { Authorization } from "./auth.js"
import { BadRequest, Conflict, NotFound, PayloadTooLarge, strict, Unavailable, UnsupportedMediaType } from "./errors.js"

/** The body of a signal. */
export const SignalRequest = strict(Schema.Struct({
  payload: Schema.Unknown,
  /** Deduplicates: the same id again changes nothing. */
  signalId: Schema.optionalWith(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200)), { exact: true })
}))

/** What a signal did. */
export const SignalReceiptView = Schema.Struct({
  runId: Schema.String,
  name: Schema.String,
  signalId: Schema.String,
  /** False when a signal with this id had already been received (nothing changed). */
  accepted: Schema.Boolean
})

/** The signal endpoint. */
export class SignalsGroup extends HttpApiGroup.make("signals")
  .add(
    HttpApiEndpoint.post("send", "/v1/runs/:id/signals/:name")
      .setPath(Schema.Struct({ id: Schema.String, name: Schema.String }))
      .setPayload(SignalRequest)
      .addSuccess(SignalReceiptView, { status: 202 })
      .addError(BadRequest)
      .addError(NotFound)
      .addError(Conflict)
      .addError(UnsupportedMediaType)
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "Send a signal to a run's wait")
  )
  .addError(PayloadTooLarge)
  .middleware(Authorization)
{}
