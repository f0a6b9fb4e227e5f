/**
 * How each node kind executes, on top of the scheduling core
 * (`Scheduler`): `expr` and branch conditions inline; tool calls through
 * the call slots (inline when the handler completes synchronously); llm
 * steps through the `LlmRunner`; `call`, `map` (a nested scope per item,
 * within the map's own concurrency), `branch` and `choose` (asks the
 * PolicyStore, records `ChoiceMade`) as nested scopes whose result
 * completes the node.
 */
import { Effect, Either, Random } from "effect"
import { canonicalJson } from "../ir/canonical.js"
import { evalPure, isList, MAX_VALUE_SIZE, sizeWithin, typeName } from "../ir/eval.js"
import type { EvalError } from "../ir/eval.js"
import type { Json, JsonRecord } from "../ir/eval.js"
import type { Args, Expr } from "../ir/schema.js"
import { Permanent, ResourceExhausted, Transient } from "../tools/errors.js"
import type { ToolError } from "../tools/errors.js"
import { FanInScheduler } from "./fanIn.js"
import { bindParams } from "./inputs.js"
import { llmCall } from "./llmCall.js"
import { durationMs } from "./policy/duration.js"
import type { Env, NodeRun } from "./runState.js"
import { toolCall } from "./toolCall.js"
import type { CallSite } from "./toolCall.js"
import { awaitOutcome, deadlineOf, recordedOutcome, valueOf } from "./wait.js"
import type { WaitOutcome } from "./wait.js"

/** Marks "no fast path": the expression needs the full evaluator. */
const SLOW: unique symbol = Symbol("slow")

/**
 * The value of the most common argument shapes — a literal, a bound ref, a
 * list of those — without the evaluator's Either wrappers; `SLOW` for
 * anything else (including unbound refs, so errors keep evalPure's text).
 */
const quickValue = (expr: Expr, env: Env): Json | typeof SLOW => {
  switch (expr.kind) {
    case "lit":
      return expr.value === 0 ? 0 : expr.value
    case "ref": {
      const v = env(expr.name)
      return v === undefined ? SLOW : v
    }
    case "list": {
      const items = expr.items
      const out = new Array<Json>(items.length)
      for (let i = 0; i < items.length; i++) {
        const item = items[i]!
        const v = item.kind === "ref"
          ? env(item.name)
          : item.kind === "lit"
          ? (item.value === 0 ? 0 : item.value)
          : undefined
        if (v === undefined) return SLOW
        out[i] = v
      }
      return out
    }
    default:
      return SLOW
  }
}

/** The node failure of an evaluation error: `ResourceExhausted` for a resource limit, else `Permanent`. */
const evalFailure = (e: EvalError, prefix = ""): ToolError =>
  e.resource === true
    ? new ResourceExhausted({ message: prefix + e.message })
    : new Permanent({ message: prefix + e.message })

/** The value of an expression node, unless it is larger than a run may hold. */
const sized = (value: Json): Either.Either<Json, ToolError> =>
  sizeWithin(value)
    ? Either.right(value)
    : Either.left(
      new ResourceExhausted({ message: `the value is larger than the limit of ${MAX_VALUE_SIZE} characters of JSON` })
    )

/** Evaluates named arguments to a JSON record. */
const evalArgs = (args: Args, env: Env): Either.Either<JsonRecord, ToolError> => {
  const out: Record<string, Json> = {}
  for (const name in args) {
    const expr = args[name]!
    const quick = quickValue(expr, env)
    if (quick !== SLOW) {
      out[name] = quick
      continue
    }
    const v = evalPure(expr, env)
    if (Either.isLeft(v)) return Either.left(evalFailure(v.left, `argument "${name}": `))
    out[name] = v.right
  }
  return Either.right(out)
}

/** A run of a plan. Not reusable: make one per run. */
export class Run extends FanInScheduler {
  protected dispatch(nr: NodeRun): void {
    const node = nr.pn.node
    const env = nr.scope.env
    switch (node.kind) {
      case "expr": {
        const v = evalPure(node.expr, env)
        if (Either.isLeft(v)) return this.failNode(nr, evalFailure(v.left))
        const out = sized(v.right)
        return Either.isLeft(out) ? this.failNode(nr, out.left) : this.complete(nr, out.right)
      }
      case "tool":
        return this.execTool(nr)
      case "llm":
        return this.execLlm(nr)
      case "call":
        return this.execCall(nr)
      case "map":
        return this.execMap(nr)
      case "branch": {
        const cond = evalPure(node.cond, env)
        if (Either.isLeft(cond)) return this.failNode(nr, evalFailure(cond.left))
        if (typeof cond.right !== "boolean") {
          return this.failNode(
            nr,
            new Permanent({ message: `if expects a boolean condition, got ${typeName(cond.right)}` })
          )
        }
        const which = cond.right ? 0 : 1
        return this.startChild(nr, nr.pn.scopes[which]!, `${nr.path}/${cond.right ? "then" : "else"}/`, env)
      }
      case "choose":
        return this.execChoose(nr)
      case "race":
        return this.execRace(nr)
      case "wait":
        return this.execWait(nr)
    }
  }

  private execWait(nr: NodeRun): void {
    const node = nr.pn.node
    if (node.kind !== "wait") return
    let payload: Json = null
    if (node.payload !== undefined) {
      const v = evalPure(node.payload, nr.scope.env)
      if (Either.isLeft(v)) return this.failNode(nr, evalFailure(v.left, "payload: "))
      payload = v.right
    }
    const recorded = this.config.recorded
    const record = recorded?.waits.get(nr.path)
    const deadline = deadlineOf(node, this.now(), record)
    const name = node.signal ?? null
    this.emit("Waiting", nr.path, undefined, {
      name,
      payload,
      deadline,
      ...(node.answer === undefined ? {} : { answer: node.answer })
    })
    this.waits.set(nr, { name, deadline })
    const answered = (outcome: WaitOutcome): void => {
      if (outcome._tag === "Signal") {
        this.emit("Signalled", nr.path, undefined, { name: name ?? "", ...outcome.signal })
      } else this.emit("TimerFired", nr.path, undefined, { deadline: outcome.deadline })
      const v = valueOf(node, outcome, node.answer)
      if (v.ok) this.complete(nr, v.value)
      else this.failNode(nr, v.error)
    }
    const known = recordedOutcome(record)
    if (known !== undefined) return answered(known)
    // A replay without a recorded answer stops here: the recorded run was still waiting.
    if (recorded !== undefined && recorded.mode !== "resume") return this.parkWait(nr)
    this.hookless(
      nr,
      awaitOutcome({
        inbox: this.services.signals,
        runId: this.config.runId,
        path: nr.path,
        name: node.signal,
        deadline,
        park: () => this.parkWait(nr),
        unpark: () => this.unparkWait(nr)
      }).pipe(Effect.mapError((e) => new Transient({ message: `signals: ${e.message}` }))),
      answered
    )
  }

  private execTool(nr: NodeRun): void {
    const node = nr.pn.node
    if (node.kind !== "tool") return
    const tool = this.services.registry.get(node.tool)
    if (tool === undefined) return this.failNode(nr, new Permanent({ message: `unknown tool "${node.tool}"` }))
    const args = evalArgs(node.args, nr.scope.env)
    if (Either.isLeft(args)) return this.failNode(nr, args.left)
    let explicitKey: string | undefined
    const keyExpr = node.policy?.idempotencyKey
    if (keyExpr !== undefined) {
      const k = evalPure(keyExpr, nr.scope.env)
      if (Either.isLeft(k)) return this.failNode(nr, new Permanent({ message: `idempotencyKey: ${k.left.message}` }))
      explicitKey = typeof k.right === "string" ? k.right : canonicalJson(k.right)
    }
    const site: CallSite = {
      path: nr.path,
      tool,
      args: args.right,
      explicitKey,
      policy: node.policy,
      budgets: nr.budgets,
      chunks: 0,
      output: undefined,
      outputHash: undefined
    }
    const hedge = node.policy?.hedge
    const start = hedge === undefined
      ? () => this.startCall(nr, site)
      : () => this.execHedged(nr, (path) => toolCall(this.callEnv, { ...site, path }), durationMs(hedge, 0))
    if (hedge === undefined) nr.site = site
    const preNode = this.services.hooks.preNode
    if (preNode === undefined) return start()
    this.hook(
      nr,
      preNode({ runId: this.config.runId, node: nr.path, kind: "tool", tool: tool.name, args: args.right }),
      start
    )
  }

  private execLlm(nr: NodeRun): void {
    const node = nr.pn.node
    if (node.kind !== "llm") return
    const args = evalArgs(node.args, nr.scope.env)
    if (Either.isLeft(args)) return this.failNode(nr, args.left)
    const signature = Object.prototype.hasOwnProperty.call(this.program.signatures, node.signature)
      ? this.program.signatures[node.signature]
      : undefined
    const callAt = (path: string, hedge: boolean) => {
      const call = llmCall(this.callEnv, this.services.llm, {
        runId: this.config.runId,
        path,
        signatureName: node.signature,
        signature,
        args: args.right,
        model: hedge ? node.hedgeModel ?? node.model : node.model,
        policy: node.policy,
        budgets: nr.budgets
      })
      const seed = this.config.seed
      return seed === undefined ? call : Effect.withRandom(call, Random.make(`${seed}/${path}`))
    }
    const hedge = node.policy?.hedge
    if (hedge !== undefined) return this.execHedged(nr, callAt, durationMs(hedge, 0))
    this.runCall(nr, callAt(nr.path, false))
  }

  private execCall(nr: NodeRun): void {
    const node = nr.pn.node
    if (node.kind !== "call") return
    const callee = this.config.plan.programs.get(node.program)
    if (callee === undefined) return this.failNode(nr, new Permanent({ message: `unknown program "${node.program}"` }))
    const args = evalArgs(node.args, nr.scope.env)
    if (Either.isLeft(args)) return this.failNode(nr, args.left)
    const bound = bindParams(callee.params, args.right, `program "${node.program}"`)
    if (Either.isLeft(bound)) return this.failNode(nr, new Permanent({ message: bound.left }))
    const params = bound.right
    this.startChild(nr, callee.scope, `${nr.path}/`, (name) => params.get(name))
  }

  private execMap(nr: NodeRun): void {
    const node = nr.pn.node
    if (node.kind !== "map") return
    const over = evalPure(node.over, nr.scope.env)
    if (Either.isLeft(over)) return this.failNode(nr, evalFailure(over.left))
    if (!isList(over.right)) {
      return this.failNode(
        nr,
        new Permanent({ message: `map expects a list to map over, got ${typeName(over.right)}` })
      )
    }
    const items = over.right
    if (node.take !== undefined || node.fold !== undefined) return this.execTake(nr, items, node.take ?? items.length)
    if (items.length === 0) return this.complete(nr, [])
    const cap = node.concurrency !== undefined && node.concurrency >= 1 ? Math.floor(node.concurrency) : Infinity
    nr.map = { items, results: new Array<Json>(items.length), cap, next: 0, active: 0, done: 0, starting: false }
    this.open.add(nr)
    this.startItems(nr)
  }

  private startItems(nr: NodeRun): void {
    const state = nr.map!
    // Items whose body completes synchronously re-enter here; the outer loop starts the next ones.
    const node = nr.pn.node
    if (state.starting || node.kind !== "map") return
    state.starting = true
    const body = nr.pn.scopes[0]!
    const outer = nr.scope.env
    const binder = node.as
    while (state.active < state.cap && state.next < state.items.length && !nr.done && this.status === "running") {
      const i = state.next++
      const item = state.items[i]!
      state.active++
      this.startScope(
        body,
        `${nr.path}/${i}/`,
        (name) => (name === binder ? item : outer(name)),
        nr.scope.depth + 1,
        nr.budgets,
        (v) => {
          state.results[i] = v
          state.active--
          if (++state.done === state.items.length) this.complete(nr, state.results)
          else this.startItems(nr)
        },
        (e) => this.failNode(nr, e)
      )
    }
    state.starting = false
  }

  private execChoose(nr: NodeRun): void {
    const node = nr.pn.node
    if (node.kind !== "choose") return
    const labels = node.options.map((o) => o.label)
    if (labels.length === 0) return this.failNode(nr, new Permanent({ message: `choose "${node.key}" has no options` }))
    const strategy = this.config.strategyFor(node.key)
    // A resumed or replayed run makes the choice it made before.
    const recorded = this.config.recorded?.choices.get(nr.path)
    const choose = recorded !== undefined
      ? Effect.succeed(recorded)
      : this.services.policy.choose(node.key, labels, strategy)
    const seed = this.config.seed
    // Seeded runs give every choice its own Random, so choices do not depend on completion order.
    const eff = seed === undefined ? choose : Effect.withRandom(choose, Random.make(`${seed}/${nr.path}`))
    this.hookless(nr, eff, (choice) => {
      const index = labels.indexOf(choice.option)
      if (index < 0) {
        return this.failNode(
          nr,
          new Permanent({ message: `policy chose "${choice.option}", not an option of "${node.key}"` })
        )
      }
      this.emit("ChoiceMade", nr.path, undefined, {
        key: node.key,
        option: choice.option,
        policy: choice.policy,
        version: choice.version,
        propensity: choice.propensity,
        ...(choice.context === undefined ? {} : { context: choice.context })
      })
      this.startChild(nr, nr.pn.scopes[index]!, `${nr.path}/${choice.option}/`, nr.scope.env)
    })
  }
}
