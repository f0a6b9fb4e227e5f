/**
 * The pluggable seam for `llm` steps. The LLM layer (issue 6) provides an
 * `LlmRunner`; until then, and whenever none is provided, an llm step fails
 * with a clear `Permanent` error.
 */
import { Context, Effect, FiberRef, Layer } from "effect"
import { globalValue } from "effect/GlobalValue"
import type { Json, JsonRecord } from "../ir/eval.js"
import type { Signature } from "../ir/schema.js"
import { Permanent } from "../tools/errors.js"
import type { ToolError } from "../tools/errors.js"

/** One llm step to serve. */
export interface LlmRequest {
  readonly runId: string
  /** The canonical node path. */
  readonly node: string
  readonly signatureName: string
  /** The signature, when the document defines it. */
  readonly signature: Signature | undefined
  readonly args: JsonRecord
  readonly model: string | undefined
  /** 1-based attempt number. */
  readonly attempt: number
  /** Streams a chunk of the reply (recorded as a `Chunk` event). */
  readonly emit: (chunk: string) => Effect.Effect<void>
  /** Reports the route (`provider/model`) that answered (recorded in `ToolReturned.route`). Optional to call. */
  readonly answeredBy?: (route: string) => Effect.Effect<void>
}

/** An llm step before any attempt: what `describe` needs. */
export type LlmStep = Omit<LlmRequest, "attempt" | "emit" | "answeredBy">

/** What an llm step will ask, known before the model is called: recorded in `ToolCalled`, compared by replay. */
export interface LlmDescription {
  /** The model name the step asks for (`provider/model`). */
  readonly model: string
  /** The hash of the prompt the step sends. */
  readonly promptHash: string
}

/** Serves llm steps: returns the decoded output of the signature. Report tokens and cost with `charge`. */
export interface LlmRunnerService {
  readonly run: (request: LlmRequest) => Effect.Effect<Json, ToolError>
  /**
   * Describes a step without calling a model (model asked for, prompt
   * hash). When present, the runtime records it in the step's `ToolCalled`
   * events, and a replay (which never calls the model) compares it.
   */
  readonly describe?: (step: LlmStep) => Effect.Effect<LlmDescription, ToolError>
}

/** The workspace of the run being executed (set by durable runs), for the LLM requests of its steps. */
export const currentWorkspace: FiberRef.FiberRef<string | undefined> = globalValue(
  "trellis/runtime/currentWorkspace",
  () => FiberRef.unsafeMake<string | undefined>(undefined)
)

/** The message of an llm step run without an LLM layer. */
const NO_LLM_MESSAGE = "llm steps need the LLM layer (issue 6)"

/** Serves llm steps; by default every llm step fails with `Permanent` (no LLM layer). */
export class LlmRunner extends Context.Reference<LlmRunner>()("trellis/LlmRunner", {
  defaultValue: (): LlmRunnerService => ({
    run: () => Effect.fail(new Permanent({ message: NO_LLM_MESSAGE }))
  })
}) {
  /** Installs an llm runner. */
  static readonly layer = (service: LlmRunnerService): Layer.Layer<never> => Layer.succeed(LlmRunner, service)
}
