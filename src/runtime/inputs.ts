/**
 * Binding inputs to parameters, for a run's entry program and for `run`
 * (call) steps: every given input must name a parameter and match its
 * type, absent ones take their default, and a missing required one is an
 * error.
 */
import { Either } from "effect"
import { evalPure, isRecord, typeName } from "../ir/eval.js"
import type { Json } from "../ir/eval.js"
import type { Param, Type } from "../ir/schema.js"

/** Why `value` does not have type `type` (with `where` naming it), or undefined when it does. */
export const typeProblem = (value: Json, type: Type, where: string): string | undefined => {
  switch (type.kind) {
    case "any":
      return undefined
    case "null":
      return value === null ? undefined : `${where} must be null, got ${typeName(value)}`
    case "string":
    case "number":
    case "boolean":
      return typeof value === type.kind ? undefined : `${where} must be a ${type.kind}, got ${typeName(value)}`
    case "list": {
      if (!Array.isArray(value)) return `${where} must be a list, got ${typeName(value)}`
      const items = value as ReadonlyArray<Json>
      for (let i = 0; i < items.length; i++) {
        const p = typeProblem(items[i]!, type.of, `${where}[${i}]`)
        if (p !== undefined) return p
      }
      return undefined
    }
    case "record": {
      if (!isRecord(value)) return `${where} must be a record, got ${typeName(value)}`
      for (const f of type.fields) {
        const v = Object.prototype.hasOwnProperty.call(value, f.name) ? value[f.name]! : undefined
        if (v === undefined) return `${where}.${f.name} is missing`
        const p = typeProblem(v, f.type, `${where}.${f.name}`)
        if (p !== undefined) return p
      }
      return undefined
    }
  }
}

/**
 * Binds `inputs` to `params`: unknown names, type mismatches and missing
 * required parameters are errors (all reported, one per line); defaults are
 * evaluated in order and may refer to earlier parameters.
 */
export const bindParams = (
  params: ReadonlyArray<Param>,
  inputs: { readonly [name: string]: Json },
  what: string
): Either.Either<ReadonlyMap<string, Json>, string> => {
  const problems: Array<string> = []
  const bound = new Map<string, Json>()
  const known = new Set(params.map((p) => p.name))
  for (const name of Object.keys(inputs)) {
    if (!known.has(name)) {
      const names = params.length === 0 ? "it takes none" : `its parameters are ${params.map((p) => p.name).join(", ")}`
      problems.push(`unknown input "${name}" of ${what}: ${names}`)
    }
  }
  for (const param of params) {
    const given = Object.prototype.hasOwnProperty.call(inputs, param.name) ? inputs[param.name] : undefined
    let value: Json
    if (given !== undefined) {
      value = given
    } else if (param.default !== undefined) {
      const v = evalPure(param.default, bound)
      if (Either.isLeft(v)) {
        problems.push(`default of "${param.name}" of ${what} failed: ${v.left.message}`)
        continue
      }
      value = v.right
    } else {
      problems.push(`missing input "${param.name}" of ${what}`)
      continue
    }
    const p = typeProblem(value, param.type, `input "${param.name}" of ${what}`)
    if (p !== undefined) problems.push(p)
    else bound.set(param.name, value)
  }
  return problems.length === 0 ? Either.right(bound) : Either.left(problems.join("\n"))
}
