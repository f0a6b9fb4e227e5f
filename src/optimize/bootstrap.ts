/**
 * Bootstrapping demos from traces: the teacher's runs over the train split
 * whose output passes the metric give, for every llm step at the top of the
 * entry program, a demo — the step's arguments (evaluated from the run's
 * inputs and the recorded outputs of the steps before it) and its recorded
 * output. Steps inside `map`, `if` or `choose` bodies are not harvested.
 */
import { Effect, Either } from "effect"
import { evalPure } from "../ir/eval.js"
import type { Json } from "../ir/eval.js"
import type { Demo, JsonValue, LlmNode, Program } from "../ir/schema.js"
import { EventLog } from "../trace/events.js"

/** A demo harvested from a run, with the signature it belongs to and where it came from. */
export interface Harvested {
  readonly signature: string
  readonly demo: Demo
  readonly exampleId: string
}

const isRecord = (v: unknown): v is { readonly [k: string]: JsonValue } =>
  typeof v === "object" && v !== null && !Array.isArray(v)

/** The last segment of an event's node path (its node id in the scope). */
const nodeIdOf = (path: string): string => {
  const i = path.lastIndexOf("/")
  return i < 0 ? path : path.slice(i + 1)
}

/** The demos of one recorded run of `program` (empty when its events cannot be read). */
export const harvestRun = (
  program: Program,
  runId: string,
  exampleId: string
): Effect.Effect<ReadonlyArray<Harvested>, never, EventLog> =>
  Effect.gen(function*() {
    const log = yield* EventLog
    const events = yield* Effect.orElseSucceed(log.events(runId), () => [])
    const entry = program.programs[program.entry]
    if (entry === undefined) return []
    const top = new Map(entry.nodes.map((n) => [n.id, n] as const))
    const env = new Map<string, Json>()
    for (const p of entry.params) {
      if (p.default !== undefined) {
        const d = evalPure(p.default, new Map())
        if (Either.isRight(d)) env.set(p.name, d.right)
      }
    }
    const out: Array<Harvested> = []
    for (const e of events) {
      if (e.type === "RunStarted" && isRecord(e.data.inputs)) {
        for (const [k, v] of Object.entries(e.data.inputs)) env.set(k, v)
        continue
      }
      if (e.type !== "ToolReturned" || e.node === undefined) continue
      const id = nodeIdOf(e.node)
      const node = top.get(id)
      if (node === undefined || `${e.node}` !== id && !e.node.endsWith(`/${id}`)) continue
      const output = e.data.output as Json
      env.set(id, output)
      if (node.kind !== "llm" || !isRecord(output)) continue
      const inputs = argsOf(node, env)
      if (inputs === undefined) continue
      const sig = program.signatures[node.signature]
      if (sig === undefined) continue
      const outputs: { [k: string]: JsonValue } = {}
      for (const f of sig.outputs) if (f.name in output) outputs[f.name] = output[f.name]!
      out.push({ signature: node.signature, demo: { inputs, outputs }, exampleId })
    }
    return out
  })

const argsOf = (node: LlmNode, env: ReadonlyMap<string, Json>): { [k: string]: JsonValue } | undefined => {
  const inputs: { [k: string]: JsonValue } = {}
  for (const [name, expr] of Object.entries(node.args)) {
    const v = evalPure(expr, env)
    if (Either.isLeft(v)) return undefined
    inputs[name] = v.right
  }
  return inputs
}
