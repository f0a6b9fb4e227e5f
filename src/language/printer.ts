/**
 * The printer: IR → canonical DSL text (`trellis fmt`). Two-space indent,
 * one statement per line, signatures first, then programs in the IR's
 * order (the entry first when it is neither `main` nor the first program),
 * `with { … }` folding `model` / `concurrency` back in, `else if` chains,
 * and synthetic nodes (`$k`) printed as bare steps or `return <step>`.
 * Comments and the `labels` side table are not printed.
 *
 * For every program that came from lowering or normalization,
 * `lower(parse(print(p)))` is `p` again (without `labels`), and printing is
 * idempotent.
 */
import type { Args, Body, Node, Policy, Program, ProgramDef, Signature } from "../ir/schema.js"
import { POLICY_KEYS, RETRY_KEYS } from "./lowerPolicy.js"
import { printExpr, printKey, printNumber, printScalar, printString, printType } from "./printExpr.js"
import { isIdentifier } from "./token.js"

const INDENT = "  "

/** True for the synthetic ids lowering gives unnamed steps (`$0`, `$1`, …). */
export const isSyntheticId = (id: string): boolean => /^\$(0|[1-9][0-9]*)$/.test(id)

/** Prints a program document as DSL text (ending with a newline). */
export const print = (program: Program): string => {
  const parts: Array<string> = []
  for (const [name, signature] of Object.entries(program.signatures)) parts.push(printSignature(name, signature))
  const names = Object.keys(program.programs)
  const entry = program.entry
  const entryFirst = !names.includes("main") && names.includes(entry) && names[0] !== entry
  const ordered = entryFirst ? [entry, ...names.filter((n) => n !== entry)] : names
  for (const name of ordered) parts.push(printProgram(name, program.programs[name] as ProgramDef))
  return parts.length === 0 ? "" : parts.join("\n\n") + "\n"
}

const printSignature = (name: string, signature: Signature): string => {
  const lines = [`signature ${name} {`]
  if (signature.doc !== undefined) lines.push(INDENT + printString(signature.doc))
  for (const [direction, fields] of [["input", signature.inputs], ["output", signature.outputs]] as const) {
    for (const f of fields) {
      const doc = f.doc === undefined ? "" : " " + printString(f.doc)
      lines.push(`${INDENT}${direction} ${f.name}: ${printType(f.type)}${doc}`)
    }
  }
  lines.push("}")
  return lines.join("\n")
}

const printProgram = (name: string, def: ProgramDef): string => {
  const params = def.params
    .map((p) => `${p.name}: ${printType(p.type)}${p.default === undefined ? "" : " = " + printExpr(p.default)}`)
    .join(", ")
  return `program ${name}(${params}) ${printBlock(def, "", true)}`
}

/** `{ statements }`, the closing brace at `indent`. */
const printBlock = (body: Body, indent: string, isProgram: boolean): string => {
  const inner = indent + INDENT
  const lines = printStatements(body, inner, isProgram)
  return lines.length === 0 ? "{\n" + indent + "}" : `{\n${lines.map((l) => inner + l).join("\n")}\n${indent}}`
}

/** The statements of a body, each without its leading indent. */
const printStatements = (body: Body, indent: string, isProgram: boolean): ReadonlyArray<string> => {
  const last = body.nodes[body.nodes.length - 1]
  const returnStep =
    last !== undefined && isSyntheticId(last.id) && body.result.kind === "ref" && body.result.name === last.id ? last : undefined
  const lines: Array<string> = []
  for (const node of body.nodes) {
    if (node === returnStep) continue
    lines.push((isSyntheticId(node.id) ? "" : `${node.id} = `) + printStep(node, indent))
  }
  if (returnStep !== undefined) lines.push("return " + printStep(returnStep, indent))
  else if (!(isProgram && body.result.kind === "lit" && body.result.value === null)) lines.push("return " + printExpr(body.result))
  return lines
}

/** One step; nested blocks are indented relative to `indent`. */
const printStep = (node: Node, indent: string): string => {
  switch (node.kind) {
    case "tool":
      return `tool ${node.tool}(${printArgs(node.args)})${printPolicy(node.policy, [])}`
    case "llm":
      return `llm ${node.signature}(${printArgs(node.args)})${printPolicy(node.policy, node.model === undefined ? [] : [`model: ${printString(node.model)}`])}`
    case "call":
      return `run ${node.program}(${printArgs(node.args)})${printPolicy(node.policy, [])}`
    case "map": {
      const extra = node.concurrency === undefined ? [] : [`concurrency: ${printNumber(node.concurrency)}`]
      return `map ${node.as} in ${printExpr(node.over)}${printPolicy(node.policy, extra)} ${printBlock(node.body, indent, false)}`
    }
    case "branch": {
      const head = `if ${printExpr(node.cond)}${printPolicy(node.policy, [])} ${printBlock(node.then, indent, false)}`
      if (node.else === null) return head
      const chained = elseIfOf(node.else)
      return chained === undefined ? `${head} else ${printBlock(node.else, indent, false)}` : `${head} else ${printStep(chained, indent)}`
    }
    case "choose": {
      const inner = indent + INDENT
      const options = node.options.map((o) => `${inner}${printKey(o.label)}: ${printBlock(o.body, inner, false)}`)
      return `choose ${printString(node.key)}${printPolicy(node.policy, [])} {\n${options.join("\n")}\n${indent}}`
    }
    case "expr":
      return printExpr(node.expr) + printPolicy(node.policy, [])
  }
}

/** The branch node of an `else if`: an else body holding one synthetic branch, returned by ref. */
const elseIfOf = (body: Body): Node | undefined => {
  const only = body.nodes[0]
  return body.nodes.length === 1 &&
    only !== undefined &&
    only.kind === "branch" &&
    isSyntheticId(only.id) &&
    body.result.kind === "ref" &&
    body.result.name === only.id
    ? only
    : undefined
}

const printArgs = (args: Args): string =>
  Object.entries(args)
    .map(([name, value]) => `${name}: ${printExpr(value)}`)
    .join(", ")

/** ` with { … }`, or nothing when there is no policy and no extra entry. */
const printPolicy = (policy: Policy | undefined, extra: ReadonlyArray<string>): string => {
  if (policy === undefined && extra.length === 0) return ""
  const entries = [...extra]
  if (policy !== undefined) {
    for (const key of POLICY_KEYS) {
      const text = printPolicyValue(policy, key)
      if (text !== undefined) entries.push(`${key}: ${text}`)
    }
  }
  return entries.length === 0 ? " with {}" : ` with { ${entries.join(", ")} }`
}

const printPolicyValue = (policy: Policy, key: (typeof POLICY_KEYS)[number]): string | undefined => {
  switch (key) {
    case "timeout":
    case "label":
      return policy[key] === undefined ? undefined : printString(policy[key])
    case "retry": {
      const retry = policy.retry
      if (retry === undefined) return undefined
      const fields: Array<string> = []
      for (const k of RETRY_KEYS) {
        const v = retry[k]
        if (v === undefined) continue
        fields.push(`${k}: ${Array.isArray(v) ? `[${v.map((x) => printString(x)).join(", ")}]` : printScalar(v as string | number)}`)
      }
      return fields.length === 0 ? "{}" : `{ ${fields.join(", ")} }`
    }
    case "cache":
      return policy.cache === undefined ? undefined : policy.cache === false ? "false" : `{ ttl: ${printString(policy.cache.ttl)} }`
    case "idempotencyKey":
      return policy.idempotencyKey === undefined ? undefined : printExpr(policy.idempotencyKey)
    case "after":
      return policy.after === undefined ? undefined : `[${policy.after.map((n) => (isIdentifier(n) ? n : printString(n))).join(", ")}]`
    case "budget": {
      const b = policy.budget
      if (b === undefined) return undefined
      const fields = [
        ...(b.cost === undefined ? [] : [`cost: ${printNumber(b.cost)}`]),
        ...(b.tokens === undefined ? [] : [`tokens: ${printNumber(b.tokens)}`])
      ]
      return fields.length === 0 ? "{}" : `{ ${fields.join(", ")} }`
    }
  }
}
