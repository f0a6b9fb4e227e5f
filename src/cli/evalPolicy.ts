/**
 * `trellis eval policy <choose-key> --target …`: off-policy evaluation of a
 * `choose` key on the environment's store (`TRELLIS_HOME`, default
 * `./.trellis`, or `TRELLIS_DATABASE_URL`): the key's rewarded decisions
 * (`ChoiceMade` events joined with the rewards posted through feedback)
 * estimate the value of a target policy with IPS, SNIPS and doubly robust
 * estimators, each with a seeded bootstrap CI (`src/eval/ope/`). Learned
 * targets are fitted on the earlier half of the log and evaluated on the
 * later half: `linucb[:α]` (contextual, from the runs' inputs) and
 * `mcts[:iterations]` (a plan over the choose tree of `--program`).
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as FileSystem from "@effect/platform/FileSystem"
import { Clock, Effect, Either, Option } from "effect"
import { evaluatePolicy } from "../eval/ope/estimators.js"
import type { Estimate, PolicyValue } from "../eval/ope/estimators.js"
import { loggedDecisions } from "../eval/ope/logged.js"
import { parseTarget } from "../eval/ope/target.js"
import { parseWaitDuration } from "../ir/duration.js"
import { contextualLog, evaluateLinUcb } from "../optimize/rollout/contextual.js"
import { evaluateMcts, keysOf, pathLabel, treeLog } from "../optimize/rollout/mctsPolicy.js"
import { gatePolicy } from "../optimize/rollout/policyGate.js"
import { treeOfProgram } from "../runtime/bandit/mcts.js"
import { sharedPolicy } from "../runtime/bandit/store.js"
import { currentWorkspace } from "../runtime/llm.js"
import { CliError, out } from "./io.js"
import { loadValid } from "./load.js"
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

/** Prints the gate's verdict; fails (exit 1) when it refuses the policy. */
const gateOrFail = (v: PolicyValue, minEss: number) =>
  Effect.gen(function*() {
    const verdict = gatePolicy(v, { minEffectiveSampleSize: minEss })
    yield* out(
      verdict.pass
        ? `gate: pass (DR lower bound ${verdict.drLower.toFixed(4)} ≥ logged mean ${verdict.loggedMean.toFixed(4)})`
        : `gate: refused (${verdict.reasons.join("; ")})`
    )
    if (!verdict.pass) return yield* new CliError({ message: `the gate refused ${v.target}` })
  })

const fieldsOf = (text: string) => text.split(",").map((s) => s.trim()).filter((s) => s !== "")

/** `--target linucb[:α]`: LinUCB fitted on the earlier half of the log, evaluated off-policy on the later half. */
const linUcbReport = (
  o: {
    readonly key: string
    readonly numeric: string
    readonly categorical: string
    readonly resamples: number
    readonly seed: number
    readonly workspace: string
    readonly shared: boolean
    readonly json: boolean
    readonly gate: boolean
    readonly minEss: number
    readonly save: Option.Option<string>
  },
  alphaText: string | undefined,
  since: number,
  extra: ReadonlyArray<string>
) =>
  Effect.gen(function*() {
    const alpha = alphaText === undefined || alphaText.trim() === "" ? 1 : Number(alphaText)
    if (!(Number.isFinite(alpha) && alpha >= 0)) {
      return yield* usage(`--target linucb:${alphaText}: α must be a number ≥ 0`)
    }
    const spec = { numeric: fieldsOf(o.numeric), categorical: fieldsOf(o.categorical) }
    if (spec.numeric.length === 0 && spec.categorical.length === 0) {
      return yield* usage("--target linucb needs features: --numeric a,b and/or --categorical c")
    }
    const log = yield* contextualLog(o.key, spec, since).pipe(
      Effect.locally(currentWorkspace, o.workspace),
      Effect.locally(sharedPolicy, o.shared),
      Effect.mapError((e) => new CliError({ message: `the store failed: ${e.message}` }))
    )
    if (log.rows.length < 2) {
      return yield* new CliError({
        message:
          `choose "${o.key}": ${log.rows.length} rewarded decisions; linucb needs at least 2 (to fit and to evaluate)`
      })
    }
    const options = [...new Set([...log.rows.map((r) => r.option), ...extra])].sort()
    const result = evaluateLinUcb(log.rows, options, spec, {
      alpha,
      epsilon: 0.05,
      resamples: o.resamples,
      seed: o.seed
    })
    if (Either.isLeft(result.value)) return yield* new CliError({ message: result.value.left.message })
    const v = result.value.right
    if (Option.isSome(o.save)) {
      const fs = yield* FileSystem.FileSystem
      yield* fs.writeFileString(o.save.value, JSON.stringify({ [o.key]: result.strategy }, null, 2) + "\n").pipe(
        Effect.mapError((e) =>
          new CliError({ message: `--save ${o.save.pipe(Option.getOrElse(() => ""))}: ${e.message}` })
        )
      )
    }
    if (o.json) {
      yield* out(
        JSON.stringify({
          key: o.key,
          trained: result.trained,
          ...v,
          ...(o.gate ? { gate: gatePolicy(v, { minEffectiveSampleSize: o.minEss }) } : {})
        })
      )
    } else {
      yield* out(
        `choose "${o.key}": LinUCB (α ${alpha}) fitted on the first ${result.trained} of ${log.rows.length} rewarded decisions, evaluated on the last ${result.evaluated}`
      )
      yield* out(
        `estimate value    ${Math.round(v.confidence * 100)}% CI (bootstrap, ${v.resamples} resamples, seed ${v.seed})`
      )
      yield* out(line("logged", v.logged))
      yield* out(line("IPS", v.ips))
      yield* out(line("SNIPS", v.snips))
      yield* out(line("DR", v.dr))
      yield* out(
        `effective sample size ${v.effectiveSampleSize.toFixed(1)} of ${v.n}; max weight ${v.maxWeight.toFixed(2)}`
      )
    }
    if (o.gate) {
      const verdict = gatePolicy(v, { minEffectiveSampleSize: o.minEss })
      if (!o.json) {
        yield* out(
          verdict.pass
            ? `gate: pass (DR lower bound ${verdict.drLower.toFixed(4)} ≥ logged mean ${verdict.loggedMean.toFixed(4)})`
            : `gate: refused (${verdict.reasons.join("; ")})`
        )
      }
      if (!verdict.pass) return yield* new CliError({ message: `the gate refused ${v.target}` })
    }
  })

/** The value report's lines shared by the learned targets. */
const valueLines = (v: PolicyValue) =>
  Effect.gen(function*() {
    yield* out(
      `estimate value    ${Math.round(v.confidence * 100)}% CI (bootstrap, ${v.resamples} resamples, seed ${v.seed})`
    )
    yield* out(line("logged", v.logged))
    yield* out(line("IPS", v.ips))
    yield* out(line("SNIPS", v.snips))
    yield* out(line("DR", v.dr))
    yield* out(
      `effective sample size ${v.effectiveSampleSize.toFixed(1)} of ${v.n}; max weight ${v.maxWeight.toFixed(2)}`
    )
  })

/**
 * `--target mcts[:iterations] --program p.tr`: a plan over the program's choose tree (rooted at the key), searched
 * by MCTS on the earlier half of the rewarded runs, evaluated off-policy (ε-mixed) on the later half.
 */
const mctsReport = (
  o: {
    readonly key: string
    readonly program: Option.Option<string>
    readonly epsilon: number
    readonly resamples: number
    readonly seed: number
    readonly workspace: string
    readonly shared: boolean
    readonly json: boolean
    readonly gate: boolean
    readonly minEss: number
    readonly save: Option.Option<string>
  },
  iterationsText: string | undefined,
  since: number
) =>
  Effect.gen(function*() {
    const iterations = iterationsText === undefined || iterationsText.trim() === "" ? 1000 : Number(iterationsText)
    if (!(Number.isInteger(iterations) && iterations >= 1 && iterations <= 1_000_000)) {
      return yield* usage(`--target mcts:${iterationsText}: iterations must be an integer from 1 to 1000000`)
    }
    if (!(o.epsilon >= 0 && o.epsilon <= 1)) return yield* usage(`--epsilon must be in [0, 1], got ${o.epsilon}`)
    if (Option.isNone(o.program)) {
      return yield* usage("--target mcts needs --program p.tr: the program whose choose tree is planned")
    }
    const loaded = yield* loadValid(o.program.value)
    const tree = treeOfProgram(loaded.checked.program!)
    if (tree === null) {
      return yield* new CliError({
        message: `${o.program.value}: the entry program has no top-level choose to plan`,
        exitCode: 2
      })
    }
    if (tree.key !== o.key) {
      return yield* new CliError({
        message: `${o.program.value}: the choose tree starts at "${tree.key}", not "${o.key}" (its keys: ${
          [...keysOf(tree).keys()].join(", ")
        }); name the root key, whose rewards are the runs' rewards`,
        exitCode: 2
      })
    }
    const log = yield* treeLog(tree, since).pipe(
      Effect.locally(currentWorkspace, o.workspace),
      Effect.locally(sharedPolicy, o.shared),
      Effect.mapError((e) => new CliError({ message: `the store failed: ${e.message}` }))
    )
    if (log.rows.length < 2) {
      return yield* new CliError({
        message:
          `choose "${o.key}": ${log.rows.length} rewarded runs on the tree; mcts needs at least 2 (to plan and to evaluate)`
      })
    }
    const result = evaluateMcts(tree, log.rows, {
      iterations,
      epsilon: o.epsilon,
      resamples: o.resamples,
      seed: o.seed
    })
    if (Either.isLeft(result.value)) return yield* new CliError({ message: result.value.left.message })
    const v = result.value.right
    if (Option.isSome(o.save)) {
      const fs = yield* FileSystem.FileSystem
      yield* fs.writeFileString(o.save.value, JSON.stringify(result.strategies, null, 2) + "\n").pipe(
        Effect.mapError((e) =>
          new CliError({ message: `--save ${o.save.pipe(Option.getOrElse(() => ""))}: ${e.message}` })
        )
      )
    }
    const verdict = o.gate ? gatePolicy(v, { minEffectiveSampleSize: o.minEss }) : undefined
    if (o.json) {
      yield* out(
        JSON.stringify({
          key: o.key,
          plan: result.plan.path,
          evaluatedPlan: result.evaluatedPlan.path,
          steps: result.plan.steps,
          trained: result.trained,
          offTree: log.offTree.length,
          ...v,
          ...(verdict === undefined ? {} : { gate: verdict })
        })
      )
    } else {
      yield* out(
        `choose "${o.key}": MCTS (${iterations} iterations) planned on the first ${result.trained} of ${log.rows.length} rewarded runs, evaluated on the last ${result.evaluated} (ε ${o.epsilon})`
      )
      yield* out(`plan (evaluated)  ${pathLabel(result.evaluatedPlan.path)}`)
      yield* out(`plan (all runs)   ${pathLabel(result.plan.path)}`)
      yield* valueLines(v)
      if (log.offTree.length > 0) {
        yield* out(`${log.offTree.length} rewarded runs made choices off the tree (left out)`)
      }
      if (verdict !== undefined) {
        yield* out(
          verdict.pass
            ? `gate: pass (DR lower bound ${verdict.drLower.toFixed(4)} ≥ logged mean ${verdict.loggedMean.toFixed(4)})`
            : `gate: refused (${verdict.reasons.join("; ")})`
        )
      }
    }
    if (verdict !== undefined && !verdict.pass) return yield* new CliError({ message: `the gate refused ${v.target}` })
  })

/** `trellis eval policy`. */
export const evalPolicyCommand = Command.make(
  "policy",
  {
    key: Args.text({ name: "choose-key" }).pipe(Args.withDescription("The key of the choose step")),
    target: Options.text("target").pipe(
      Options.withDescription(
        "The policy to evaluate: fixed:<option>, uniform, greedy, epsilon-greedy:<ε>, linucb[:α] (with --numeric/--categorical) or mcts[:iterations] (with --program)"
      )
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
    json: Options.boolean("json").pipe(Options.withDescription("Print the report as JSON")),
    numeric: Options.text("numeric").pipe(
      Options.withDefault(""),
      Options.withDescription("linucb: input fields read as numeric features, comma-separated")
    ),
    categorical: Options.text("categorical").pipe(
      Options.withDefault(""),
      Options.withDescription("linucb: input fields hashed as categorical features, comma-separated")
    ),
    gate: Options.boolean("gate").pipe(
      Options.withDescription("Exit 1 unless the policy may go live (DR lower bound ≥ logged mean, enough samples)")
    ),
    minEss: Options.float("min-ess").pipe(
      Options.withDefault(30),
      Options.withDescription("--gate: the least effective sample size")
    ),
    save: Options.text("save").pipe(
      Options.optional,
      Options.withDescription(
        "linucb, mcts: write the strategies fitted on the whole log (JSON for Runtime.run strategies)"
      )
    ),
    program: Options.text("program").pipe(
      Options.optional,
      Options.withDescription("mcts: the program (.tr or .json) whose choose tree is planned, rooted at the key")
    ),
    epsilon: Options.float("epsilon").pipe(
      Options.withDefault(0.05),
      Options.withDescription("mcts: the uniform share mixed into each planned step")
    )
  },
  (o) =>
    Effect.gen(function*() {
      const linucb = /^linucb(?::(.*))?$/.exec(o.target.trim())
      const mcts = /^mcts(?::(.*))?$/.exec(o.target.trim())
      const target = linucb === null && mcts === null
        ? parseTarget(o.target)
        : Either.right({ kind: "uniform" } as const)
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
      // The flags are checked: now the store is opened (a usage error never waits for it).
      return yield* Effect.gen(function*() {
        if (linucb !== null) {
          return yield* linUcbReport(o, linucb[1], since, extra)
        }
        if (mcts !== null) return yield* mctsReport(o, mcts[1], since)
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
              runsWithoutChoices: log.runsWithoutChoices.length,
              ...(o.gate ? { gate: gatePolicy(v, { minEffectiveSampleSize: o.minEss }) } : {})
            })
          )
          if (o.gate && !gatePolicy(v, { minEffectiveSampleSize: o.minEss }).pass) {
            return yield* new CliError({ message: `the gate refused ${v.target}` })
          }
          return
        }
        yield* out(
          `choose "${o.key}": ${v.n} rewarded decisions, logged by ${policies.join(", ")}; target ${v.target} (${
            Object.entries(v.targetProbabilities).map(([k, p]) => `${k} ${Number(p.toFixed(4))}`).join(", ")
          })`
        )
        yield* out(
          `estimate value    ${
            Math.round(v.confidence * 100)
          }% CI (bootstrap, ${v.resamples} resamples, seed ${v.seed})`
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
        if (o.gate) yield* gateOrFail(v, o.minEss)
      }).pipe(Effect.provide(storeLayer))
    })
).pipe(
  Command.withDescription(
    "Off-policy evaluation of a choose key: IPS, SNIPS and doubly robust estimates of a target policy"
  )
)
