/**
 * The printer: IR → canonical DSL text (`trellis fmt`). Two-space indent,
 * one statement per line, signatures first, then programs in the IR's
 * order (the entry first when it is neither `main` nor the first program),
 * `with { … }` folding `model` / `concurrency` back in, `else if` chains,
 * and synthetic nodes (`$k`) printed as bare steps or `return <step>`.
 * The `labels` side table is not printed. Comments are printed only when
 * `options.comments` gives them (`attachComments`, for `trellis fmt`): own-line
 * comments at the indent of what they precede, a trailing comment at the end
 * of its element's first line, and the blank lines the map records.
 *
 * For every program that came from lowering or normalization,
 * `lower(parse(print(p)))` is `p` again (without `labels`), and printing is
 * idempotent.
 */
import type { Args, Body, Expr, JsonValue, Node, Policy, Program, ProgramDef, Signature } from "../ir/schema.js"
import { type CommentMap, type CommentSlot, EMPTY_SLOT, type PrintedComment } from "./comments.js"
import { isIdentifier } from "./lexToken.js"
import { IrPath } from "./lowerContext.js"
import { POLICY_KEYS, RETRY_KEYS } from "./lowerPolicy.js"
import { printExpr, printKey, printNumber, printScalar, printString, printType } from "./printExpr.js"

const INDENT = "  "

/** True for the synthetic ids lowering gives unnamed steps (`$0`, `$1`, …). */
export const isSyntheticId = (id: string): boolean => /^\$(0|[1-9][0-9]*)$/.test(id)

/** Options of `print`. */
export interface PrintOptions {
  /** Comments and blank lines to print, by IR pointer (from `attachComments`). @default none */
  readonly comments?: CommentMap
}

const NO_COMMENTS: CommentMap = new Map()

/** Prints a program document as DSL text (ending with a newline). */
export const print = (program: Program, options: PrintOptions = {}): string => {
  const cm = options.comments ?? NO_COMMENTS
  const out: Array<string> = []
  const decl = (path: IrPath, text: string): void => {
    const slot = slotOf(cm, path)
    // Declarations are always one blank line apart; the first leading comment follows that line.
    if (out.length > 0) out.push("")
    slot.leading.forEach((c, i) => {
      if (i > 0 && c.blankBefore) out.push("")
      out.push(commentLine(c.text))
    })
    if (slot.leading.length > 0 && slot.blankBefore) out.push("")
    out.push(withTrailing(text, slot))
  }
  for (const [name, signature] of Object.entries(program.signatures)) {
    const path = IrPath.root.child("signatures").child(name)
    decl(path, printSignature(cm, name, signature, path))
  }
  const names = Object.keys(program.programs)
  const entry = program.entry
  const entryFirst = !names.includes("main") && names.includes(entry) && names[0] !== entry
  const ordered = entryFirst ? [entry, ...names.filter((n) => n !== entry)] : names
  for (const name of ordered) {
    const path = IrPath.root.child("programs").child(name)
    decl(path, printProgram(cm, name, program.programs[name] as ProgramDef, path))
  }
  pushComments(out, slotOf(cm, IrPath.root).end)
  return out.length === 0 ? "" : out.join("\n") + "\n"
}

// ---------------------------------------------------------------------------
// Comments
// ---------------------------------------------------------------------------

const slotOf = (cm: CommentMap, path: IrPath): CommentSlot => cm.get(path.pointer) ?? EMPTY_SLOT

const commentLine = (text: string): string => "#" + text

/** Own-line comments, each after a blank line when it had one and something comes before it in `out`. */
const pushComments = (out: Array<string>, comments: ReadonlyArray<PrintedComment>): void => {
  for (const c of comments) {
    if (c.blankBefore && out.length > 0) out.push("")
    out.push(commentLine(c.text))
  }
}

/** An element with its leading comments, blank line and trailing comment, as lines of `out`. */
const pushElement = (out: Array<string>, slot: CommentSlot, text: string): void => {
  pushComments(out, slot.leading)
  if (slot.blankBefore && out.length > 0) out.push("")
  out.push(withTrailing(text, slot))
}

/** `text` with the slot's trailing comment at the end of its first line. */
const withTrailing = (text: string, slot: CommentSlot): string => {
  if (slot.trailing === undefined) return text
  const comment = " " + commentLine(slot.trailing)
  const nl = text.indexOf("\n")
  return nl < 0 ? text + comment : text.slice(0, nl) + comment + text.slice(nl)
}

/** Lines indented by `indent`, blank lines left empty. */
const indentLines = (lines: ReadonlyArray<string>, indent: string): string =>
  lines.map((l) => (l === "" ? "" : indent + l)).join("\n")

// ---------------------------------------------------------------------------
// Declarations, blocks and steps
// ---------------------------------------------------------------------------

const printSignature = (cm: CommentMap, name: string, signature: Signature, path: IrPath): string => {
  const lines: Array<string> = []
  if (signature.doc !== undefined) pushElement(lines, slotOf(cm, path.child("doc")), printString(signature.doc))
  for (
    const [direction, key, fields] of [["input", "inputs", signature.inputs], [
      "output",
      "outputs",
      signature.outputs
    ]] as const
  ) {
    fields.forEach((f, i) => {
      const doc = f.doc === undefined ? "" : " " + printString(f.doc)
      pushElement(lines, slotOf(cm, path.child(key).child(i)), `${direction} ${f.name}: ${printType(f.type)}${doc}`)
    })
  }
  ;(signature.demos ?? []).forEach((demo, i) => {
    pushElement(
      lines,
      slotOf(cm, path.child("demos").child(i)),
      `demo input ${printExpr(jsonExpr(demo.inputs))} output ${printExpr(jsonExpr(demo.outputs))}`
    )
  })
  pushComments(lines, slotOf(cm, path).end)
  return lines.length === 0 ? `signature ${name} {\n}` : `signature ${name} {\n${indentLines(lines, INDENT)}\n}`
}

/** A JSON value as the literal expression that lowers back to it. */
const jsonExpr = (value: JsonValue): Expr => {
  if (value === null || typeof value !== "object") return { kind: "lit", value }
  if (Array.isArray(value)) return { kind: "list", items: value.map(jsonExpr) }
  return {
    kind: "record",
    entries: Object.entries(value as { readonly [key: string]: JsonValue }).map(([key, v]) => ({
      key,
      value: jsonExpr(v)
    }))
  }
}

/** `program NAME(params) { … }`; the params go one per line when comments are among them. */
const printProgram = (cm: CommentMap, name: string, def: ProgramDef, path: IrPath): string => {
  const paramsPath = path.child("params")
  const texts = def.params.map((p) =>
    `${p.name}: ${printType(p.type)}${p.default === undefined ? "" : " = " + printExpr(p.default)}`
  )
  const slots = def.params.map((_, i) => slotOf(cm, paramsPath.child(i)))
  const end = slotOf(cm, paramsPath).end
  let params: string
  if (end.length === 0 && slots.every((s) => s.leading.length === 0 && s.trailing === undefined)) {
    params = texts.join(", ")
  } else {
    // Blank lines are not kept among params.
    const lines: Array<string> = []
    texts.forEach((text, i) => {
      const slot = slots[i] ?? EMPTY_SLOT
      for (const c of slot.leading) lines.push(commentLine(c.text))
      lines.push(withTrailing(i < texts.length - 1 ? text + "," : text, slot))
    })
    for (const c of end) lines.push(commentLine(c.text))
    params = `\n${indentLines(lines, INDENT)}\n`
  }
  return `program ${name}(${params}) ${printBlock(cm, def, "", path, true)}`
}

/** `{ statements }`, the closing brace at `indent`; `extraEnd` comments go after the body's own end comments. */
const printBlock = (
  cm: CommentMap,
  body: Body,
  indent: string,
  path: IrPath,
  isProgram: boolean,
  extraEnd: ReadonlyArray<PrintedComment> = []
): string => {
  const inner = indent + INDENT
  const lines = printStatements(cm, body, inner, path, isProgram)
  pushComments(lines, slotOf(cm, path).end)
  pushComments(lines, extraEnd)
  return lines.length === 0 ? "{\n" + indent + "}" : `{\n${indentLines(lines, inner)}\n${indent}}`
}

/** The statements of a body, each without its leading indent (with their comments and blank lines). */
const printStatements = (
  cm: CommentMap,
  body: Body,
  indent: string,
  path: IrPath,
  isProgram: boolean
): Array<string> => {
  const last = body.nodes[body.nodes.length - 1]
  const returnStep =
    last !== undefined && isSyntheticId(last.id) && body.result.kind === "ref" && body.result.name === last.id
      ? last
      : undefined
  const lines: Array<string> = []
  const nodes = path.child("nodes")
  body.nodes.forEach((node, i) => {
    if (node === returnStep) return
    const nodePath = nodes.child(i)
    pushElement(
      lines,
      slotOf(cm, nodePath),
      (isSyntheticId(node.id) ? "" : `${node.id} = `) + printStep(cm, node, indent, nodePath)
    )
  })
  const result = slotOf(cm, path.child("result"))
  if (returnStep !== undefined) {
    pushElement(lines, result, "return " + printStep(cm, returnStep, indent, nodes.child(body.nodes.length - 1)))
  } else if (!(isProgram && body.result.kind === "lit" && body.result.value === null)) {
    pushElement(lines, result, "return " + printExpr(body.result))
  } else {
    // `return null` is not printed in a program body; its comments stay, at the end of the body.
    pushComments(
      lines,
      result.trailing === undefined
        ? result.leading
        : [...result.leading, { text: result.trailing, blankBefore: false }]
    )
  }
  return lines
}

/** One step (the node at `path`); nested blocks are indented relative to `indent`. */
const printStep = (cm: CommentMap, node: Node, indent: string, path: IrPath): string => {
  switch (node.kind) {
    case "tool":
      return `tool ${node.tool}(${printArgs(node.args)})${printPolicy(node.policy, [])}`
    case "llm":
      return `llm ${node.signature}(${printArgs(node.args)})${
        printPolicy(node.policy, [
          ...(node.model === undefined ? [] : [`model: ${printString(node.model)}`]),
          ...(node.hedgeModel === undefined ? [] : [`hedgeModel: ${printString(node.hedgeModel)}`])
        ])
      }`
    case "call":
      return `run ${node.program}(${printArgs(node.args)})${printPolicy(node.policy, [])}`
    case "map": {
      const extra = node.concurrency === undefined ? [] : [`concurrency: ${printNumber(node.concurrency)}`]
      if (node.take !== undefined) extra.push(`take: ${printNumber(node.take)}`)
      if (node.fold !== undefined) extra.push(`fold: ${isIdentifier(node.fold) ? node.fold : printString(node.fold)}`)
      if (node.init !== undefined) extra.push(`init: ${printExpr(node.init)}`)
      return `map ${node.as} in ${printExpr(node.over)}${printPolicy(node.policy, extra)} ${
        printBlock(cm, node.body, indent, path.child("body"), false)
      }`
    }
    case "branch": {
      const elsePath = path.child("else")
      const chained = node.else === null ? undefined : elseIfOf(node.else)
      // An `else if` has no line of its own: the comments before it end the `then` block, its trailing
      // comment ends the `} else if … {` line.
      const elseResult = slotOf(cm, elsePath.child("result"))
      const extraEnd = chained === undefined ? [] : [...elseResult.leading, ...slotOf(cm, elsePath).end]
      const head = `if ${printExpr(node.cond)}${printPolicy(node.policy, [])} ${
        printBlock(cm, node.then, indent, path.child("then"), false, extraEnd)
      }`
      if (node.else === null) return head
      return chained === undefined
        ? `${head} else ${printBlock(cm, node.else, indent, elsePath, false)}`
        : `${head} else ${withTrailing(printStep(cm, chained, indent, elsePath.child("nodes").child(0)), elseResult)}`
    }
    case "choose":
    case "race": {
      const inner = indent + INDENT
      const optionsPath = path.child("options")
      const lines: Array<string> = []
      node.options.forEach((o, i) => {
        const optionPath = optionsPath.child(i)
        pushElement(
          lines,
          slotOf(cm, optionPath),
          `${printKey(o.label)}: ${printBlock(cm, o.body, inner, optionPath.child("body"), false)}`
        )
      })
      pushComments(lines, slotOf(cm, optionsPath).end)
      const head = node.kind === "choose" ? `choose ${printString(node.key)}` : "race"
      return `${head}${printPolicy(node.policy, [])} {\n${indentLines(lines, inner)}\n${indent}}`
    }
    case "expr":
      return printExpr(node.expr) + printPolicy(node.policy, [])
    case "wait": {
      const parts = ["wait"]
      if (node.signal !== undefined) parts.push(printString(node.signal))
      let head = parts.join(" ")
      if (node.answer !== undefined) head += `: ${printType(node.answer)}`
      if (node.payload !== undefined) {
        head += node.payload.kind === "record" ? ` ${printExpr(node.payload)}` : ` (${printExpr(node.payload)})`
      }
      if (node.for !== undefined) head += ` for ${printString(node.for)}`
      return head + printPolicy(node.policy, [])
    }
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
    case "hedge":
      return policy[key] === undefined ? undefined : printString(policy[key])
    case "retry": {
      const retry = policy.retry
      if (retry === undefined) return undefined
      const fields: Array<string> = []
      for (const k of RETRY_KEYS) {
        const v = retry[k]
        if (v === undefined) continue
        fields.push(
          `${k}: ${
            Array.isArray(v) ? `[${v.map((x) => printString(x)).join(", ")}]` : printScalar(v as string | number)
          }`
        )
      }
      return fields.length === 0 ? "{}" : `{ ${fields.join(", ")} }`
    }
    case "cache":
      return policy.cache === undefined
        ? undefined
        : policy.cache === false
        ? "false"
        : `{ ttl: ${printString(policy.cache.ttl)} }`
    case "idempotencyKey":
      return policy.idempotencyKey === undefined ? undefined : printExpr(policy.idempotencyKey)
    case "after":
      return policy.after === undefined
        ? undefined
        : `[${policy.after.map((n) => (isIdentifier(n) ? n : printString(n))).join(", ")}]`
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
