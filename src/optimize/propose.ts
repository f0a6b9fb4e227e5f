/**
 * Instruction proposal (COPRO/MIPRO): a language model reads a signature,
 * its current instructions, a few examples and the scores of instructions
 * tried so far, and proposes new instructions. Each proposal is a durable
 * run of a small Trellis program (`ProposeInstructions`) with a run id fixed
 * by the optimization, so it is recorded, metered like every call, and a
 * resumed optimization reads it back instead of asking again.
 */
import { Effect, Option } from "effect"
import { check } from "../compile.js"
import { canonicalJson } from "../ir/canonical.js"
import type { Json } from "../ir/eval.js"
import type { Program, Signature } from "../ir/schema.js"
import { printString } from "../language/printExpr.js"
import * as Durable from "../runtime/durable.js"
import type { DurableRequirements } from "../runtime/durable.js"
import { RunStore } from "../runtime/runStore.js"
import { formatType } from "../validate/types.js"
import { OptimizeError } from "./errors.js"

/** The proposer program; `model` pins its llm step to a model (else the step runner's default). */
export const proposerSource = (model: string | undefined): string =>
  `signature ProposeInstructions {
  "You write the instructions of one language-model step of a program. Read the step's signature, its current instructions, examples of its inputs and expected outputs, and the scores of instructions tried so far; propose new, different instructions that would score higher. Reply with exactly count instructions."
  input step: string "the step's signature: inputs and outputs"
  input current: string "the current instructions"
  input examples: string "inputs and expected outputs, one per line"
  input history: string "instructions tried so far with their scores"
  input count: number
  output instructions: string[]
}

program main(step: string, current: string, examples: string, history: string, count: number) {
  return llm ProposeInstructions(step: step, current: current, examples: examples, history: history, count: count)${
    model === undefined ? "" : ` with { model: ${printString(model)} }`
  }
}
`

let compiled: { readonly model: string | undefined; readonly program: Program } | undefined

const proposer = (model: string | undefined): Program => {
  if (compiled !== undefined && compiled.model === model) return compiled.program
  const c = check(proposerSource(model))
  if (c.normalized === undefined) throw new Error(`proposer program: ${JSON.stringify(c.diagnostics)}`)
  compiled = { model, program: c.normalized }
  return c.normalized
}

/** A signature as one line per field. */
const describeSignature = (name: string, sig: Signature): string =>
  [
    `${name}:`,
    ...sig.inputs.map((f) => `input ${f.name}: ${formatType(f.type)}${f.doc === undefined ? "" : ` (${f.doc})`}`),
    ...sig.outputs.map((f) => `output ${f.name}: ${formatType(f.type)}${f.doc === undefined ? "" : ` (${f.doc})`}`)
  ].join("\n")

/** What a proposal is asked with. */
export interface ProposalRequest {
  readonly runId: string
  readonly model: string | undefined
  readonly name: string
  readonly signature: Signature
  readonly current: string
  /** Example lines (inputs → expected). */
  readonly examples: ReadonlyArray<{ readonly inputs: Json; readonly expected?: Json | undefined }>
  readonly history: ReadonlyArray<{ readonly instructions: string; readonly score: number }>
  readonly count: number
}

/** Proposes instructions (distinct, non-empty, at most `count`); a failed proposal gives none. */
export const propose = (
  request: ProposalRequest
): Effect.Effect<ReadonlyArray<string>, OptimizeError, DurableRequirements> =>
  Effect.gen(function*() {
    const store = yield* RunStore
    const storeError = (e: { readonly message: string }) => new OptimizeError({ reason: "store", message: e.message })
    const known = yield* Effect.mapError(store.get(request.runId), storeError)
    const inputs = {
      step: describeSignature(request.name, request.signature),
      current: request.current,
      examples: request.examples.map((e) => `${canonicalJson(e.inputs)} → ${canonicalJson(e.expected ?? null)}`).join(
        "\n"
      ),
      history: request.history.map((h) => `${h.score.toFixed(3)}: ${h.instructions}`).join("\n"),
      count: request.count
    }
    if (Option.isNone(known)) {
      yield* Effect.either(Durable.start(proposer(request.model), inputs, { runId: request.runId }))
    } else if (known.value.status === "running" || known.value.status === "waiting") {
      yield* Effect.either(Durable.resume(request.runId))
    }
    const record = yield* Effect.mapError(store.get(request.runId), storeError)
    if (Option.isNone(record) || record.value.status !== "completed") return []
    const output = record.value.output as { readonly instructions?: unknown } | null | undefined
    const list = output !== null && typeof output === "object" && Array.isArray(output.instructions)
      ? output.instructions
      : []
    const out: Array<string> = []
    for (const s of list) {
      if (typeof s !== "string") continue
      const t = s.trim()
      if (t !== "" && t !== request.current && !out.includes(t)) out.push(t)
    }
    return out.slice(0, request.count)
  })
