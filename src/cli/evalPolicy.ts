/**
 * `trellis eval policy <choose-key> --target …`: off-policy evaluation of a
 * `choose` key on the environment's store (`TRELLIS_HOME`, default
 * `./.trellis`, or `TRELLIS_DATABASE_URL`): the key's rewarded decisions
 * (`ChoiceMade` events joined with the rewards posted through feedback)
 * estimate the value of a target policy with IPS, SNIPS and doubly robust
 * estimators, each with a seeded bootstrap CI (`src/eval/ope/`).
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { Clock, Effect, Either, Option } from "effect"
import { evaluatePolicy } from "../eval/ope/estimators.js"
import type { Estimate } from "../eval/ope/estimators.js"
import { loggedDecisions } from "../eval/ope/logged.js"
import { parseTarget } from "../eval/ope/target.js"
import { parseWaitDuration } from "../ir/duration.js"
import { sharedPolicy } from "../runtime/bandit/store.js"
import { currentWorkspace } from "../runtime/llm.js"
import { CliError, out } from "./io.js"
import { storeLayer } from "./services.js"

/** `--since`: an ISO date/time, or a duration back from now (`24h`, `7d`); undefined when it is neither. */
export const parseSince = (text: string, now: number): number | undefined => {
  const ago = parseWaitDuration(text.trim())
  if (ago !== undefined) return now - ago
  if (!/^\d{4}-\d{2}-\d{2}/.test(text.trim())) return undefined
  const at = Date.parse(text.trim())
  return Number.isFinite(at) ? at : undefined
}

const f4 = (x: number) => x.toFixed(4)
const line = (name: string, e: Estimate) => `${name.padEnd(8)} ${f4(e.estimate)}  [${f4(e.ci[0])}, ${f4(e.ci[1])}]`

const usage = (message: string) => new CliError({ message, exitCode: 2 })

/** `trellis eval policy`. */
export const evalPolicyCommand = Command.make(
  "policy",
  {
    key: Args.text({ name: "choose-key" }).pipe(Args.withDescription("The key of the choose step")),
    target: Options.text("target").pipe(
      Options.withDescription("The policy to evaluate: fixed:<option>, uniform, greedy or epsilon-greedy:<ε>")
    ),
    since: Options.text("since").pipe(
      Options.optional,
      Options.withDescription("Only rewards posted since then: an ISO date/time or a duration back (24h, 7d)")
    ),
    options: Options.text("options").pipe(
      Options.optional,
      Options.withDescription("The key's options, comma-separated, when some never appear in the log")
    ),
    resamples: Options.integer("resamples").pipe(
      Options.withDefault(1000),
      Options.withDescription("Bootstrap resamples")
    ),
    seed: Options.integer("seed").pipe(Options.withDefault(0), Options.withDescription("Seed of the bootstrap")),
    workspace: Options.text("workspace").pipe(
      Options.withDefault("default"),
      Options.withDescription("The workspace whose bandit rewards to read (the open server's is `default`)")
    ),
    shared: Options.boolean("shared").pipe(
      Options.withDescription("Read the shared bandit scope (servers with bandit.shared) instead of the workspace's")
    ),
    json: Options.boolean("json").pipe(Options.withDescription("Print the report as JSON"))
  },
  (o) =>
    Effect.gen(function*() {
      const target = parseTarget(o.target)
      if (Either.isLeft(target)) return yield* usage(target.left.message)
      if (o.resamples < 1 || o.resamples > 100_000) {
        return yield* usage(`--resamples must be from 1 to 100000, got ${o.resamples}`)
      }
      const now = yield* Clock.currentTimeMillis
      const since = Option.isSome(o.since) ? parseSince(o.since.value, now) : 0
      if (since === undefined) {
        return yield* usage(
          `--since "${Option.getOrElse(o.since, () => "")}" is neither an ISO date nor a duration (24h, 7d)`
        )
      }
      const extra = Option.isSome(o.options)
        ? o.options.value.split(",").map((s) => s.trim()).filter((s) => s !== "")
        : []
      const log = yield* loggedDecisions(o.key, since).pipe(
        Effect.locally(currentWorkspace, o.workspace),
        Effect.locally(sharedPolicy, o.shared),
        Effect.mapError((e) => new CliError({ message: `the store failed: ${e.message}` }))
      )
      const value = evaluatePolicy(log.decisions, target.right, {
        options: extra,
        resamples: o.resamples,
        seed: o.seed
      })
      if (Either.isLeft(value)) {
        return yield* new CliError({
          message: log.decisions.length === 0
            ? `choose "${o.key}": no rewarded decisions in ${
              o.shared ? "the shared scope" : `workspace ${o.workspace}`
            }${
              Option.isSome(o.since) ? ` since ${o.since.value}` : ""
            } (post feedback for runs that chose under this key)`
            : value.left.message
        })
      }
      const v = value.right
      const policies = [...new Set(log.decisions.map((d) => d.policy))].sort()
      if (o.json) {
        yield* out(
          JSON.stringify({
            key: o.key,
            loggingPolicies: policies,
            ...v,
            runsWithoutChoices: log.runsWithoutChoices.length
          })
        )
        return
      }
      yield* out(
        `choose "${o.key}": ${v.n} rewarded decisions, logged by ${policies.join(", ")}; target ${v.target} (${
          Object.entries(v.targetProbabilities).map(([k, p]) => `${k} ${Number(p.toFixed(4))}`).join(", ")
        })`
      )
      yield* out(
        `estimate value    ${Math.round(v.confidence * 100)}% CI (bootstrap, ${v.resamples} resamples, seed ${v.seed})`
      )
      yield* out(line("logged", v.logged))
      yield* out(line("IPS", v.ips))
      yield* out(line("SNIPS", v.snips))
      yield* out(line("DR", v.dr))
      yield* out(
        `effective sample size ${v.effectiveSampleSize.toFixed(1)} of ${v.n}; max weight ${
          v.maxWeight.toFixed(2)
        }; ${v.matched} decisions the target may choose`
      )
      if (log.runsWithoutChoices.length > 0) {
        yield* out(`${log.runsWithoutChoices.length} rewarded runs made no choice under "${o.key}" (left out)`)
      }
    }).pipe(Effect.provide(storeLayer))
).pipe(
  Command.withDescription(
    "Off-policy evaluation of a choose key: IPS, SNIPS and doubly robust estimates of a target policy"
  )
)
