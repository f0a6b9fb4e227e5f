/**
 * `Runtime`: the library API for running programs. `run(program, inputs,
 * options)` is an Effect of the run's result with typed errors (`RunError`);
 * `events(runId)` streams a run's events; `feedback(runId, key, reward)`
 * teaches the bandit of a `choose` key; `layerMemory` supplies every
 * service in memory, with the built-in tools.
 */
import { Effect, Either, Layer, Stream } from "effect"
import type { Json } from "../ir/eval.js"
import type { Program } from "../ir/schema.js"
import { ToolRegistry } from "../tools/registry.js"
import type { ToolRegistryError } from "../tools/registry.js"
import type { ToolRequirements, UnknownTool } from "../tools/tool.js"
import type { StoreError } from "../trace/errors.js"
import { EventLog, EventSink } from "../trace/events.js"
import type { RunEvent } from "../trace/events.js"
import { RewardLog } from "./bandit/rewards.js"
import { PolicyStore } from "./bandit/store.js"
import { RunError } from "./errors.js"
import type { RunRequirements, RunResult } from "./interpret.js"
import { plan, runWith } from "./launch.js"
import type { RunOptions } from "./launch.js"
import type * as Plan from "./plan.js"
import { ResultCache } from "./policy/cache.js"
import { IdempotencyStore } from "./policy/idempotency.js"
import { ToolLimiter } from "./policy/limiter.js"

export { StoreError } from "../trace/errors.js"
export { canonicalTrace, EventLog, EventSink } from "../trace/events.js"
export type { RunEvent, RunEventType } from "../trace/events.js"
export { RewardLog } from "./bandit/rewards.js"
export type { RewardRecord } from "./bandit/rewards.js"
export type { BanditStrategy } from "./bandit/state.js"
export { PolicyStore } from "./bandit/store.js"
export { RunError } from "./errors.js"
export type { RunErrorKind } from "./errors.js"
export type { RunRequirements, RunResult } from "./interpret.js"
export { makeRunId, plan } from "./launch.js"
export type { RunLimits, RunOptions } from "./launch.js"
export { LlmRunner } from "./llm.js"
export type { LlmDescription, LlmRequest, LlmRunnerService, LlmStep } from "./llm.js"
export { charge } from "./meter.js"
export { PlanError } from "./plan.js"
export type { Plan as RunPlan } from "./plan.js"
export { ResultCache } from "./policy/cache.js"
export { composeHooks, Hooks } from "./policy/hooks.js"
export type { NodeEnd, NodeStart, RunHooks, RunStart } from "./policy/hooks.js"
export { IdempotencyStore } from "./policy/idempotency.js"
export { ToolLimiter } from "./policy/limiter.js"
export { RunStore } from "./runStore.js"
export type { RunEnding, RunPage, RunQuery, RunRecord, RunRecordStatus } from "./runStore.js"

/**
 * Runs a program (its entry) on `inputs`: inputs are checked against the
 * entry's parameters (defaults applied), every node runs as soon as its
 * inputs are ready, events go to the `EventSink`. Succeeds with the output;
 * fails with `RunError` (`kind`, `message`, failing `node`). Interrupting
 * the Effect cancels the run.
 */
export const run = (
  program: Program | Plan.Plan,
  inputs: { readonly [name: string]: Json } = {},
  options: RunOptions = {}
): Effect.Effect<RunResult, RunError, RunRequirements> => runWith(program, inputs, options, undefined)

/** The events of a run: those recorded so far, then live ones until the run ends. */
export const events = (runId: string): Stream.Stream<RunEvent, StoreError, EventLog> =>
  Stream.unwrap(Effect.map(EventLog, (log) => log.stream(runId)))

/**
 * Posts a reward for the choices a run made under a choose key: every
 * option the run chose for `key` gets the reward (with the context a
 * LinUCB choice recorded, so the key's LinUCB statistics learn online). Fails with `InvalidInput`
 * when the run made no such choice. Returns how many choices were rewarded.
 */
export const feedback = (
  runId: string,
  key: string,
  reward: number
): Effect.Effect<number, RunError | StoreError, EventLog | PolicyStore> =>
  Effect.gen(function*() {
    const log = yield* EventLog
    const policy = yield* PolicyStore
    const recorded = yield* log.events(runId)
    const choices = recorded.filter((e) => e.type === "ChoiceMade" && e.data.key === key)
    if (choices.length === 0) {
      return yield* Effect.fail(
        new RunError({ kind: "InvalidInput", message: `run ${runId} made no choice under key "${key}"`, runId })
      )
    }
    for (const e of choices) {
      // A contextual choice (LinUCB) recorded its context: the reward teaches the policy in that context.
      if (e.type === "ChoiceMade") yield* policy.feedback(key, e.data.option, reward, e.data.context)
    }
    const rewards = yield* Effect.serviceOption(RewardLog)
    if (rewards._tag === "Some") yield* rewards.value.record(runId, key, reward)
    return choices.length
  })

/** Every run service in memory except the tool registry. */
export const layerServices: Layer.Layer<
  EventSink | EventLog | IdempotencyStore | ResultCache | PolicyStore | RewardLog | ToolLimiter
> = Layer.mergeAll(
  EventSink.layerMemory,
  IdempotencyStore.layerMemory,
  ResultCache.layerMemory,
  PolicyStore.layerMemory,
  RewardLog.layerMemory,
  ToolLimiter.layer
)

/** Every run service in memory, with the built-in tools. */
export const layerMemory: Layer.Layer<RunRequirements | EventLog> = Layer.merge(
  layerServices,
  ToolRegistry.layerBuiltins
)

/** Every run service in memory, with the built-in tools plus `tools` (shadowing a built-in fails the layer). */
export const layerMemoryWith = <T extends UnknownTool>(
  tools: ReadonlyArray<T>
): Layer.Layer<RunRequirements | EventLog, ToolRegistryError, ToolRequirements<T>> =>
  Layer.merge(layerServices, ToolRegistry.layerWith(tools))

/** Plans a program ahead of runs (`run` accepts the plan): fails with `RunError` (`InvalidProgram`). */
export const prepare = (program: Program): Effect.Effect<Plan.Plan, RunError> =>
  Either.match(plan(program), {
    onLeft: Effect.fail,
    onRight: Effect.succeed
  })
