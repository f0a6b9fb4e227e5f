/**
 * `trellis artifacts [--kind k] [--json]` lists the content-addressed artifacts jobs stored;
 * `trellis artifacts show <hash> [-o file]` prints or writes one (a unique hash prefix is enough).
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { Effect, Option } from "effect"
import { ARTIFACT_KINDS, ArtifactStore } from "../optimize/artifacts.js"
import { CliError, out, writeText } from "./io.js"
import { artifactStoreLayer } from "./job.js"

const storeFailed = (e: { readonly message: string }) => new CliError({ message: `artifacts: ${e.message}` })

const show = Command.make(
  "show",
  {
    hash: Args.text({ name: "hash" }).pipe(Args.withDescription("sha256:… (or a unique prefix)")),
    output: Options.text("output").pipe(Options.withAlias("o"), Options.optional)
  },
  (o) =>
    Effect.gen(function*() {
      const store = yield* ArtifactStore
      const found = yield* Effect.mapError(store.get(o.hash), storeFailed)
      if (Option.isNone(found)) return yield* new CliError({ message: `artifacts: no artifact ${o.hash}` })
      if (Option.isSome(o.output)) return yield* writeText(o.output.value, found.value.content)
      yield* out(found.value.content)
    }).pipe(Effect.provide(artifactStoreLayer(false)))
).pipe(Command.withDescription("Print or write one artifact"))

/** `trellis artifacts`. */
export const artifactsCommand = Command.make(
  "artifacts",
  {
    kind: Options.choice("kind", ARTIFACT_KINDS).pipe(Options.optional),
    json: Options.boolean("json").pipe(Options.withDescription("One JSON line per artifact"))
  },
  (o) =>
    Effect.gen(function*() {
      const store = yield* ArtifactStore
      const list = yield* Effect.mapError(store.list(Option.getOrUndefined(o.kind)), storeFailed)
      yield* out(
        o.json
          ? list.map((a) => JSON.stringify(a)).join("\n")
          : list.length === 0
          ? "no artifacts"
          : list.map((a) =>
            `${a.hash.slice(0, 19)}  ${a.kind.padEnd(10)} ${String(a.size).padStart(8)}  ${
              new Date(a.createdAt).toISOString()
            }  ${a.name}`
          ).join("\n")
      )
    }).pipe(Effect.provide(artifactStoreLayer(false)))
).pipe(
  Command.withDescription("List content-addressed artifacts (programs, reports, calibrators, datasets)"),
  Command.withSubcommands([show])
)
