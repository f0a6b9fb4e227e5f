/**
 * A tiny reference interpreter for tests: runs a program against
 * deterministic fake tools (a tool's result is a record of its name and
 * arguments) and records every effect. Used to check that normalization
 * preserves meaning. Not the runtime: no policies, no concurrency; a
 * choose takes its first option.
 */
import { Either } from "effect"
import { canonicalJson } from "../../src/ir/canonical.js"
import { evalPure, type Json } from "../../src/ir/eval.js"
import type { Args, Body, Expr, Program } from "../../src/ir/schema.js"

/** What a run produced: the output, or the first error, and the effects (sorted canonical JSON). */
export interface RunResult {
  readonly ok: boolean
  readonly output: string
  readonly effects: ReadonlyArray<string>
}

class Failure extends Error {}

interface Scope {
  readonly lookup: (name: string) => Json | undefined
}

/** Runs program `entry` of `program` with the given inputs. */
export const run = (program: Program, inputs: Readonly<Record<string, Json>> = {}, maxSteps = 100_000): RunResult => {
  const effects: Array<string> = []
  let steps = 0

  const evalIn = (expr: Expr, scope: Scope): Json => {
    const result = evalPure(expr, scope.lookup)
    if (Either.isLeft(result)) throw new Failure(result.left.message)
    return result.right
  }
  const args = (a: Args, scope: Scope): Record<string, Json> =>
    Object.fromEntries(Object.keys(a).map((k) => [k, evalIn(a[k]!, scope)]))

  const runBody = (body: Body, parent: Scope): Json => {
    const byName = new Map(body.nodes.map((n) => [n.id, n] as const))
    const values = new Map<string, Json>()
    const running = new Set<string>()
    const scope: Scope = {
      lookup: (name) => {
        if (byName.has(name)) return force(name)
        return parent.lookup(name)
      }
    }
    const force = (name: string): Json => {
      if (values.has(name)) return values.get(name)!
      if (running.has(name)) throw new Failure(`cycle at ${name}`)
      if (++steps > maxSteps) throw new Failure("too many steps")
      running.add(name)
      const node = byName.get(name)!
      for (const dep of node.policy?.after ?? []) if (byName.has(dep)) force(dep)
      let value: Json
      switch (node.kind) {
        case "tool": {
          value = { tool: node.tool, args: args(node.args, scope) }
          effects.push(canonicalJson(value))
          break
        }
        case "llm": {
          value = { signature: node.signature, args: args(node.args, scope), model: node.model ?? null }
          effects.push(canonicalJson(value))
          break
        }
        case "call": {
          const callee = program.programs[node.program]
          if (callee === undefined) throw new Failure(`no program ${node.program}`)
          const given = args(node.args, scope)
          const params: Scope = {
            lookup: (p) => {
              const param = callee.params.find((x) => x.name === p)
              if (param === undefined) return undefined
              if (Object.prototype.hasOwnProperty.call(given, p)) return given[p]!
              return param.default === undefined ? null : evalIn(param.default, { lookup: () => undefined })
            }
          }
          value = runBody(callee, params)
          break
        }
        case "map": {
          const over = evalIn(node.over, scope)
          if (!Array.isArray(over)) throw new Failure("map over a non-list")
          value = (over as ReadonlyArray<Json>).map((item) =>
            runBody(node.body, { lookup: (n) => (n === node.as ? item : scope.lookup(n)) })
          )
          break
        }
        case "branch": {
          const cond = evalIn(node.cond, scope)
          if (typeof cond !== "boolean") throw new Failure("branch on a non-boolean")
          value = cond ? runBody(node.then, scope) : node.else === null ? null : runBody(node.else, scope)
          break
        }
        case "choose": {
          const option = node.options[0]
          effects.push(canonicalJson({ choose: node.key, label: option?.label ?? null }))
          value = option === undefined ? null : runBody(option.body, scope)
          break
        }
        case "race": {
          // Deterministic tools: the first option stands for the winner.
          const option = node.options[0]
          effects.push(canonicalJson({ race: option?.label ?? null }))
          value = option === undefined ? null : runBody(option.body, scope)
          break
        }
        case "expr":
          value = evalIn(node.expr, scope)
          break
        case "wait": {
          // A wait is an effect; its (reference) answer names the signal and echoes the payload.
          const payload = node.payload === undefined ? null : evalIn(node.payload, scope)
          effects.push(canonicalJson({ wait: node.signal ?? null, for: node.for ?? null, payload }))
          value = node.signal === undefined ? null : { signal: node.signal, payload }
          break
        }
      }
      running.delete(name)
      values.set(name, value)
      return value
    }
    // Every step runs, used or not.
    for (const node of body.nodes) force(node.id)
    return evalIn(body.result, scope)
  }

  try {
    const def = program.programs[program.entry]
    if (def === undefined) throw new Failure("no entry")
    const params: Scope = {
      lookup: (name) => {
        const param = def.params.find((p) => p.name === name)
        if (param === undefined) return undefined
        if (Object.prototype.hasOwnProperty.call(inputs, name)) return inputs[name]!
        return param.default === undefined ? null : evalIn(param.default, { lookup: () => undefined })
      }
    }
    const output = runBody(def, params)
    return { ok: true, output: canonicalJson(output), effects: [...effects].sort() }
  } catch (e) {
    if (e instanceof Failure || e instanceof RangeError) return { ok: false, output: e.message, effects: [] }
    throw e
  }
}
