/**
 * Signatures compiled for a model (SPEC §6): a `Signature` (instructions,
 * typed inputs and outputs, demos) and the arguments of one llm step become a
 * prompt — a system message with the instructions and the output fields,
 * then per demo a user message with its inputs and an assistant message with
 * its outputs as JSON, then a user message with the inputs as labelled
 * values — plus an `effect/Schema`
 * of the outputs (from the field types) and its JSON Schema for structured
 * output. The prompt hash (`sha256` of the prompt's canonical JSON) is what
 * a trace records and a replay compares.
 */
import { JSONSchema, ParseResult, Schema } from "effect"
import { canonicalJson } from "../ir/canonical.js"
import type { Json, JsonRecord } from "../ir/eval.js"
import { sha256Hex } from "../ir/hash.js"
import type { Signature, SignatureField, Type } from "../ir/schema.js"
import { formatType } from "../validate/types.js"

/** One message of a compiled prompt. */
export interface PromptMessage {
  readonly role: "system" | "user" | "assistant"
  readonly content: string
}

/** A signature compiled for one call. */
export interface CompiledSignature {
  /** The signature's name. */
  readonly name: string
  /** System message, a user/assistant pair per demo, then the user message. */
  readonly messages: ReadonlyArray<PromptMessage>
  /** `sha256:` + hex sha256 of the canonical JSON of `messages`. */
  readonly promptHash: string
  /** Decodes a reply object to the signature's outputs (unknown keys are dropped). */
  readonly output: Schema.Schema<JsonRecord, JsonRecord>
  /** The JSON Schema of the outputs (what structured output is asked for). */
  readonly jsonSchema: JSONSchema.JsonSchema7
}

/** The instructions used when a signature has none. */
const DEFAULT_INSTRUCTIONS = "Produce the outputs from the inputs."

/** The `effect/Schema` of a static type (JSON values only; `any` accepts any value). */
const typeSchema = (type: Type): Schema.Schema<Json, Json> => {
  switch (type.kind) {
    case "string":
      return Schema.String as unknown as Schema.Schema<Json, Json>
    case "number":
      return Schema.Number as unknown as Schema.Schema<Json, Json>
    case "boolean":
      return Schema.Boolean as unknown as Schema.Schema<Json, Json>
    case "null":
      return Schema.Null as unknown as Schema.Schema<Json, Json>
    case "any":
      return Schema.Unknown as unknown as Schema.Schema<Json, Json>
    case "list":
      return Schema.Array(typeSchema(type.of)) as unknown as Schema.Schema<Json, Json>
    case "record":
      return structOf(type.fields.map((f) => ({ name: f.name, type: f.type }))) as unknown as Schema.Schema<Json, Json>
  }
}

const structOf = (fields: ReadonlyArray<{ readonly name: string; readonly type: Type; readonly doc?: string }>) => {
  const props: Record<string, Schema.Schema<Json, Json>> = {}
  for (const f of fields) {
    const s = typeSchema(f.type)
    props[f.name] = f.doc === undefined ? s : s.annotations({ description: f.doc })
  }
  return Schema.Struct(props) as unknown as Schema.Schema<JsonRecord, JsonRecord>
}

/** The Schema of a signature's outputs: a struct with every output field required. */
const outputSchema = (signature: Signature): Schema.Schema<JsonRecord, JsonRecord> =>
  structOf(
    signature.outputs.map((
      f
    ) => (f.doc === undefined ? { name: f.name, type: f.type } : { name: f.name, type: f.type, doc: f.doc }))
  )

/** The JSON Schema of a signature's outputs. */
export const outputJsonSchema = (signature: Signature): JSONSchema.JsonSchema7 => {
  const root = JSONSchema.make(outputSchema(signature)) as JSONSchema.JsonSchema7 & { $schema?: string }
  const { $schema: _schema, ...rest } = root
  return rest as JSONSchema.JsonSchema7
}

const fieldLine = (f: SignatureField): string =>
  `- ${f.name} (${formatType(f.type)})${f.doc === undefined ? "" : `: ${f.doc}`}`

/** The system message: instructions, then the output fields and the reply format. */
const systemMessage = (signature: Signature): string =>
  [
    signature.doc ?? DEFAULT_INSTRUCTIONS,
    "",
    "Reply with one JSON object, and nothing else, with these fields:",
    ...signature.outputs.map(fieldLine)
  ].join("\n")

const valueText = (v: Json | undefined): string =>
  v === undefined ? "null" : typeof v === "string" ? v : canonicalJson(v)

/** The user message: each input of the signature as `name (type): value` (strings verbatim, other values as JSON). */
const userMessage = (signature: Signature, args: JsonRecord): string =>
  signature.inputs.map((f) => `${f.name} (${formatType(f.type)}): ${valueText(args[f.name])}`).join("\n")

/** A demo's reply: its outputs as one JSON object, fields in the signature's order. */
const demoReply = (signature: Signature, outputs: JsonRecord): string => {
  const ordered: { [name: string]: Json } = {}
  for (const f of signature.outputs) ordered[f.name] = outputs[f.name] ?? null
  return JSON.stringify(ordered)
}

/** The prompt hash of messages. */
export const promptHash = (messages: ReadonlyArray<PromptMessage>): string =>
  `sha256:${sha256Hex(canonicalJson(messages))}`

/** Compiles a signature and the arguments of one call. */
export const compileSignature = (name: string, signature: Signature, args: JsonRecord): CompiledSignature => {
  const messages: ReadonlyArray<PromptMessage> = [
    { role: "system", content: systemMessage(signature) },
    ...(signature.demos ?? []).flatMap((demo): ReadonlyArray<PromptMessage> => [
      { role: "user", content: userMessage(signature, demo.inputs) },
      { role: "assistant", content: demoReply(signature, demo.outputs) }
    ]),
    { role: "user", content: userMessage(signature, args) }
  ]
  return {
    name,
    messages,
    promptHash: promptHash(messages),
    output: outputSchema(signature),
    jsonSchema: outputJsonSchema(signature)
  }
}

/** Why a reply did not decode: a message fit to show the model (and the user). */
export type DecodeOutcome =
  | { readonly _tag: "Ok"; readonly value: JsonRecord }
  | { readonly _tag: "Invalid"; readonly message: string }

/** Decodes a reply's text (JSON, possibly in a ```json fence) with the compiled output Schema. */
export const decodeReply = (compiled: CompiledSignature, text: string): DecodeOutcome => {
  let parsed: unknown
  try {
    parsed = JSON.parse(stripFence(text))
  } catch (e) {
    return { _tag: "Invalid", message: `the reply is not valid JSON (${e instanceof Error ? e.message : String(e)})` }
  }
  return decodeValue(compiled, parsed)
}

/** Decodes an already parsed reply with the compiled output Schema. */
export const decodeValue = (compiled: CompiledSignature, value: unknown): DecodeOutcome => {
  const r = Schema.decodeUnknownEither(compiled.output, { onExcessProperty: "ignore", errors: "all" })(value)
  if (r._tag === "Right") return { _tag: "Ok", value: r.right }
  return { _tag: "Invalid", message: ParseResult.TreeFormatter.formatErrorSync(r.left) }
}

/** The JSON inside a Markdown code fence, or the text itself. */
const stripFence = (text: string): string => {
  const m = /^\s*```(?:json)?\s*\n([\s\S]*?)\n?```\s*$/.exec(text)
  return m === null ? text : m[1]!
}
