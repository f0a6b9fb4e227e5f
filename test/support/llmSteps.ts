/** A scripted fake model for llm-step and planner tests: answers from a script, records every prompt it gets. */
import { AiError, LanguageModel } from "@effect/ai"
import type { Prompt, Response } from "@effect/ai"
import { Effect, Layer, Stream } from "effect"
import { LlmError, LlmRouter } from "../../src/llm/service.js"

/** What the fake answers to one call: reply text (with token usage), or a failure. */
export type Scripted =
  | string
  | { readonly fail: LlmError }
  | { readonly text: string; readonly tokens: number }
  /** Never answers (a call in flight when the process stops). */
  | { readonly hang: true }

/** One call the fake received. */
export interface Received {
  readonly model: string
  readonly json: boolean
  readonly messages: ReadonlyArray<{ readonly role: string; readonly text: string }>
}

const aiError = (e: LlmError) =>
  new AiError.UnknownError({ module: "fake", method: "generate", description: e.message, cause: e })

const textOf = (m: Prompt.Message): string =>
  typeof m.content === "string"
    ? m.content
    : m.content.map((p) => ("text" in p && typeof p.text === "string" ? p.text : "")).join("")

/** A fake router: every model name resolves to the same scripted model; `calls` lists what it was asked. */
export const makeFake = (
  script: ReadonlyArray<Scripted>,
  options: { readonly route?: string; readonly deltas?: number } = {}
) => {
  const calls: Array<Received> = []
  let next = 0
  const take = (model: string, opts: LanguageModel.ProviderOptions) => {
    calls.push({
      model,
      json: opts.responseFormat.type === "json",
      messages: opts.prompt.content.map((m) => ({ role: m.role, text: textOf(m) }))
    })
    const s = script[Math.min(next++, script.length - 1)]!
    if (typeof s === "object" && "fail" in s) return { fail: s.fail } as const
    if (typeof s === "object" && "hang" in s) return { hang: true } as const
    return typeof s === "string" ? { text: s, tokens: 15 } : s
  }
  const route = (model: string) => options.route ?? model
  const usage = (tokens: number) => ({ inputTokens: tokens - 5, outputTokens: 5, totalTokens: tokens })
  const modelFor = (model: string) =>
    Effect.runSync(LanguageModel.make({
      generateText: (opts) =>
        Effect.suspend(() => {
          const r = take(model, opts)
          if ("fail" in r) return Effect.fail(aiError(r.fail))
          if ("hang" in r) return Effect.never
          const parts: Array<Response.PartEncoded> = [
            { type: "response-metadata", modelId: route(model) },
            { type: "text", text: r.text },
            { type: "finish", reason: "stop", usage: usage(r.tokens) }
          ]
          return Effect.succeed(parts)
        }),
      streamText: (opts) =>
        Stream.suspend(() => {
          const r = take(model, opts)
          if ("fail" in r) return Stream.fail(aiError(r.fail))
          if ("hang" in r) return Stream.never
          const n = Math.max(1, options.deltas ?? 3)
          const size = Math.ceil(r.text.length / n)
          const deltas: Array<Response.StreamPartEncoded> = []
          for (let i = 0; i < r.text.length; i += size) {
            deltas.push({ type: "text-delta", id: "0", delta: r.text.slice(i, i + size) })
          }
          return Stream.fromIterable<Response.StreamPartEncoded>([
            { type: "response-metadata", modelId: route(model) },
            { type: "text-start", id: "0" },
            ...deltas,
            { type: "text-end", id: "0" },
            { type: "finish", reason: "stop", usage: usage(r.tokens) }
          ])
        })
    }))
  /** The workspace of every resolve. */
  const workspaces: Array<string> = []
  const layer = Layer.succeed(LlmRouter, {
    resolve: (model, ctx) =>
      Effect.sync(() => {
        workspaces.push(ctx.workspace)
        return { route: route(model), model: modelFor(model) }
      }),
    models: () => ["fake/model"]
  })
  return { calls, layer, workspaces }
}

/** A router whose resolve fails with the given errors, in turn, then serves `then`. */
export const failingThen = (errors: ReadonlyArray<LlmError>, then: ReturnType<typeof makeFake>) => {
  let n = 0
  const layer = Layer.effect(
    LlmRouter,
    Effect.map(Effect.provide(LlmRouter, then.layer), (inner) => ({
      resolve: (model: string, ctx: Parameters<typeof inner.resolve>[1]) =>
        n < errors.length ? Effect.fail(errors[n++]!) : inner.resolve(model, ctx),
      models: inner.models
    }))
  )
  return { layer, attempts: () => n }
}

export { LlmError }

/** The signature the llm step tests share (DSL text, to prepend to a program). */
export const ANSWER_SIGNATURE = `signature Answer {
  "Answer the question."
  input  question: string
  output text: string
  output confidence: number "0..1"
}
`
