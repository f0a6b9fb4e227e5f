/**
 * A scripted fake model whose answers depend on the instructions and demos it is given, so optimizers have
 * something real to find. Tickets are `<kind> <n>`; the right label is the team of the kind. The model answers
 * right when it is the teacher (`fake/teacher`), when a demo in the prompt is a ticket of the same kind, or when
 * the instructions contain the key phrase "route by team"; else it answers "unknown". Asked to propose
 * instructions, it proposes variants of which one carries the key phrase.
 */
import { LanguageModel } from "@effect/ai"
import type { Prompt, Response } from "@effect/ai"
import { Effect, Layer } from "effect"
import type { Example } from "../../src/eval/dataset.js"
import { LlmRouter } from "../../src/llm/service.js"

export const TEAMS: Readonly<Record<string, string>> = { billing: "finance", crash: "engineering", login: "support" }

export const ROUTE_SOURCE = `signature Route {
  "Route the ticket."
  input text: string
  output label: string
}

program main(text: string) {
  r = llm Route(text: text)
  return r.label
}
`

/** `n` examples cycling through the kinds, ids prefixed. */
export const tickets = (prefix: string, n: number, offset = 0): ReadonlyArray<Example> =>
  Array.from({ length: n }, (_, i) => {
    const kind = Object.keys(TEAMS)[(i + offset) % 3]!
    return { id: `${prefix}${i}`, inputs: { text: `${kind} ${prefix}${i}` }, expected: TEAMS[kind]! }
  })

const textOf = (m: Prompt.Message): string =>
  typeof m.content === "string"
    ? m.content
    : m.content.map((p) => ("text" in p && typeof p.text === "string" ? p.text : "")).join("")

const kindOf = (text: string): string | undefined => /^text \(string\): (\w+) /.exec(text)?.[1]

/** What the fake answers to one prompt. */
const answer = (model: string, messages: ReadonlyArray<{ readonly role: string; readonly text: string }>): string => {
  const system = messages.find((m) => m.role === "system")?.text ?? ""
  if (system.startsWith("You write the instructions")) {
    return JSON.stringify({
      instructions: ["Route the ticket carefully.", "Route by team: name the team that owns the ticket.", "Be brief."]
    })
  }
  const users = messages.filter((m) => m.role === "user")
  const kind = kindOf(users[users.length - 1]?.text ?? "")
  const demoKinds = new Set(users.slice(0, -1).map((m) => kindOf(m.text)))
  const knows = model === "fake/teacher" || system.toLowerCase().includes("route by team") || demoKinds.has(kind)
  return JSON.stringify({ label: knows && kind !== undefined ? TEAMS[kind] ?? "unknown" : "unknown" })
}

/** A router serving the fake under every model name; `calls` counts the calls it answered. */
export const makeFakeRouter = () => {
  const state = { calls: 0 }
  const modelFor = (model: string) =>
    Effect.runSync(LanguageModel.make({
      generateText: (opts) =>
        Effect.sync(() => {
          state.calls++
          const messages = opts.prompt.content.map((m) => ({ role: m.role, text: textOf(m) }))
          const parts: Array<Response.PartEncoded> = [
            { type: "response-metadata", modelId: model },
            { type: "text", text: answer(model, messages) },
            { type: "finish", reason: "stop", usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15 } }
          ]
          return parts
        }),
      streamText: () => {
        throw new Error("the fake does not stream")
      }
    }))
  const layer = Layer.succeed(LlmRouter, {
    resolve: (model) => Effect.sync(() => ({ route: model, model: modelFor(model) })),
    models: () => ["fake/student", "fake/teacher"]
  })
  return { state, layer }
}
