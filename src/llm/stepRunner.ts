/**
 * The `LlmRunner` of the runtime over the `LlmRouter` (SPEC §6, "llm steps
 * in programs"): an llm step's signature and arguments compile to a prompt
 * and an output Schema (signature.ts); the step's model (its `model`
 * policy, else the configured default, `local/echo` unless set) is
 * resolved through the router; the reply is decoded with the Schema, and
 * an invalid reply is fed back to the model with the decode error, a
 * bounded number of times (the repair loop). Reply text is streamed into
 * `Chunk` events, tokens (and cost, when the router reports it) are
 * charged to the step's meter so budgets see them, the answering route is
 * reported for the trace, and every failure is mapped to the runtime's
 * error taxonomy so retry policies apply.
 */
import type { LanguageModel, Response } from "@effect/ai"
import * as AiError from "@effect/ai/AiError"
import { Effect, FiberRef, Layer, Option, Schema, Stream } from "effect"
import type { Json } from "../ir/eval.js"
import { currentWorkspace, LlmRunner } from "../runtime/llm.js"
import type { LlmDescription, LlmRequest, LlmRunnerService, LlmStep } from "../runtime/llm.js"
import { charge } from "../runtime/meter.js"
import { CircuitOpen, Permanent, RateLimited, Timeout, Transient } from "../tools/errors.js"
import type { ToolError } from "../tools/errors.js"
import { LlmError, LlmRouter } from "./service.js"
import type { Capability, LlmRouterService } from "./service.js"
import { compileSignature, decodeReply, decodeValue, promptHash } from "./signature.js"
import type { CompiledSignature, DecodeOutcome, PromptMessage } from "./signature.js"

/** How a step asks for its reply. */
export type StepMode =
  /** Structured output (`generateObject`, the provider's JSON mode); the reply text is recorded as `Chunk`s when it arrives. */
  | "structured"
  /** Streaming (`streamText`): each text delta is a `Chunk` as it arrives; the JSON Schema of the reply is in the prompt. */
  | "stream"

/** Settings of the step runner. */
export interface StepRunnerConfig {
  /** The model of a step without a `model` policy. @default "local/echo" */
  readonly defaultModel?: string
  /** Extra tries after a reply that does not decode (each one feeds the decode error back). @default 2 */
  readonly repairs?: number
  /** How replies are asked for. @default "structured" */
  readonly mode?: StepMode
  /** The workspace requests are made for (cache keys, quotas) when the run has none. @default "default" */
  readonly workspace?: string
}

/** The `steps` section of the config file (the server's and `trellis run --config`): settings of llm steps. */
export const StepsConfig = Schema.Struct({
  /** The model of a step without a `model` policy. @default "local/echo" */
  defaultModel: Schema.optionalWith(
    Schema.String.pipe(Schema.pattern(/^[^/\s]+\/\S+$/, { message: () => "a model name provider/model" })),
    { exact: true }
  ),
  /** Extra tries after a reply that does not decode. @default 2 */
  repairs: Schema.optionalWith(Schema.Int.pipe(Schema.between(0, 10)), { exact: true }),
  /** How replies are asked for. @default "structured" */
  mode: Schema.optionalWith(Schema.Literal("structured", "stream"), { exact: true })
})
export type StepsConfig = typeof StepsConfig.Type

/** The default model of llm steps. */
export const DEFAULT_STEP_MODEL = "local/echo"
/** The default number of repair tries. */
export const DEFAULT_REPAIRS = 2

/** The runtime error of an `LlmError` (so retry policies apply: rate limits, timeouts and upstream failures are retryable). */
export const toolErrorOfLlm = (e: LlmError): ToolError => {
  const message = e.provider === undefined ? e.message : `${e.message} (provider ${e.provider})`
  switch (e.reason) {
    case "UnknownModel":
    case "CapabilityMissing":
    case "BadRequest":
      return new Permanent({ message })
    case "RateLimited":
    case "QuotaExceeded":
      return e.retryAfterMs === undefined
        ? new RateLimited({ message })
        : new RateLimited({ message, retryAfterMs: e.retryAfterMs })
    case "Timeout":
      return new Timeout({ message })
    case "CircuitOpen":
      return e.retryAfterMs === undefined
        ? new CircuitOpen({ message })
        : new CircuitOpen({ message, retryAfterMs: e.retryAfterMs })
    case "Upstream":
    case "Unavailable":
      return new Transient({ message })
  }
}

/** The runtime error of any failure of a model call. */
export const toolErrorOf = (e: unknown): ToolError => {
  if (e instanceof LlmError) return toolErrorOfLlm(e)
  if (typeof e === "object" && e !== null && "cause" in e && e.cause instanceof LlmError) return toolErrorOfLlm(e.cause)
  if (AiError.isAiError(e)) {
    switch (e._tag) {
      case "HttpRequestError":
        return new Transient({ message: e.message })
      case "HttpResponseError": {
        const status = e.response.status
        if (status === 429) return new RateLimited({ message: e.message })
        return status >= 500 ? new Transient({ message: e.message }) : new Permanent({ message: e.message })
      }
      case "MalformedInput":
        return new Permanent({ message: e.message })
      case "MalformedOutput":
      case "UnknownError":
        return new Transient({ message: e.message })
    }
  }
  return new Transient({ message: e instanceof Error ? e.message : String(e) })
}

/** The messages a step sends first (in `stream` mode the system message also carries the reply's JSON Schema). */
export const stepMessages = (compiled: CompiledSignature, mode: StepMode): ReadonlyArray<PromptMessage> => {
  if (mode === "structured") return compiled.messages
  const [system, ...rest] = compiled.messages
  return [
    {
      role: "system",
      content: `${system!.content}\n\nThe reply's JSON Schema:\n${JSON.stringify(compiled.jsonSchema)}`
    },
    ...rest
  ]
}

/** The repair message after an invalid reply. */
export const repairMessage = (error: string): string =>
  `Your reply does not match the required output: ${error}\nReply again with one JSON object, and nothing else, that has exactly the required fields.`

/** What one model call produced. */
interface Reply {
  readonly text: string
  /** The decoded outputs, or why the reply does not match the signature. */
  readonly decoded: DecodeOutcome
}

const usageTokens = (usage: Response.Usage): number => {
  const total = usage.totalTokens ?? (usage.inputTokens ?? 0) + (usage.outputTokens ?? 0)
  return Number.isFinite(total) ? total : 0
}

/** Cost reported by the router in the finish part's metadata (`metadata.trellis.cost`), if any. */
const costOf = (metadata: unknown): number => {
  const trellis = typeof metadata === "object" && metadata !== null
    ? (metadata as Record<string, unknown>).trellis
    : undefined
  const cost = typeof trellis === "object" && trellis !== null ? (trellis as Record<string, unknown>).cost : undefined
  return typeof cost === "number" && Number.isFinite(cost) ? cost : 0
}

/** Records a response part's side information: route, usage. */
const notePart = (request: LlmRequest, part: Response.AnyPart): Effect.Effect<void> => {
  if (part.type === "response-metadata") {
    return Option.isSome(part.modelId) && request.answeredBy !== undefined
      ? request.answeredBy(part.modelId.value)
      : Effect.void
  }
  if (part.type === "finish") return charge({ tokens: usageTokens(part.usage), cost: costOf(part.metadata) })
  return Effect.void
}

/** The permissive reply Schema handed to `generateObject`: any JSON, advertised with the signature's JSON Schema. */
const replySchema = (compiled: CompiledSignature): Schema.Schema<unknown, Record<string, unknown>> =>
  Schema.Unknown.annotations({ jsonSchema: compiled.jsonSchema as object }) as unknown as Schema.Schema<
    unknown,
    Record<string, unknown>
  >

const askStructured = (
  model: LanguageModel.Service,
  request: LlmRequest,
  compiled: CompiledSignature,
  prompt: ReadonlyArray<PromptMessage>
) =>
  model.generateObject({ prompt, schema: replySchema(compiled), objectName: compiled.name }).pipe(
    Effect.flatMap((response) =>
      Effect.gen(function*() {
        let text = ""
        for (const part of response.content) {
          yield* notePart(request, part)
          if (part.type === "text" && part.text !== "") {
            text += part.text
            yield* request.emit(part.text)
          }
        }
        return { text, decoded: decodeValue(compiled, response.value) } satisfies Reply
      })
    ),
    Effect.catchIf(
      (e): e is AiError.MalformedOutput => AiError.isAiError(e) && e._tag === "MalformedOutput",
      (e) =>
        Effect.succeed<Reply>({
          text: "",
          decoded: { _tag: "Invalid", message: `the reply is not valid JSON (${e.description ?? e.message})` }
        })
    )
  )

const askStream = (
  model: LanguageModel.Service,
  request: LlmRequest,
  compiled: CompiledSignature,
  prompt: ReadonlyArray<PromptMessage>
) =>
  Effect.suspend(() => {
    let text = ""
    return model.streamText({ prompt }).pipe(
      Stream.runForEach((part) => {
        if (part.type === "text-delta") {
          text += part.delta
          return part.delta === "" ? Effect.void : request.emit(part.delta)
        }
        return notePart(request, part)
      }),
      Effect.map((): Reply => ({ text, decoded: decodeReply(compiled, text) }))
    )
  })

/** Makes the step runner over a router. */
export const make = (router: LlmRouterService, config: StepRunnerConfig = {}): LlmRunnerService => {
  const mode = config.mode ?? "structured"
  const repairs = Math.max(0, Math.floor(config.repairs ?? DEFAULT_REPAIRS))
  const defaultModel = config.defaultModel ?? DEFAULT_STEP_MODEL
  const workspace = config.workspace ?? "default"
  const needs: ReadonlyArray<Capability> = mode === "stream" ? ["stream"] : ["json"]

  const compile = (step: LlmStep): Effect.Effect<CompiledSignature, ToolError> =>
    step.signature === undefined
      ? Effect.fail(
        new Permanent({
          message: `llm ${step.signatureName}: unknown signature "${step.signatureName}" (node ${step.node})`
        })
      )
      : Effect.succeed(compileSignature(step.signatureName, step.signature, step.args))

  const describe = (step: LlmStep): Effect.Effect<LlmDescription, ToolError> =>
    Effect.map(compile(step), (compiled) => ({
      model: step.model ?? defaultModel,
      promptHash: promptHash(stepMessages(compiled, mode))
    }))

  const run = (request: LlmRequest): Effect.Effect<Json, ToolError> =>
    Effect.gen(function*() {
      const compiled = yield* compile(request)
      const modelName = request.model ?? defaultModel
      // A durable run's own workspace (its quotas and cache), else the runner's.
      const ws = (yield* FiberRef.get(currentWorkspace)) ?? workspace
      const resolved = yield* Effect.mapError(router.resolve(modelName, { workspace: ws, needs }), toolErrorOfLlm)
      const messages: Array<PromptMessage> = [...stepMessages(compiled, mode)]
      let last = ""
      for (let round = 0; round <= repairs; round++) {
        const reply = yield* Effect.mapError(
          mode === "stream"
            ? askStream(resolved.model, request, compiled, messages)
            : askStructured(resolved.model, request, compiled, messages),
          toolErrorOf
        )
        if (reply.decoded._tag === "Ok") return reply.decoded.value
        last = reply.decoded.message
        if (reply.text !== "") messages.push({ role: "assistant", content: reply.text })
        messages.push({ role: "user", content: repairMessage(last) })
      }
      return yield* new Permanent({
        message: `llm ${request.signatureName}: the reply of ${modelName} did not match the signature after ${
          repairs + 1
        } tries: ${last}`
      })
    })

  return { run, describe }
}

/** The step runner as the runtime's `LlmRunner`, over the `LlmRouter` in context. */
export const layer = (config: StepRunnerConfig = {}): Layer.Layer<LlmRunner, never, LlmRouter> =>
  Layer.effect(LlmRunner, Effect.map(LlmRouter, (router) => make(router, config)))
