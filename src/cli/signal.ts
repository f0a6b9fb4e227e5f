/**
 * `trellis signal <run-id> <name> --payload '<json>' [--signal-id id]
 * [--tools m] [--json]`: sends a signal to a run's wait (SPEC §11) on the
 * store of the environment; a `waiting` run then continues in this
 * process until it completes, fails or parks again.
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { Cause, Effect, Exit, Layer, Option } from "effect"
import type { Json } from "../ir/eval.js"
import * as Durable from "../runtime/durable.js"
import { HttpAllowlist } from "../tools/index.js"
import { CliError, out } from "./io.js"
import { loadRegistry, servicesLayer } from "./services.js"

const parsePayload = (text: string): Effect.Effect<Json, CliError> =>
  Effect.try({
    try: () => JSON.parse(text) as Json,
    catch: () =>
      new CliError({ message: `--payload is not JSON: ${text.length > 60 ? text.slice(0, 60) + "…" : text}` })
  })

/** `trellis signal`. */
export const signalCommand = Command.make(
  "signal",
  {
    runId: Args.text({ name: "run-id" }).pipe(Args.withDescription("The run to signal")),
    name: Args.text({ name: "name" }).pipe(Args.withDescription("The signal's name (the wait's)")),
    payload: Options.text("payload").pipe(Options.withDefault("null"), Options.withDescription("The payload (JSON)")),
    signalId: Options.text("signal-id").pipe(
      Options.optional,
      Options.withDescription("Deduplicates: the same id again changes nothing")
    ),
    tools: Options.text("tools").pipe(
      Options.optional,
      Options.withDescription("A module exporting `tools` (TypeScript or JavaScript)")
    ),
    json: Options.boolean("json").pipe(Options.withDescription("Print JSON"))
  },
  ({ json, name, payload, runId, signalId, tools }) =>
    Effect.gen(function*() {
      const value = yield* parsePayload(payload)
      const { registry } = yield* loadRegistry(Option.getOrUndefined(tools))
      const body = Effect.gen(function*() {
        const receipt = yield* Durable.signal(runId, name, value, {
          ...(Option.isSome(signalId) ? { signalId: signalId.value } : {})
        }).pipe(
          Effect.mapError((e) => new CliError({ message: `run ${runId}: ${e.message.replace(/^ended: /, "")}` }))
        )
        if (!receipt.accepted || receipt.status !== "waiting") {
          return yield* out(
            json ?
              JSON.stringify(receipt) :
              `signal ${receipt.signalId} ${
                receipt.accepted ? "stored" : "already received"
              } (run ${runId} is ${receipt.status})`
          )
        }
        const exit = yield* Effect.exit(Durable.resume(runId))
        if (Exit.isSuccess(exit)) {
          const r = exit.value
          return yield* out(
            json
              ? JSON.stringify({ ...receipt, run: r })
              : r.status === "completed"
              ? JSON.stringify(r.output, null, 2)
              : `run ${runId} is waiting: ${r.waits.map((w) => w.name ?? `a timer (node ${w.node})`).join(", ")}`
          )
        }
        const e = Option.getOrUndefined(Cause.failureOption(exit.cause))
        return yield* new CliError({
          message: `run ${runId} failed: ${e === undefined ? "interrupted" : `${e.kind}: ${e.message}`}`
        })
      })
      return yield* body.pipe(
        Effect.provide(Layer.merge(servicesLayer(registry, { memory: false }), HttpAllowlist.layerFromEnv))
      )
    })
).pipe(Command.withDescription("Send a signal to a run's wait; a waiting run continues"))
