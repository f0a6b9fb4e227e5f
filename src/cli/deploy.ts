/**
 * `trellis deploy` and `trellis deployments` (issue 20): create and change
 * named deployments, start a rollout with its canary and promotion rule,
 * promote, roll back, judge the canary, set feature flags, and list
 * deployments with their history — on the environment's store
 * (`TRELLIS_HOME`, default `./.trellis`, or `TRELLIS_DATABASE_URL`), in one
 * workspace (`--workspace`, default `default`: the open server's). Runs of a
 * deployment go through the server (`POST /v1/deployments/:name/runs`).
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { Effect, Either, Layer, Option, Schema } from "effect"
import type { Json } from "../ir/eval.js"
import { encodeProgram } from "../ir/json.js"
import type { RolloutError } from "../optimize/rollout/errors.js"
import * as Flags from "../optimize/rollout/flags.js"
import { CanaryConfig, FlagValue, PromotionRule, StickyKey as StickyKeySchema } from "../optimize/rollout/model.js"
import type { Deployment, StickyKey, Version } from "../optimize/rollout/model.js"
import * as Rollout from "../optimize/rollout/service.js"
import { RunStore } from "../runtime/runStore.js"
import { plan } from "../runtime/runtime.js"
import * as DeploymentStoreSql from "../store/deployments.js"
import * as EvalStoreSql from "../store/evals.js"
import { CliError, out } from "./io.js"
import { loadValid } from "./load.js"
import { loadRegistry, storeLayer } from "./services.js"

const jsonOption = Options.boolean("json").pipe(Options.withDescription("Print JSON"))
const workspaceOption = Options.text("workspace").pipe(
  Options.withDefault("default"),
  Options.withDescription("The workspace of the deployment (the open server's is `default`)")
)
const nameArg = Args.text({ name: "name" }).pipe(Args.withDescription("The deployment's name"))

/** The deployment services on the environment's store. */
const deployLayer = Layer.mergeAll(DeploymentStoreSql.layer, EvalStoreSql.layer).pipe(Layer.provideMerge(storeLayer))

const failed = (e: RolloutError) => new CliError({ message: e.message, exitCode: e.reason === "invalid" ? 2 : 1 })

const usage = (message: string) => new CliError({ message, exitCode: 2 })

/** A JSON option decoded with `schema`, or a usage error naming the option. */
const decodeJsonOption = <A, I>(flag: string, text: string, schema: Schema.Schema<A, I>) =>
  Effect.gen(function*() {
    if (text === "null") return null
    const parsed = yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: () => usage(`--${flag}: not JSON: ${text.slice(0, 100)}`)
    })
    const decoded = Schema.decodeUnknownEither(schema, { onExcessProperty: "error" })(parsed)
    if (Either.isLeft(decoded)) return yield* usage(`--${flag}: ${decoded.left.message}`)
    return decoded.right
  })

/** Loads and checks a program file, stores its normal form by hash; its version. */
const versionOf = (path: string, tools: Option.Option<string>) =>
  Effect.gen(function*() {
    const { registry } = yield* loadRegistry(Option.getOrUndefined(tools))
    const loaded = yield* loadValid(path, { tools: registry.table })
    const program = loaded.checked.normalized ?? loaded.checked.program!
    const planned = plan(program)
    if (Either.isLeft(planned)) return yield* new CliError({ message: `${path}: ${planned.left.message}` })
    const store = yield* RunStore
    yield* store.putProgram(planned.right.hash, JSON.parse(encodeProgram(program)) as Json).pipe(
      Effect.mapError((e) => new CliError({ message: `the store failed: ${e.message}` }))
    )
    return { hash: planned.right.hash, name: planned.right.entry.name } satisfies Version
  })

/** One line of a listing. */
const lineOf = (d: Deployment): string =>
  `${d.name}  current ${d.current.name} ${d.current.hash.slice(0, 16)}${
    d.candidate === null ? "" : `  candidate ${d.candidate.hash.slice(0, 16)} at ${d.percent}%`
  }${d.canary === null ? "" : "  canary"}${d.rule === null ? "" : "  rule"}  v${d.version}`

const setCommand = Command.make(
  "set",
  {
    name: nameArg,
    program: Options.text("program").pipe(
      Options.optional,
      Options.withDescription("Point the deployment at this program (.tr or .json); required to create it")
    ),
    candidate: Options.text("candidate").pipe(
      Options.optional,
      Options.withDescription("Roll out this program (.tr or .json); `none` ends the rollout")
    ),
    percent: Options.float("percent").pipe(
      Options.optional,
      Options.withDescription("The share of requests (0-100) routed to the candidate")
    ),
    stickyHeader: Options.text("sticky-header").pipe(
      Options.optional,
      Options.withDescription("Route by this request header's value (same value, same version)")
    ),
    stickyInput: Options.text("sticky-input").pipe(
      Options.optional,
      Options.withDescription("Route by this input field's value")
    ),
    canary: Options.text("canary").pipe(
      Options.optional,
      Options.withDescription("The canary as JSON, e.g. {\"minRuns\":30,\"alpha\":0.05} (null removes it)")
    ),
    rule: Options.text("rule").pipe(
      Options.optional,
      Options.withDescription("The promotion rule as JSON, e.g. {\"gate\":\"delta>=0\",\"maxCostRatio\":1.1}")
    ),
    tools: Options.text("tools").pipe(
      Options.optional,
      Options.withDescription("A module exporting `tools` the programs use (the server must serve them too)")
    ),
    workspace: workspaceOption,
    json: jsonOption
  },
  (o) =>
    Effect.gen(function*() {
      if (Option.isSome(o.stickyHeader) && Option.isSome(o.stickyInput)) {
        return yield* usage("give --sticky-header or --sticky-input, not both")
      }
      const sticky: StickyKey | undefined = Option.isSome(o.stickyHeader)
        ? { from: "header", name: o.stickyHeader.value }
        : Option.isSome(o.stickyInput)
        ? { from: "input", field: o.stickyInput.value }
        : undefined
      if (sticky !== undefined) {
        const ok = Schema.decodeUnknownEither(StickyKeySchema)(sticky)
        if (Either.isLeft(ok)) return yield* usage(`--sticky-${sticky.from}: not a header name or input field`)
      }
      const canary = Option.isSome(o.canary)
        ? yield* decodeJsonOption("canary", o.canary.value, CanaryConfig)
        : undefined
      const rule = Option.isSome(o.rule) ? yield* decodeJsonOption("rule", o.rule.value, PromotionRule) : undefined
      const current = Option.isSome(o.program) ? yield* versionOf(o.program.value, o.tools) : undefined
      const candidate = Option.isNone(o.candidate)
        ? undefined
        : o.candidate.value === "none"
        ? null
        : yield* versionOf(o.candidate.value, o.tools)
      const d = yield* Rollout.putDeployment(o.workspace, o.name, {
        ...(current === undefined ? {} : { current }),
        ...(candidate === undefined ? {} : { candidate }),
        ...(Option.isSome(o.percent) ? { percent: o.percent.value } : {}),
        ...(sticky === undefined ? {} : { sticky }),
        ...(canary === undefined ? {} : { canary }),
        ...(rule === undefined ? {} : { rule })
      }).pipe(Effect.mapError(failed))
      yield* out(o.json ? JSON.stringify(d) : lineOf(d))
    }).pipe(Effect.provide(deployLayer))
).pipe(Command.withDescription("Create or change a deployment: its program, a candidate rollout, canary, rule"))

const promoteCommand = Command.make(
  "promote",
  {
    name: nameArg,
    baselineEval: Options.text("baseline-eval").pipe(
      Options.optional,
      Options.withDescription("A stored eval of the current version (for the promotion rule)")
    ),
    candidateEval: Options.text("candidate-eval").pipe(
      Options.optional,
      Options.withDescription("A stored eval of the candidate (for the promotion rule)")
    ),
    workspace: workspaceOption,
    json: jsonOption
  },
  (o) =>
    Effect.gen(function*() {
      const result = yield* Rollout.promote(o.workspace, o.name, {
        ...(Option.isSome(o.baselineEval) ? { baselineEval: o.baselineEval.value } : {}),
        ...(Option.isSome(o.candidateEval) ? { candidateEval: o.candidateEval.value } : {})
      }).pipe(Effect.mapError(failed))
      if (o.json) yield* out(JSON.stringify(result))
      else {
        for (const c of result.rule?.checks ?? []) {
          yield* out(`${c.pass ? "pass" : "FAIL"}  ${c.check} ${c.value ?? "n/a"} (limit ${c.limit}): ${c.detail}`)
        }
        yield* out(result.promoted ? `promoted: ${lineOf(result.deployment)}` : "refused by the promotion rule")
      }
      if (!result.promoted) return yield* new CliError({ message: `${o.name}: the promotion rule failed` })
    }).pipe(Effect.provide(deployLayer))
).pipe(Command.withDescription("Promote the candidate (checked by the promotion rule against two evals)"))

const rollbackCommand = Command.make(
  "rollback",
  {
    name: nameArg,
    reason: Options.text("reason").pipe(Options.withDefault(""), Options.withDescription("Why (kept in the history)")),
    workspace: workspaceOption,
    json: jsonOption
  },
  (o) =>
    Effect.gen(function*() {
      const d = yield* Rollout.rollback(o.workspace, o.name, o.reason).pipe(Effect.mapError(failed))
      yield* out(o.json ? JSON.stringify(d) : `rolled back: ${lineOf(d)}`)
    }).pipe(Effect.provide(deployLayer))
).pipe(Command.withDescription("End a rollout: drop the candidate"))

const canaryCommand = Command.make(
  "canary",
  { name: nameArg, workspace: workspaceOption, json: jsonOption },
  (o) =>
    Effect.gen(function*() {
      const check = yield* Rollout.checkCanary(o.workspace, o.name, { record: true }).pipe(Effect.mapError(failed))
      if (o.json) return yield* out(JSON.stringify(check))
      yield* out(`${check.verdict.action}: ${check.verdict.reason}`)
      for (const m of check.verdict.metrics) {
        yield* out(
          `  ${m.metric.padEnd(8)} candidate ${m.meanB.toFixed(4)} vs current ${m.meanA.toFixed(4)}  delta CI [${
            m.ci[0].toFixed(4)
          }, ${m.ci[1].toFixed(4)}]  p=${m.adjustedPValue.toFixed(4)}${
            m.worse ? "  worse" : m.better ? "  better" : ""
          }`
        )
      }
    }).pipe(Effect.provide(deployLayer))
).pipe(Command.withDescription("Judge a deployment's canary now and apply its decision"))

const flagCommand = Command.make(
  "flag",
  {
    name: Args.text({ name: "flag" }),
    value: Args.text({ name: "value" }).pipe(Args.withDescription("on, off, N% (a sticky percentage) or delete")),
    workspace: workspaceOption,
    json: jsonOption
  },
  (o) =>
    Effect.gen(function*() {
      if (o.value === "delete") {
        const deleted = yield* Flags.deleteFlag(o.workspace, o.name).pipe(Effect.mapError(failed))
        if (!deleted) return yield* new CliError({ message: `no flag ${o.name} in workspace ${o.workspace}` })
        return yield* out(`deleted flag ${o.name}`)
      }
      const pct = /^(\d+(?:\.\d+)?)%$/.exec(o.value)
      const value = o.value === "on"
        ? { enabled: true }
        : o.value === "off"
        ? { enabled: false }
        : pct !== null
        ? { percent: Number(pct[1]) }
        : undefined
      const decoded = value === undefined ? undefined : Schema.decodeUnknownEither(FlagValue)(value)
      if (decoded === undefined || Either.isLeft(decoded)) {
        return yield* usage(`flag value "${o.value}": use on, off, N% (0-100) or delete`)
      }
      const flag = yield* Flags.putFlag(o.workspace, o.name, decoded.right).pipe(Effect.mapError(failed))
      yield* out(o.json ? JSON.stringify(flag) : `${flag.name} = ${o.value}`)
    }).pipe(Effect.provide(deployLayer))
).pipe(Command.withDescription("Set (on, off, N%) or delete a feature flag of the workspace"))

/** `trellis deploy set|promote|rollback|canary|flag`. */
export const deployCommand = Command.make("deploy").pipe(
  Command.withDescription("Deployments: set versions and rollouts, promote, roll back, judge canaries, flags"),
  Command.withSubcommands([setCommand, promoteCommand, rollbackCommand, canaryCommand, flagCommand])
)

/** `trellis deployments [name] [--history]`. */
export const deploymentsCommand = Command.make(
  "deployments",
  {
    name: Args.text({ name: "name" }).pipe(Args.optional),
    history: Options.boolean("history").pipe(Options.withDescription("Show the deployment's decisions")),
    flags: Options.boolean("flags").pipe(Options.withDescription("List the workspace's feature flags")),
    limit: Options.integer("limit").pipe(Options.withDefault(50), Options.withDescription("Events of --history")),
    workspace: workspaceOption,
    json: jsonOption
  },
  (o) =>
    Effect.gen(function*() {
      if (o.limit < 1 || o.limit > 1000) return yield* usage("--limit: 1 to 1000")
      if (o.flags) {
        const flags = yield* Flags.listFlags(o.workspace).pipe(Effect.mapError(failed))
        if (o.json) return yield* out(JSON.stringify({ flags }))
        if (flags.length === 0) yield* out(`no flags in workspace ${o.workspace}`)
        for (const f of flags) {
          yield* out(`${f.name} = ${"enabled" in f.value ? (f.value.enabled ? "on" : "off") : `${f.value.percent}%`}`)
        }
        return
      }
      if (Option.isNone(o.name)) {
        if (o.history) return yield* usage("--history needs a deployment name")
        const all = yield* Rollout.listDeployments(o.workspace).pipe(Effect.mapError(failed))
        if (o.json) return yield* out(JSON.stringify({ deployments: all }))
        if (all.length === 0) yield* out(`no deployments in workspace ${o.workspace}`)
        for (const d of all) yield* out(lineOf(d))
        return
      }
      if (!o.history) {
        const d = yield* Rollout.getDeployment(o.workspace, o.name.value).pipe(Effect.mapError(failed))
        return yield* out(o.json ? JSON.stringify(d) : lineOf(d))
      }
      const events = yield* Rollout.history(o.workspace, o.name.value, o.limit).pipe(Effect.mapError(failed))
      if (o.json) return yield* out(JSON.stringify({ events }))
      for (const e of events) {
        yield* out(`#${e.seq} ${new Date(e.at).toISOString()} ${e.kind} (${e.actor}) ${e.reason}`)
      }
    }).pipe(Effect.provide(deployLayer))
).pipe(Command.withDescription("List deployments, show one, its history (--history), or the flags (--flags)"))
