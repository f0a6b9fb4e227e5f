/**
 * The planner (SPEC §6): a task in natural language → a program. The model
 * is asked (structured output) for a `trellis/1` JSON IR document under the
 * IR's JSON Schema (`programJsonSchema`), told which tools exist; its
 * answer is checked like any program (`check`: decode, V1–V9, normalize),
 * and the violations are fed back for another round, a bounded number of
 * times. The result is a program that passes `check` — normalized IR, its
 * DSL text and hash — or the last round's violations.
 */
import * as AiError from "@effect/ai/AiError"
import { Effect, Schema } from "effect"
import type { JSONSchema } from "effect"
import { check } from "../compile.js"
import type { Diagnostic } from "../compile.js"
import { pathToPointer } from "../ir/diagnostic.js"
import { encodeProgram } from "../ir/json.js"
import { programJsonSchema } from "../ir/jsonSchema.js"
import type { Program } from "../ir/schema.js"
import { print } from "../language/index.js"
import type { ToolSpec, ToolTable } from "../validate/context.js"
import { formatType } from "../validate/types.js"
import { LlmError, LlmRouter } from "./service.js"
import type { PromptMessage } from "./signature.js"

/** The default number of rounds (the first answer included). */
export const DEFAULT_PLAN_ROUNDS = 3
/** The most rounds a caller may ask for. */
export const MAX_PLAN_ROUNDS = 10

/** What to plan with. */
export interface PlanOptions {
  /** The model (`provider/model`). */
  readonly model: string
  /** Rounds in all (1 = no feedback), 1..10. @default 3 */
  readonly rounds?: number
  /** The tools programs may call (what the answer is checked against, and what the prompt lists). */
  readonly tools: ToolTable
  /** The workspace the requests are made for. @default "default" */
  readonly workspace?: string
}

/** A violation the planner reports (a `check` diagnostic, or `bad-json` when the answer was not JSON). */
export interface PlanViolation {
  readonly code: string
  readonly message: string
  readonly path?: ReadonlyArray<string | number>
}

/** How planning ended. */
export type PlanResult =
  | {
    readonly _tag: "Planned"
    /** The normalized program. */
    readonly program: Program
    /** The program as DSL text. */
    readonly source: string
    /** The program's identity (sha256 of its canonical form). */
    readonly hash: string
    /** Rounds used. */
    readonly rounds: number
  }
  | {
    readonly _tag: "Invalid"
    /** The violations of the last answer. */
    readonly violations: ReadonlyArray<PlanViolation>
    readonly rounds: number
    /** The last answer's text. */
    readonly answer: string
  }

/** The planner could not ask the model (unknown model, provider down, …) or was given bad options. */
export class PlanError extends Schema.TaggedError<PlanError>()("PlanError", {
  reason: Schema.Literal("BadOptions", "Model"),
  message: Schema.String,
  /** The LLM failure's reason, when the model failed. */
  llmReason: Schema.optional(Schema.String)
}) {}

/** A small program in JSON IR, shown to the model as an example of the shape. */
const EXAMPLE_SOURCE = `program main(text: string) {
  words = split(text, " ")
  loud = map w in words { return upper(w) }
  return join(loud, " ")
}`

const example = (): string => {
  const checked = check(EXAMPLE_SOURCE)
  return checked.program === undefined ? "" : encodeProgram(checked.program)
}

const toolLine = (t: ToolSpec): string => {
  const args = t.input.map((a) => `${a.name}${a.optional ? "?" : ""}: ${formatType(a.type)}`).join(", ")
  return `- ${t.name}(${args}) -> ${formatType(t.output)}${t.description === undefined ? "" : `: ${t.description}`}`
}

/** The system message of the planner. */
const plannerSystem = (tools: ToolTable): string => {
  const list = [...tools.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map(toolLine)
  return [
    "You write Trellis programs. A program is a JSON document (IR version \"trellis/1\") that follows the given JSON Schema:",
    "{ ir, entry, programs: { name: { params, nodes, result } }, signatures }.",
    "Node kinds: tool (tool, args), llm (signature, args), call (program, args), map (over, as, body), branch (cond, then, else),",
    "choose (key, options), expr (expr). Expressions: lit, ref, get, index, slice, op, list, record, call (builtins).",
    "Nodes run as a DAG: a node runs once the nodes it references are done. Only call the tools listed below.",
    "",
    "Tools:",
    ...(list.length === 0 ? ["(none)"] : list),
    "",
    "An example program document:",
    example(),
    "",
    "Reply with the program document as one JSON object, and nothing else."
  ].join("\n")
}

/** The feedback message after an answer with violations. */
const feedbackMessage = (violations: ReadonlyArray<PlanViolation>): string =>
  [
    "The program is not valid. Violations:",
    ...violations.map((v) =>
      `- ${v.code}${v.path === undefined || v.path.length === 0 ? "" : ` at ${pathToPointer(v.path)}`}: ${v.message}`
    ),
    "Fix every violation and reply with the whole corrected program document as one JSON object."
  ].join("\n")

const violationOf = (d: Diagnostic): PlanViolation => ({
  code: d.code,
  message: d.message,
  ...(d.path === undefined ? {} : { path: [...d.path] })
})

/** The structured-output Schema: any JSON, advertised with the IR's JSON Schema (the document is checked afterwards). */
const programSchema = (): Schema.Schema<unknown, Record<string, unknown>> => {
  const { $schema: _s, ...rest } = programJsonSchema({ target: "jsonSchema7" }) as JSONSchema.JsonSchema7Root & {
    $schema?: string
  }
  return Schema.Unknown.annotations({ jsonSchema: rest }) as unknown as Schema.Schema<unknown, Record<string, unknown>>
}

/** Checks one answer: the normalized program, or its violations. */
const checkAnswer = (
  text: string,
  tools: ToolTable
): { readonly _tag: "Ok"; readonly program: Program; readonly hash: string } | {
  readonly _tag: "Bad"
  readonly violations: ReadonlyArray<PlanViolation>
} => {
  const trimmed = text.trim()
  if (!trimmed.startsWith("{")) {
    return { _tag: "Bad", violations: [{ code: "bad-json", message: "the answer is not a JSON object" }] }
  }
  let checked
  try {
    checked = check(trimmed, { tools, format: "json" })
  } catch (e) {
    return {
      _tag: "Bad",
      violations: [{
        code: "bad-json",
        message: `the answer cannot be read (${e instanceof RangeError ? "nested too deeply" : "malformed"})`
      }]
    }
  }
  if (checked.diagnostics.length > 0 || checked.normalized === undefined || checked.hash === undefined) {
    const violations = checked.diagnostics.map(violationOf)
    return {
      _tag: "Bad",
      violations: violations.length > 0 ? violations : [{ code: "invalid", message: "the program did not check" }]
    }
  }
  return { _tag: "Ok", program: checked.normalized, hash: checked.hash }
}

const modelFailure = (e: unknown): PlanError => {
  const llm = e instanceof LlmError
    ? e
    : typeof e === "object" && e !== null && "cause" in e && e.cause instanceof LlmError
    ? e.cause
    : undefined
  if (llm !== undefined) return new PlanError({ reason: "Model", message: llm.message, llmReason: llm.reason })
  return new PlanError({ reason: "Model", message: e instanceof Error ? e.message : String(e) })
}

/** Plans a program for `task`. Fails only when the model cannot be asked; an answer that never checks is an `Invalid` result. */
export const plan = (task: string, options: PlanOptions): Effect.Effect<PlanResult, PlanError, LlmRouter> =>
  Effect.gen(function*() {
    const rounds = options.rounds ?? DEFAULT_PLAN_ROUNDS
    if (!Number.isInteger(rounds) || rounds < 1 || rounds > MAX_PLAN_ROUNDS) {
      return yield* new PlanError({
        reason: "BadOptions",
        message: `rounds must be a whole number from 1 to ${MAX_PLAN_ROUNDS}, got ${rounds}`
      })
    }
    if (task.trim() === "") return yield* new PlanError({ reason: "BadOptions", message: "the task is empty" })
    const router = yield* LlmRouter
    const resolved = yield* Effect.mapError(
      router.resolve(options.model, { workspace: options.workspace ?? "default", needs: ["json"] }),
      modelFailure
    )
    const schema = programSchema()
    const messages: Array<PromptMessage> = [
      { role: "system", content: plannerSystem(options.tools) },
      { role: "user", content: task }
    ]
    let last: { violations: ReadonlyArray<PlanViolation>; answer: string } = { violations: [], answer: "" }
    for (let round = 1; round <= rounds; round++) {
      const answer = yield* resolved.model.generateObject({ prompt: messages, schema, objectName: "TrellisProgram" })
        .pipe(
          Effect.map((r) => r.text),
          Effect.catchIf(
            (e): e is AiError.MalformedOutput => AiError.isAiError(e) && e._tag === "MalformedOutput",
            () => Effect.succeed("")
          ),
          Effect.mapError(modelFailure)
        )
      const result = checkAnswer(answer, options.tools)
      if (result._tag === "Ok") {
        return {
          _tag: "Planned",
          program: result.program,
          source: print(result.program),
          hash: result.hash,
          rounds: round
        } satisfies PlanResult
      }
      last = { violations: result.violations, answer }
      if (answer !== "") messages.push({ role: "assistant", content: answer })
      messages.push({ role: "user", content: feedbackMessage(result.violations) })
    }
    return { _tag: "Invalid", violations: last.violations, rounds, answer: last.answer } satisfies PlanResult
  })
