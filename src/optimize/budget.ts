/**
 * Hard budgets of an optimization (calls, tokens, cost), enforced where the
 * model is asked: `meteredRouter` wraps the `LlmRouter` so every model call
 * first takes its share from a `Meter`. A call starts only when one more call
 * fits the call budget and the rest of the token and cost budgets covers the
 * largest call seen so far (so a budget is never passed by more than what no
 * call ever needed yet); a refused call fails with a permanent
 * `BadRequest` `LlmError` ("budget exhausted"), so no retry asks again.
 */
import { AiError } from "@effect/ai"
import type { LanguageModel, Response } from "@effect/ai"
import { Effect, Either, Layer, Ref, Stream } from "effect"
import { LlmError, LlmRouter } from "../llm/service.js"
import type { LlmRouterService } from "../llm/service.js"
import { OptimizeError } from "./errors.js"

/** Limits of an optimization; an absent limit is unlimited. */
export interface Budget {
  /** Model calls (every attempt and repair counts). */
  readonly calls?: number
  /** Tokens reported by the models. */
  readonly tokens?: number
  /** Cost reported by the router (`metadata.trellis.cost` of a reply). */
  readonly cost?: number
}

/** What has been spent. */
export interface Usage {
  readonly calls: number
  readonly tokens: number
  readonly cost: number
}

/** No usage. */
export const zeroUsage: Usage = { calls: 0, tokens: 0, cost: 0 }

/** Adds two usages. */
export const addUsage = (a: Usage, b: Usage): Usage => ({
  calls: a.calls + b.calls,
  tokens: a.tokens + b.tokens,
  cost: a.cost + b.cost
})

/** Whether `usage` plus `more` stays within `budget`. */
export const fits = (budget: Budget, usage: Usage, more: Usage = zeroUsage): boolean =>
  (budget.calls === undefined || usage.calls + more.calls <= budget.calls) &&
  (budget.tokens === undefined || usage.tokens + more.tokens <= budget.tokens) &&
  (budget.cost === undefined || usage.cost + more.cost <= budget.cost + 1e-12)

/** A running count of usage against a budget. */
export interface Meter {
  readonly budget: Budget
  /** Takes one call, or fails when it does not fit. */
  readonly reserve: Effect.Effect<void, LlmError>
  /** Records the tokens and cost a finished call reported. */
  readonly record: (tokens: number, cost: number) => Effect.Effect<void>
  /** Counts usage spent before this meter existed (what a resumed optimization finds recorded). */
  readonly charge: (usage: Usage) => Effect.Effect<void>
  readonly usage: Effect.Effect<Usage>
}

interface MeterState {
  readonly usage: Usage
  /** The largest tokens and cost of one call so far. */
  readonly largest: { readonly tokens: number; readonly cost: number }
}

/** A meter that starts at `spent` (what an interrupted optimization already used). */
export const makeMeter = (budget: Budget, spent: Usage = zeroUsage): Effect.Effect<Meter> =>
  Effect.map(
    Ref.make<MeterState>({ usage: spent, largest: { tokens: 0, cost: 0 } }),
    (ref): Meter => ({
      budget,
      reserve: Effect.flatMap(
        Ref.modify(ref, (s): [boolean, MeterState] => {
          const ok = fits(budget, s.usage, { calls: 1, tokens: s.largest.tokens, cost: s.largest.cost })
          return ok ? [true, { ...s, usage: { ...s.usage, calls: s.usage.calls + 1 } }] : [false, s]
        }),
        (ok) =>
          ok
            ? Effect.void
            : Effect.fail(new LlmError({ reason: "BadRequest", message: "the optimization's budget is exhausted" }))
      ),
      record: (tokens, cost) =>
        Ref.update(ref, (s) => ({
          usage: { ...s.usage, tokens: s.usage.tokens + tokens, cost: s.usage.cost + cost },
          largest: { tokens: Math.max(s.largest.tokens, tokens), cost: Math.max(s.largest.cost, cost) }
        })),
      charge: (usage) => Ref.update(ref, (s) => ({ ...s, usage: addUsage(s.usage, usage) })),
      usage: Effect.map(Ref.get(ref), (s) => s.usage)
    })
  )

const costOf = (metadata: unknown): number => {
  const trellis = typeof metadata === "object" && metadata !== null
    ? (metadata as Record<string, unknown>)["trellis"]
    : undefined
  const cost = typeof trellis === "object" && trellis !== null
    ? (trellis as Record<string, unknown>)["cost"]
    : undefined
  return typeof cost === "number" && Number.isFinite(cost) ? cost : 0
}

const tokensOf = (usage: Response.Usage): number => {
  const total = usage.totalTokens ?? (usage.inputTokens ?? 0) + (usage.outputTokens ?? 0)
  return Number.isFinite(total) ? total : 0
}

const refused = (e: LlmError) =>
  new AiError.UnknownError({ module: "optimize", method: "budget", description: e.message, cause: e })

/** Records the finish part of a reply's content. */
const recordContent = (meter: Meter, content: ReadonlyArray<Response.AnyPart>) => {
  const finish = content.find((p) => p.type === "finish")
  return finish === undefined || finish.type !== "finish"
    ? meter.record(0, 0)
    : meter.record(tokensOf(finish.usage), costOf(finish.metadata))
}

/** A model whose every call first reserves from the meter and then records what the reply reported. */
const meteredModel = (meter: Meter, inner: LanguageModel.Service): LanguageModel.Service => {
  const guard = Effect.mapError(meter.reserve, refused)
  return {
    generateText: ((options: Parameters<LanguageModel.Service["generateText"]>[0]) =>
      Effect.zipRight(
        guard,
        Effect.tap(
          inner.generateText(options),
          (r) => recordContent(meter, r.content as ReadonlyArray<Response.AnyPart>)
        )
      )) as LanguageModel.Service["generateText"],
    generateObject: ((options: Parameters<LanguageModel.Service["generateObject"]>[0]) =>
      Effect.zipRight(
        guard,
        Effect.tap(
          inner.generateObject(options),
          (r) => recordContent(meter, r.content as ReadonlyArray<Response.AnyPart>)
        )
      )) as LanguageModel.Service["generateObject"],
    streamText: ((options: Parameters<LanguageModel.Service["streamText"]>[0]) =>
      Stream.unwrap(Effect.as(
        guard,
        Stream.tap(
          inner.streamText(options),
          (part) =>
            (part as Response.AnyPart).type === "finish"
              ? recordContent(meter, [part as Response.AnyPart])
              : Effect.void
        )
      ))) as LanguageModel.Service["streamText"]
  }
}

/** A router whose every resolved model is metered. */
export const meterRouter = (meter: Meter, inner: LlmRouterService): LlmRouterService => ({
  resolve: (model, context) =>
    Effect.map(
      inner.resolve(model, context),
      (resolved) => ({ ...resolved, model: meteredModel(meter, resolved.model) })
    ),
  models: inner.models
})

/** Wraps the `LlmRouter` below it so every model it resolves is metered. */
export const meteredRouter = (meter: Meter): Layer.Layer<LlmRouter, never, LlmRouter> =>
  Layer.effect(LlmRouter, Effect.map(LlmRouter, (inner) => meterRouter(meter, inner)))

/**
 * Parses a budget: `200` (calls), or comma-separated `calls=200`, `tokens=50000`, `cost=1.5`.
 * Every limit is a finite number ≥ 0.
 */
export const parseBudget = (text: string): Either.Either<Budget, OptimizeError> => {
  const bad = (message: string) => Either.left(new OptimizeError({ reason: "options", message, location: "--budget" }))
  const out: { calls?: number; tokens?: number; cost?: number } = {}
  const parts = text.split(",").map((p) => p.trim()).filter((p) => p !== "")
  if (parts.length === 0) return bad("an empty budget: give calls=N, tokens=N or cost=X")
  for (const part of parts) {
    const m = /^(?:(calls|tokens|cost)\s*=\s*)?([0-9]+(?:\.[0-9]+)?)$/.exec(part)
    if (m === null) return bad(`cannot read budget "${part}": expected calls=N, tokens=N or cost=X`)
    const key = (m[1] ?? "calls") as "calls" | "tokens" | "cost"
    if (out[key] !== undefined) return bad(`budget "${key}" is given twice`)
    out[key] = Number(m[2])
  }
  return Either.right(out)
}
